import VigilCore
import VigilFailover
import VigilSAN

/// Turning what the kit already has — a runner transcript (a `Script` of `>` stimuli and `<` observations)
/// and the divergence that ended it — into capture records. Pure: the same script gives the same records.
/// A race's two transcripts (`records(race:divergence:)`) make one capture.
public enum CaptureConversion {
    /// The records of a transcript, in transcript order, with a marker for `divergence` placed after the
    /// last record at or before the divergence's time.
    ///
    /// SAN roles (`@role san-responder` / `san-requestor`): every `packet port=P NOTATION` line becomes the
    /// exact bytes `SANWirePacket(notation:)` encodes (malformations and `hex=` included), flagged
    /// undecodable when the kit's codec rejects them.
    ///
    /// failover-node: the runner writes status messages as descriptions (`network from=b
    /// NORMAL_g2/s5_saw_g1/s3`), not bytes; they are rebuilt into the channel's carrier (flag
    /// reconstructed): `packet` lines on the network channel, `disk … write` lines of the IUT's mailbox
    /// regions and persistent-memory records, and `disk-result` lines that handed the IUT the peer's
    /// message. A message the runner could only describe as bad (`bad=integrityMismatch`) becomes a note
    /// record carrying the line's text.
    ///
    /// Lines that carry no packet (commands, events, `time`) are not in the capture; the script next to it
    /// has them.
    public static func records(from transcript: Script, divergence: Divergence? = nil) -> [CaptureRecord] {
        let failover = transcript[header: "role"] == "failover-node"
        var out: [CaptureRecord] = []
        for line in transcript.lines {
            let record = failover ? failoverRecord(line) : sanRecord(line)
            if let record { out.append(record) }
        }
        if let divergence { insertMarker(for: divergence, into: &out) }
        return out
    }

    /// The records of a race (`vigil race`): two failover-node IUTs run against each other, one transcript
    /// per node — `transcripts[0]` node A, `transcripts[1]` node B, each converted by `records(from:)` —
    /// in one capture. Node B's records carry flag `nodeB` (their direction is relative to node B); the two
    /// sides are merged in virtual-time order, stably: at equal times node A's records come first, and each
    /// node's records keep their transcript order. One marker for `divergence`, placed as
    /// `insertMarker(for:into:)` places it; the marker belongs to neither node (flag clear).
    ///
    /// A race has exactly two nodes; with one transcript the result is that node's records (as node A), and
    /// transcripts after the second are not read.
    public static func records(race transcripts: [Script], divergence: Divergence?) -> [CaptureRecord] {
        assert(transcripts.count <= 2, "a race has two nodes, A and B")
        let a = transcripts.first.map { records(from: $0) } ?? []
        let b = transcripts.dropFirst().first.map { records(from: $0) } ?? []
        var out: [CaptureRecord] = []
        out.reserveCapacity(a.count + b.count + 1)
        var i = 0, j = 0
        while i < a.count || j < b.count {
            // Node A's next record goes first unless node B's is strictly earlier.
            if j == b.count || (i < a.count && a[i].time <= b[j].time) {
                out.append(a[i])
                i += 1
            } else {
                var r = b[j]
                r.flags.insert(.nodeB)
                out.append(r)
                j += 1
            }
        }
        if let divergence { insertMarker(for: divergence, into: &out) }
        return out
    }

    /// The records of a SAN pair simulation's log (as in the patent's figures), seen from the side that
    /// plays the IUT: with `iut: .responder`, packets to the responder are stimuli.
    public enum Side: Sendable { case requestor, responder }

    public static func records(from log: [SANPairSimulation.Transit], iut: Side) -> [CaptureRecord] {
        log.map { t in
            let toIUT = (t.direction == .toResponder) == (iut == .responder)
            let port = iut == .responder ? t.path.responderPort : t.path.requestorPort
            return CaptureRecord(direction: toIUT ? .toIUT : .fromIUT, proto: .san, port: port,
                                 flags: t.corrupted ? [.reconstructed] : [], time: t.time, payload: t.packet.encode())
        }
    }

    /// Inserts the divergence's marker after the last record at or before its time: the divergence is found
    /// while the observation that breaks the rule is checked, so it follows what was seen up to then.
    public static func insertMarker(for d: Divergence, into records: inout [CaptureRecord]) {
        let marker = CaptureRecord(marker: Marker(d), time: d.time, line: UInt32(clamping: max(0, d.step)))
        let index = records.lastIndex { $0.time <= d.time }.map { $0 + 1 } ?? 0
        records.insert(marker, at: index)
    }

    // MARK: SAN

    static func sanRecord(_ line: Script.Line) -> CaptureRecord? {
        guard line.verb == "packet" else { return nil }
        let tokens = line.argument.split(separator: " ")
        guard let first = tokens.first, first.hasPrefix("port="), let port = UInt8(first.dropFirst(5)) else {
            return note(line)
        }
        let notation = tokens.dropFirst().joined(separator: " ")
        guard let packet = try? SANWirePacket(notation: notation) else { return note(line) }
        let bytes = packet.bytes
        let decodes = (try? SANPacket.decode(bytes)) != nil
        return CaptureRecord(direction: line.direction == .stimulus ? .toIUT : .fromIUT, proto: .san, port: port,
                             flags: decodes ? [] : [.undecodable], time: line.time, line: UInt32(clamping: line.lineNumber),
                             payload: bytes)
    }

    // MARK: failover-node

    static func failoverRecord(_ line: Script.Line) -> CaptureRecord? {
        let tokens = line.argument.split(separator: " ").map(String.init)
        let direction: CaptureRecord.Direction = line.direction == .stimulus ? .toIUT : .fromIUT
        // Where the description of the carrier begins, and which device it went to or came from.
        var device = CaptureRecord.none
        let start: Int
        switch line.verb {
        case "packet":
            // packet port=2 network from=b STATE_…
            start = 1
        case "disk":
            // disk tag=N write dev=D block=B count=C mailbox|san from=… (only writes carry a message)
            guard tokens.count > 2, tokens[1] == "write" else { return nil }
            if let dev = tokens.first(where: { $0.hasPrefix("dev=") }) {
                let v = dev.dropFirst(4)
                device = (v.hasPrefix("0x") ? UInt8(v.dropFirst(2), radix: 16) : UInt8(v)) ?? CaptureRecord.none
            }
            guard let i = tokens.firstIndex(where: { $0 == "mailbox" || $0 == "san" || $0 == "network" }) else { return nil }
            start = i
        case "disk-result":
            // disk-result tag=N status=S [mailbox|san from=b …]: the read that handed the IUT a message
            guard let i = tokens.firstIndex(where: { $0 == "mailbox" || $0 == "san" || $0 == "network" }) else { return nil }
            start = i
            // The IUT reads the peer's SAN record in its own persistent memory; which mailbox disk a read
            // hit is not in the line, so it stays "none".
            if tokens[i] == "san" { device = 0xFE }
        default:
            return nil
        }
        guard start < tokens.count, let channel = Channel.allCases.first(where: { $0.description == tokens[start] }) else {
            return note(line)
        }
        let rest = Array(tokens[(start + 1)...])
        guard let carrier = rebuild(rest, channel: channel) else {
            // `empty` (an all-zero region) and `bad=CODE len=N` cannot be rebuilt.
            var r = note(line)
            r.port = channel.rawValue
            r.device = device
            return r
        }
        return CaptureRecord(direction: direction, proto: .failover, port: channel.rawValue, device: device,
                             flags: [.reconstructed], time: line.time, line: UInt32(clamping: line.lineNumber), payload: carrier)
    }

    /// `from=b NORMAL_g2/s5_saw_g1/s3[_RECOVERING][_vN]` → the carrier bytes of that channel.
    static func rebuild(_ tokens: [String], channel: Channel) -> [UInt8]? {
        guard tokens.count >= 2, tokens[0].hasPrefix("from="),
              let writer = NodeID.allCases.first(where: { "from=\($0)" == tokens[0] })
        else { return nil }
        let parts = tokens[1].split(separator: "_").map(String.init)
        guard parts.count >= 4, parts[2] == "saw",
              let state = StateIndicator.allCases.first(where: { $0.description == parts[0] }),
              let stamp = parseStamp(parts[1]), let peer = parseStamp(parts[3])
        else { return nil }
        var flags: StatusFlags = []
        var version = StatusMessage.currentVersion
        for extra in parts.dropFirst(4) {
            if extra == "RECOVERING" {
                flags.insert(.recovering)
            } else if extra.hasPrefix("v"), let v = UInt8(extra.dropFirst()) {
                version = v
            } else {
                return nil
            }
        }
        let message = StatusMessage(version: version, systemID: writer.systemID, state: state, flags: flags,
                                    generation: stamp.generation, sequence: stamp.sequence,
                                    peerGeneration: peer.generation, peerSequence: peer.sequence)
        return Carriage(channel: channel, writer: writer, message: message).encoded()
    }

    /// `g2/s5` → (2, 5).
    static func parseStamp(_ s: String) -> Stamp? {
        let halves = s.split(separator: "/")
        guard halves.count == 2, halves[0].hasPrefix("g"), halves[1].hasPrefix("s"),
              let g = UInt32(halves[0].dropFirst()), let q = UInt64(halves[1].dropFirst())
        else { return nil }
        return Stamp(generation: g, sequence: q)
    }

    static func note(_ line: Script.Line) -> CaptureRecord {
        CaptureRecord(direction: line.direction == .stimulus ? .toIUT : .fromIUT, proto: .note, time: line.time,
                      line: UInt32(clamping: line.lineNumber), payload: Array("\(line.verb) \(line.argument)".utf8))
    }
}
