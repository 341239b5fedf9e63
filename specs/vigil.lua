-- Wireshark dissector for Vigil captures (specs/pcap.md): link type DLT_USER0 (147), each record a 24-byte
-- Vigil pseudo-header followed by a SAN transport packet (specs/san-wire.md), a failover status carrier
-- (specs/failover-wire.md), a divergence marker, or a note.
--
--   tshark -X lua_script:specs/vigil.lua -r reports/repros/ROLE/CASE.pcap -V
--   tshark -X lua_script:specs/vigil.lua -r FILE -T fields -e vigil.san.seq -e vigil.marker.rule
--   wireshark -X lua_script:specs/vigil.lua FILE     (or copy this file to ~/.local/lib/wireshark/plugins/)
--
-- Display filters: vigil.marker (every divergence), vigil.dir == 1 (what the IUT sent), vigil.san.seq == 2,
-- vigil.flags.node_b == 1 (node B's side of a race),
-- vigil.san.nack_reason == 1, vigil.fo.state == 2, vigil.fo.generation > 1, ...
--
-- Written for the Lua API of Wireshark 3.x-4.x (tested with tshark 4.0). Every byte position and code here
-- is the kit's model choice, documented in the spec pages named above; keep them in step.

local vigil = Proto("vigil", "Vigil conformance capture")
local san = Proto("vigil.san", "Vigil SAN transport (US 6,545,981)")
local fo = Proto("vigil.fo", "Vigil failover status (US 6,119,244)")

-- Value strings --------------------------------------------------------------------------------------------

local dir_vals = { [0] = "to IUT", [1] = "from IUT", [2] = "marker" }
local proto_vals = { [0] = "none (marker)", [1] = "SAN transport", [2] = "failover status", [3] = "note" }
local channel_vals = { [0] = "mailbox", [1] = "san (persistent memory)", [2] = "network" }
local device_vals = { [0] = "disk 0 (first mailbox)", [1] = "disk 1", [2] = "disk 2 (second mailbox)", [3] = "disk 3",
                      [0xFE] = "the IUT's persistent memory", [0xFF] = "the peer's persistent memory" }
local tt_vals = { [1] = "request", [2] = "ACK", [3] = "NACK", [4] = "supervisory" }
local acb_vals = { [0] = "lane 0", [1] = "lane 1", [2] = "lane 2", [3] = "lane 3", [4] = "adaptive" }
local op_vals = { [0] = "Send", [1] = "RDMA write", [2] = "RDMA read", [3] = "not assigned" }
local nack_vals = { [1] = "sequence-error", [2] = "access-violation", [3] = "no-such-vi" }
local supop_vals = { [1] = "path-bad", [2] = "path-bad-ack", [3] = "path-good", [4] = "path-good-ack",
                     [5] = "barrier-location", [6] = "barrier-location-ack" }
local state_vals = { [1] = "NORMAL", [2] = "TAKEOVER", [3] = "NO-TAKEOVER", [4] = "DISABLE" }
local writer_vals = { [0] = "node A", [1] = "node B" }

-- Fields: every field registered once, with its filter name ----------------------------------------------

local f = {
    magic = ProtoField.uint16("vigil.magic", "Magic", base.HEX),
    version = ProtoField.uint8("vigil.version", "Version", base.DEC),
    dir = ProtoField.uint8("vigil.dir", "Direction", base.DEC, dir_vals),
    proto = ProtoField.uint8("vigil.proto", "Protocol", base.DEC, proto_vals),
    port = ProtoField.uint8("vigil.port", "Port / channel", base.DEC),
    device = ProtoField.uint8("vigil.device", "Device", base.HEX, device_vals),
    flags = ProtoField.uint8("vigil.flags", "Flags", base.HEX),
    flag_undecodable = ProtoField.bool("vigil.flags.undecodable", "Undecodable (the kit's codec rejects it)", 8, nil, 0x01),
    flag_reconstructed = ProtoField.bool("vigil.flags.reconstructed", "Reconstructed from the transcript", 8, nil, 0x02),
    flag_node_b = ProtoField.bool("vigil.flags.node_b", "Node B (a race: node B's record, direction relative to node B)", 8, nil, 0x04),
    flag_reserved = ProtoField.uint8("vigil.flags.reserved", "Reserved", base.HEX, nil, 0xF8),
    time = ProtoField.uint64("vigil.time", "Virtual time (ns)", base.DEC),
    line = ProtoField.uint32("vigil.line", "Script line", base.DEC),
    length = ProtoField.uint32("vigil.length", "Payload length", base.DEC),
    note = ProtoField.string("vigil.note", "Note"),
    marker = ProtoField.none("vigil.marker", "Divergence marker"),
    marker_rule = ProtoField.string("vigil.marker.rule", "Rule"),
    marker_citation = ProtoField.string("vigil.marker.citation", "Citation"),
    marker_expected = ProtoField.string("vigil.marker.expected", "Expected"),
    marker_observed = ProtoField.string("vigil.marker.observed", "Observed"),
}
vigil.fields = f

local s = {
    did = ProtoField.uint24("vigil.san.did", "DID (destination SNID)", base.HEX, nil, 0xFFFFF0),
    acb = ProtoField.uint24("vigil.san.acb", "ACB", base.DEC, acb_vals, 0x00000E),
    fabric = ProtoField.uint24("vigil.san.fabric", "Fabric", base.DEC, nil, 0x000001),
    tt = ProtoField.uint8("vigil.san.tt", "Transaction type", base.DEC, tt_vals, 0xF0),
    tt_reserved = ProtoField.uint8("vigil.san.tt_reserved", "Reserved", base.HEX, nil, 0x0F),
    sid = ProtoField.uint24("vigil.san.sid", "SID (source SNID)", base.HEX, nil, 0xFFFFF0),
    sid_reserved = ProtoField.uint24("vigil.san.sid_reserved", "Reserved", base.HEX, nil, 0x00000F),
    tsn = ProtoField.uint16("vigil.san.tsn", "TSN", base.DEC),
    len = ProtoField.uint16("vigil.san.len", "LEN", base.DEC),
    viop = ProtoField.uint8("vigil.san.viop", "VI operation byte", base.HEX),
    op = ProtoField.uint8("vigil.san.op", "Operation", base.DEC, op_vals, 0xC0),
    ord = ProtoField.bool("vigil.san.ord", "Ordered", 8, nil, 0x20),
    first = ProtoField.bool("vigil.san.first", "First", 8, nil, 0x10),
    last = ProtoField.bool("vigil.san.last", "Last", 8, nil, 0x08),
    imm = ProtoField.bool("vigil.san.imm", "Immediate present", 8, nil, 0x04),
    viop_reserved = ProtoField.uint8("vigil.san.viop_reserved", "Reserved", base.HEX, nil, 0x03),
    seq = ProtoField.uint8("vigil.san.seq", "SEQ", base.DEC),
    vi = ProtoField.uint16("vigil.san.vi", "VI", base.DEC),
    addr = ProtoField.uint64("vigil.san.addr", "Address", base.HEX),
    immediate = ProtoField.uint32("vigil.san.immediate", "Immediate data", base.HEX),
    payload = ProtoField.bytes("vigil.san.payload", "Payload"),
    nack_reason = ProtoField.uint8("vigil.san.nack_reason", "NACK reason", base.DEC, nack_vals),
    supop = ProtoField.uint8("vigil.san.supop", "Supervisory op", base.DEC, supop_vals),
    path = ProtoField.uint8("vigil.san.path", "Path", base.HEX),
    path_req = ProtoField.uint8("vigil.san.path.requestor_port", "Requestor port", base.DEC, nil, 0x02),
    path_rsp = ProtoField.uint8("vigil.san.path.responder_port", "Responder port", base.DEC, nil, 0x01),
    crc = ProtoField.uint32("vigil.san.crc", "CRC-32C", base.HEX),
    crc_good = ProtoField.bool("vigil.san.crc_good", "CRC good"),
    trailing = ProtoField.bytes("vigil.san.trailing", "Bytes the header does not account for"),
}
san.fields = s

local o = {
    carrier_magic = ProtoField.string("vigil.fo.carrier_magic", "Carrier magic"),
    carrier_version = ProtoField.uint8("vigil.fo.carrier_version", "Carrier version", base.DEC),
    writer = ProtoField.uint8("vigil.fo.writer", "Writer slot", base.DEC, writer_vals),
    message_length = ProtoField.uint16("vigil.fo.message_length", "Message length", base.DEC),
    magic = ProtoField.uint16("vigil.fo.magic", "Magic", base.HEX),
    version = ProtoField.uint8("vigil.fo.version", "Status protocol version", base.DEC),
    state = ProtoField.uint8("vigil.fo.state", "State", base.DEC, state_vals),
    flags = ProtoField.uint16("vigil.fo.flags", "Flags", base.HEX),
    recovering = ProtoField.bool("vigil.fo.flags.recovering", "Recovering", 16, nil, 0x0001),
    flags_reserved = ProtoField.uint16("vigil.fo.flags.reserved", "Reserved", base.HEX, nil, 0xFFFE),
    length = ProtoField.uint16("vigil.fo.length", "Length", base.DEC),
    system_id = ProtoField.uint64("vigil.fo.system_id", "System id", base.HEX),
    generation = ProtoField.uint32("vigil.fo.generation", "Generation", base.DEC),
    sequence = ProtoField.uint64("vigil.fo.sequence", "Sequence", base.DEC),
    peer_generation = ProtoField.uint32("vigil.fo.peer_generation", "Peer generation seen", base.DEC),
    peer_sequence = ProtoField.uint64("vigil.fo.peer_sequence", "Peer sequence seen", base.DEC),
    crc = ProtoField.uint32("vigil.fo.crc", "CRC-32C", base.HEX),
    crc_good = ProtoField.bool("vigil.fo.crc_good", "CRC good"),
    padding = ProtoField.bytes("vigil.fo.padding", "Padding"),
}
fo.fields = o

-- Expert info ------------------------------------------------------------------------------------------------

local ex_divergence = ProtoExpert.new("vigil.marker.divergence", "Divergence", expert.group.PROTOCOL, expert.severity.ERROR)
local ex_malformed = ProtoExpert.new("vigil.malformed", "Malformed record", expert.group.MALFORMED, expert.severity.ERROR)
local ex_crc = ProtoExpert.new("vigil.bad_crc", "CRC-32C mismatch", expert.group.CHECKSUM, expert.severity.WARN)
local ex_undecodable = ProtoExpert.new("vigil.undecodable", "The kit's codec rejects these bytes", expert.group.MALFORMED, expert.severity.WARN)
vigil.experts = { ex_divergence, ex_malformed, ex_undecodable }
san.experts = { ex_crc }

-- CRC-32C (Castagnoli, reflected 0x82F63B78), to show whether a packet's check is good -----------------------

local crc_table = {}
for i = 0, 255 do
    local c = i
    for _ = 1, 8 do
        if bit32.band(c, 1) ~= 0 then c = bit32.bxor(bit32.rshift(c, 1), 0x82F63B78) else c = bit32.rshift(c, 1) end
    end
    crc_table[i] = c
end

local function crc32c(tvb, offset, length)
    local c = 0xFFFFFFFF
    for i = offset, offset + length - 1 do
        c = bit32.bxor(crc_table[bit32.band(bit32.bxor(c, tvb(i, 1):uint()), 0xFF)], bit32.rshift(c, 8))
    end
    return bit32.bxor(c, 0xFFFFFFFF)
end

local function add_crc(tree, fields, tvb, offset, covered)
    local carried = tvb(offset, 4):uint()
    local computed = crc32c(tvb, 0, covered)
    local item = tree:add(fields.crc, tvb(offset, 4))
    tree:add(fields.crc_good, carried == computed):set_generated()
    if carried ~= computed then
        item:add_proto_expert_info(ex_crc, string.format("CRC-32C 0x%08x, computed 0x%08x", carried, computed))
    end
    return carried == computed
end

-- SAN transport packet (specs/san-wire.md) -------------------------------------------------------------------

local function dissect_san(tvb, pinfo, tree)
    local n = tvb:len()
    local t = tree:add(san, tvb())
    if n < 11 + 4 then
        t:add_proto_expert_info(ex_malformed, "shorter than the 11-byte common header and the CRC")
        return "SAN (truncated, " .. n .. " bytes)"
    end
    t:add(s.did, tvb(0, 3))
    t:add(s.acb, tvb(0, 3))
    t:add(s.fabric, tvb(0, 3))
    t:add(s.tt, tvb(3, 1))
    t:add(s.tt_reserved, tvb(3, 1))
    t:add(s.sid, tvb(4, 3))
    t:add(s.sid_reserved, tvb(4, 3))
    t:add(s.tsn, tvb(7, 2))
    t:add(s.len, tvb(9, 2))
    local tt = bit32.rshift(tvb(3, 1):uint(), 4)
    local len = tvb(9, 2):uint()
    local body_end = n - 4
    local offset = 11
    local info = (tt_vals[tt] or ("TT " .. tt))
    if tt == 4 then
        if body_end >= offset + 12 then
            t:add(s.supop, tvb(11, 1))
            local p = t:add(s.path, tvb(12, 1))
            p:add(s.path_req, tvb(12, 1))
            p:add(s.path_rsp, tvb(12, 1))
            t:add(s.vi, tvb(13, 2))
            t:add(s.addr, tvb(15, 8))
            info = "sup " .. (supop_vals[tvb(11, 1):uint()] or "?") .. string.format(" path=%d%d",
                bit32.rshift(bit32.band(tvb(12, 1):uint(), 2), 1), bit32.band(tvb(12, 1):uint(), 1))
            offset = 23
        end
    elseif tt >= 1 and tt <= 3 and body_end >= offset + 4 then
        local viop = tvb(11, 1):uint()
        local v = t:add(s.viop, tvb(11, 1))
        v:add(s.op, tvb(11, 1))
        v:add(s.ord, tvb(11, 1))
        v:add(s.first, tvb(11, 1))
        v:add(s.last, tvb(11, 1))
        v:add(s.imm, tvb(11, 1))
        v:add(s.viop_reserved, tvb(11, 1))
        t:add(s.seq, tvb(12, 1))
        t:add(s.vi, tvb(13, 2))
        offset = 15
        local op = bit32.rshift(viop, 6)
        info = (tt_vals[tt] or "?") .. " " .. (op_vals[op] or "?") .. " seq=" .. tvb(12, 1):uint() .. " vi=" .. tvb(13, 2):uint()
        if tt == 1 then
            if (op == 1 or op == 2) and body_end >= offset + 8 then
                t:add(s.addr, tvb(offset, 8))
                offset = offset + 8
            elseif op == 0 and bit32.band(viop, 0x04) ~= 0 and body_end >= offset + 4 then
                t:add(s.immediate, tvb(offset, 4))
                offset = offset + 4
            end
        elseif tt == 3 and body_end >= offset + 1 then
            t:add(s.nack_reason, tvb(offset, 1))
            info = info .. " " .. (nack_vals[tvb(offset, 1):uint()] or "reason?")
            offset = offset + 1
        end
        if (tt == 1 and op ~= 2) or tt == 2 then
            local take = math.min(len, body_end - offset)
            if take > 0 then
                t:add(s.payload, tvb(offset, take))
                offset = offset + take
            end
        end
    end
    if offset < body_end then
        t:add(s.trailing, tvb(offset, body_end - offset))
    end
    if not add_crc(t, s, tvb, body_end, body_end) then info = info .. " [bad CRC]" end
    t:append_text(", " .. info .. ", TSN " .. tvb(7, 2):uint())
    return "SAN " .. info .. " tsn=" .. tvb(7, 2):uint()
end

-- Failover status carrier (specs/failover-wire.md) -----------------------------------------------------------

local function dissect_fo(tvb, pinfo, tree)
    local n = tvb:len()
    local t = tree:add(fo, tvb())
    if n < 8 + 44 then
        t:add_proto_expert_info(ex_malformed, "shorter than the 8-byte envelope and the 44-byte status message")
        return "failover (truncated, " .. n .. " bytes)"
    end
    t:add(o.carrier_magic, tvb(0, 4))
    t:add(o.carrier_version, tvb(4, 1))
    t:add(o.writer, tvb(5, 1))
    t:add(o.message_length, tvb(6, 2))
    local m = tvb(8, 44):tvb()
    local mt = t:add(tvb(8, 44), "Status message")
    mt:add(o.magic, tvb(8, 2))
    mt:add(o.version, tvb(10, 1))
    mt:add(o.state, tvb(11, 1))
    local fl = mt:add(o.flags, tvb(12, 2))
    fl:add(o.recovering, tvb(12, 2))
    fl:add(o.flags_reserved, tvb(12, 2))
    mt:add(o.length, tvb(14, 2))
    mt:add(o.system_id, tvb(16, 8))
    mt:add(o.generation, tvb(24, 4))
    mt:add(o.sequence, tvb(28, 8))
    mt:add(o.peer_generation, tvb(36, 4))
    mt:add(o.peer_sequence, tvb(40, 8))
    local good = add_crc(mt, o, m, 40, 40)
    if n > 52 then t:add(o.padding, tvb(52, n - 52)) end
    local state = state_vals[tvb(11, 1):uint()] or ("state " .. tvb(11, 1):uint())
    local info = string.format("%s from %s %s g%s/s%s saw g%s/s%s", tvb(0, 4):string(), writer_vals[tvb(5, 1):uint()] or "?",
        state, tvb(24, 4):uint(), tostring(tvb(28, 8):uint64()), tvb(36, 4):uint(), tostring(tvb(40, 8):uint64()))
    if bit32.band(tvb(12, 2):uint(), 1) ~= 0 then info = info .. " RECOVERING" end
    if not good then info = info .. " [bad CRC]" end
    t:append_text(", " .. info)
    return info
end

-- Marker ----------------------------------------------------------------------------------------------------

local function dissect_marker(tvb, pinfo, tree)
    local t = tree:add(f.marker, tvb())
    local offset = 0
    local values = {}
    for _, field in ipairs({ f.marker_rule, f.marker_citation, f.marker_expected, f.marker_observed }) do
        if offset + 2 > tvb:len() then
            t:add_proto_expert_info(ex_malformed, "marker ends before its four strings")
            return "MARKER (malformed)"
        end
        local n = tvb(offset, 2):uint()
        if offset + 2 + n > tvb:len() then
            t:add_proto_expert_info(ex_malformed, "marker string runs past the record")
            return "MARKER (malformed)"
        end
        if n > 0 then
            t:add(field, tvb(offset + 2, n))
            values[#values + 1] = tvb(offset + 2, n):string(ENC_UTF_8)
        else
            t:add(field, tvb(offset, 2), "")
            values[#values + 1] = ""
        end
        offset = offset + 2 + n
    end
    t:add_proto_expert_info(ex_divergence, "Divergence: " .. values[1] .. " — expected " .. values[3] .. "; observed " .. values[4])
    t:append_text(": " .. values[1])
    return "DIVERGENCE " .. values[1] .. ": expected " .. values[3] .. "; observed " .. values[4]
end

-- The pseudo-header -----------------------------------------------------------------------------------------

function vigil.dissector(tvb, pinfo, tree)
    pinfo.cols.protocol = "VIGIL"
    local n = tvb:len()
    local t = tree:add(vigil, tvb(0, math.min(n, 24)))
    if n < 24 or tvb(0, 2):uint() ~= 0x5647 then
        t:add_proto_expert_info(ex_malformed, "not a Vigil record (24-byte pseudo-header with magic 0x5647 expected)")
        pinfo.cols.info = "not a Vigil record"
        return n
    end
    t:add(f.magic, tvb(0, 2))
    t:add(f.version, tvb(2, 1))
    t:add(f.dir, tvb(3, 1))
    t:add(f.proto, tvb(4, 1))
    -- Port and device only mean something for packets (and device only for failover); 0xFF is "none".
    local proto_code = tvb(4, 1):uint()
    if proto_code == 1 then
        t:add(f.port, tvb(5, 1))
    elseif proto_code >= 2 then
        t:add(f.port, tvb(5, 1)):append_text(" (" .. (channel_vals[tvb(5, 1):uint()] or "none") .. ")")
        -- On the network channel there is no device; on the san channel 0xFF is the peer's memory.
        if tvb(5, 1):uint() ~= 2 and (tvb(6, 1):uint() ~= 0xFF or tvb(5, 1):uint() == 1) then t:add(f.device, tvb(6, 1)) end
    end
    local fl = t:add(f.flags, tvb(7, 1))
    fl:add(f.flag_undecodable, tvb(7, 1))
    fl:add(f.flag_reconstructed, tvb(7, 1))
    fl:add(f.flag_node_b, tvb(7, 1))
    fl:add(f.flag_reserved, tvb(7, 1))
    t:add(f.time, tvb(8, 8))
    t:add(f.line, tvb(16, 4))
    t:add(f.length, tvb(20, 4))
    local dir = tvb(3, 1):uint()
    local proto = tvb(4, 1):uint()
    local port = tvb(5, 1):uint()
    if bit32.band(tvb(7, 1):uint(), 1) ~= 0 then fl:add_proto_expert_info(ex_undecodable) end
    -- A race (specs/pcap.md, Races): flag bit 2 marks node B's records; direction is relative to that node.
    local node_b = bit32.band(tvb(7, 1):uint(), 0x04) ~= 0
    local iut = node_b and "node B" or "IUT"
    if dir == 0 then
        pinfo.cols.src = "kit"; pinfo.cols.dst = iut
    elseif dir == 1 then
        pinfo.cols.src = iut; pinfo.cols.dst = "kit"
    else
        pinfo.cols.src = "kit"; pinfo.cols.dst = "verdict"
    end
    if node_b then t:append_text(", node B") end
    t:append_text(string.format(", %s, %s%s, line %d", dir_vals[dir] or "?", proto_vals[proto] or "?",
        proto == 1 and (", port " .. port) or (proto >= 2 and (", " .. (channel_vals[port] or "no channel")) or ""), tvb(16, 4):uint()))
    local payload = tvb(24):tvb()
    local info
    if n == 24 then
        info = "(empty)"
    elseif dir == 2 then
        pinfo.cols.protocol = "VIGIL-MARK"
        info = dissect_marker(payload, pinfo, tree)
    elseif proto == 1 then
        pinfo.cols.protocol = "VIGIL-SAN"
        info = string.format("port %d ", port) .. dissect_san(payload, pinfo, tree)
    elseif proto == 2 then
        pinfo.cols.protocol = "VIGIL-FO"
        info = (channel_vals[port] or "?") .. " " .. dissect_fo(payload, pinfo, tree)
    elseif proto == 3 then
        tree:add(f.note, tvb(24))
        info = "note: " .. tvb(24):string(ENC_UTF_8)
    else
        t:add_proto_expert_info(ex_malformed, "unknown protocol code " .. proto)
        info = "unknown protocol " .. proto
    end
    pinfo.cols.info = (node_b and "[node B] " or "") .. (dir == 0 and "> " or (dir == 1 and "< " or "!! ")) .. info
    return n
end

-- DLT_USER0 = wiretap encapsulation USER0. `wtap_encaps` is the current name, `wtap` the older one.
local encaps = wtap_encaps or wtap
DissectorTable.get("wtap_encap"):add(encaps.USER0, vigil)
