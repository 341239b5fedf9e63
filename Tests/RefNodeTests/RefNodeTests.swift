import RefNodeCore
import Testing

// Drives the refnode C core through rn_handle with hand-built frames (specs/adapter.md), without
// any of the kit's Swift models: packets and messages are built here from the wire specs.

// MARK: - Harness

struct Frame {
    var type: UInt8
    var body: [UInt8]
}

final class Harness {
    let node: OpaquePointer
    var frames: [Frame] = []

    init(mutant: String? = nil) {
        var err = [CChar](repeating: 0, count: 200)
        node = rn_create(mutant, &err, err.count)!
    }

    deinit { rn_destroy(node) }

    /// Sends one frame and returns the frames the core answered with.
    @discardableResult
    func send(_ type: UInt8, _ body: [UInt8] = []) -> [Frame] {
        frames = []
        let ctx = Unmanaged.passUnretained(self).toOpaque()
        let emit: rn_emit_fn = { ctx, type, body, len in
            let h = Unmanaged<Harness>.fromOpaque(ctx!).takeUnretainedValue()
            let bytes = len > 0 ? Array(UnsafeBufferPointer(start: body, count: len)) : []
            h.frames.append(Frame(type: type, body: bytes))
        }
        _ = body.withUnsafeBufferPointer { rn_handle(node, type, $0.baseAddress, $0.count, emit, ctx) }
        return frames
    }

    func hello(role: UInt8, options: [UInt8] = []) -> [Frame] {
        send(0x01, be16(1) + [role, 0, 0] + options)
    }

    func start(role: UInt8, options: [UInt8] = []) {
        let ack = hello(role: role, options: options)
        precondition(ack.first?.type == 0x81)
        let ready = send(0x02)
        precondition(ready.first?.type == 0x82)
    }

    func command(_ cmd: UInt8, _ args: [UInt8] = []) -> [Frame] { send(0x04, [cmd] + args) }
    func packet(port: UInt8, _ bytes: [UInt8]) -> [Frame] { send(0x03, [port] + bytes) }
    func time(_ t: UInt64) -> [Frame] { send(0x05, be64(t)) }
}

func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
func be32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (24 - 8 * UInt32($0))) & 0xFF) } }
func be64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8((v >> (56 - 8 * UInt64($0))) & 0xFF) } }
func u16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) << 8 | UInt16(b[o + 1]) }
func u32(_ b: [UInt8], _ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 << 8 | UInt32(b[o + $1]) } }
func u64(_ b: [UInt8], _ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 << 8 | UInt64(b[o + $1]) } }

func crc32c(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        c ^= UInt32(b)
        for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
    }
    return c ^ 0xFFFF_FFFF
}

extension [Frame] {
    var idle: Frame? { last(where: { $0.type == 0x85 }) }
    var packets: [Frame] { filter { $0.type == 0x83 } }
    var events: [Frame] { filter { $0.type == 0x84 } }
    var disks: [Frame] { filter { $0.type == 0x87 } }
}

// MARK: - SAN packets (specs/san-wire.md)

let ownPorts: [UInt32] = [0x00A00, 0x00A01]
let peerPorts: [UInt32] = [0x00B00, 0x00B01]
let sanNodeOption: [UInt8] = [0x10] + be16(17) + be32(ownPorts[0]) + be32(ownPorts[1]) + be32(peerPorts[0]) + be32(peerPorts[1]) + [0]

func header(did: UInt32, sid: UInt32, tt: UInt8, tsn: UInt16, len: UInt16, acb: UInt8 = 0, fabric: UInt8 = 0) -> [UInt8] {
    let r = did << 4 | UInt32(acb) << 1 | UInt32(fabric)
    let s = sid << 4
    return [UInt8(r >> 16), UInt8((r >> 8) & 0xFF), UInt8(r & 0xFF), tt << 4,
            UInt8(s >> 16), UInt8((s >> 8) & 0xFF), UInt8(s & 0xFF)] + be16(tsn) + be16(len)
}

func withCRC(_ b: [UInt8]) -> [UInt8] { b + be32(crc32c(b)) }

/// A request from the peer's port 0 to our port 0.
func sendRequest(seq: UInt8, vi: UInt16 = 3, ordered: Bool = true, payload: [UInt8] = [0xDE, 0xAD], tsn: UInt16 = 0x1234) -> [UInt8] {
    let viop: UInt8 = (ordered ? 0x20 : 0) | 0x10 | 0x08
    return withCRC(header(did: ownPorts[0], sid: peerPorts[0], tt: 1, tsn: tsn, len: UInt16(payload.count)) + [viop, seq] + be16(vi) + payload)
}

func readRequest(seq: UInt8, vi: UInt16 = 3, address: UInt64, len: UInt16, ordered: Bool = true) -> [UInt8] {
    let viop: UInt8 = 0x80 | (ordered ? 0x20 : 0) | 0x18
    return withCRC(header(did: ownPorts[0], sid: peerPorts[0], tt: 1, tsn: 7, len: len) + [viop, seq] + be16(vi) + be64(address))
}

func writeRequest(seq: UInt8, vi: UInt16 = 3, address: UInt64, payload: [UInt8], ordered: Bool = true) -> [UInt8] {
    let viop: UInt8 = 0x40 | (ordered ? 0x20 : 0) | 0x18
    return withCRC(header(did: ownPorts[0], sid: peerPorts[0], tt: 1, tsn: 8, len: UInt16(payload.count)) + [viop, seq] + be16(vi) + be64(address) + payload)
}

struct SANView {
    var bytes: [UInt8]
    var did: UInt32 { (UInt32(bytes[0]) << 16 | UInt32(bytes[1]) << 8 | UInt32(bytes[2])) >> 4 }
    var sid: UInt32 { (UInt32(bytes[4]) << 16 | UInt32(bytes[5]) << 8 | UInt32(bytes[6])) >> 4 }
    var tt: UInt8 { bytes[3] >> 4 }
    var tsn: UInt16 { u16(bytes, 7) }
    var len: UInt16 { u16(bytes, 9) }
    var viop: UInt8 { bytes[11] }
    var seq: UInt8 { bytes[12] }
    var vi: UInt16 { u16(bytes, 13) }
    var crcOK: Bool { crc32c(Array(bytes.dropLast(4))) == u32(bytes, bytes.count - 4) }
}

func san(_ f: Frame) -> (port: UInt8, packet: SANView) { (f.body[0], SANView(bytes: Array(f.body.dropFirst()))) }

/// The ACK the peer's responder would send for a request the requestor emitted.
func ack(for req: SANView, data: [UInt8] = []) -> [UInt8] {
    withCRC(header(did: req.sid, sid: req.did, tt: 2, tsn: req.tsn, len: UInt16(data.count)) + [req.viop, req.seq] + be16(req.vi) + data)
}

// MARK: - Handshake

@Test func handshakeAnswersHelloAndReset() {
    let h = Harness()
    let ack = h.hello(role: 1)
    #expect(ack.count == 1)
    #expect(ack[0].type == 0x81)
    #expect(u16(ack[0].body, 0) == 1)
    #expect(ack[0].body[2] == 0x07)
    #expect(ack[0].body[3] == 0x01)
    #expect(h.send(0x02).map(\.type) == [0x82])
    // A stimulus is always answered by IDLE, even a malformed one (ERROR first).
    let bad = h.send(0x05, [1, 2, 3])
    #expect(bad.map(\.type) == [0x86, 0x85])
    #expect(h.send(0x07) == [] as [Frame])
}

extension Frame: Equatable {}

@Test func stimulusBeforeResetIsAnError() {
    let h = Harness()
    #expect(h.send(0x05, be64(0)).map(\.type) == [0x86, 0x85])
    #expect(h.send(0x02).map(\.type) == [0x86])
}

@Test func mutantCatalogueHasAtLeast24EntriesWithRules() {
    #expect(rn_mutant_count() >= 24)
    var names = Set<String>()
    for i in 0..<rn_mutant_count() {
        let name = String(cString: rn_mutant_name(i))
        names.insert(name)
        let role = String(cString: rn_mutant_role(i))
        #expect(["san-responder", "san-requestor", "failover-node"].contains(role))
        let rule = String(cString: rn_mutant_rule(i))
        #expect(rule.hasPrefix("SAN-") || rule.hasPrefix("FO-"))
        var err = [CChar](repeating: 0, count: 100)
        let n = rn_create(name, &err, err.count)
        #expect(n != nil)
        rn_destroy(n)
    }
    #expect(names.count == rn_mutant_count())
    var err = [CChar](repeating: 0, count: 100)
    #expect(rn_create("no-such-mutant", &err, err.count) == nil)
}

// MARK: - san-responder

func responder(_ mutant: String? = nil) -> Harness {
    let h = Harness(mutant: mutant)
    h.start(role: 1, options: sanNodeOption)
    #expect(h.command(0x01, be16(3)).map(\.type) == [0x85])
    return h
}

@Test func responderAcksAndDeliversAnExpectedOrderedSend() {
    let h = responder()
    let out = h.packet(port: 0, sendRequest(seq: 0))
    #expect(out.map(\.type) == [0x84, 0x83, 0x85])
    let deliver = out.events[0].body
    #expect(deliver[0] == 0x02)
    #expect(u16(deliver, 1) == 3)
    #expect(Array(deliver[8...]) == [0xDE, 0xAD])
    let (port, ack) = san(out.packets[0])
    #expect(port == 0)
    #expect(ack.tt == 2 && ack.seq == 0 && ack.tsn == 0x1234 && ack.vi == 3)
    #expect(ack.did == peerPorts[0] && ack.sid == ownPorts[0] && ack.len == 0 && ack.crcOK)
    #expect(u64(out.idle!.body, 0) == UInt64.max)
}

@Test func responderNacksAnAheadPacketAndAcksADuplicate() {
    let h = responder()
    _ = h.packet(port: 0, sendRequest(seq: 0))
    let ahead = h.packet(port: 0, sendRequest(seq: 5))
    #expect(ahead.events.isEmpty)
    let nack = san(ahead.packets[0]).packet
    #expect(nack.tt == 3 && nack.seq == 5 && nack.bytes[15] == 1)
    let dup = h.packet(port: 0, sendRequest(seq: 0))
    #expect(dup.events.isEmpty)   // thrown away, not delivered again
    let a = san(dup.packets[0]).packet
    #expect(a.tt == 2 && a.seq == 0)
    // The expected number is still 1.
    #expect(h.packet(port: 0, sendRequest(seq: 1)).events.count == 1)
}

@Test func responderDiscardsInvalidPackets() {
    let h = responder()
    var bad = sendRequest(seq: 0)
    bad[bad.count - 1] ^= 0x01
    #expect(h.packet(port: 0, bad).map(\.type) == [0x85])
    // wrong destination, wrong fabric, unknown source
    let wrongDID = withCRC(header(did: 0x12345, sid: peerPorts[0], tt: 1, tsn: 1, len: 0) + [0x38, 0] + be16(3))
    #expect(h.packet(port: 0, wrongDID).map(\.type) == [0x85])
    let wrongFabric = withCRC(header(did: ownPorts[0], sid: peerPorts[0], tt: 1, tsn: 1, len: 0, fabric: 1) + [0x38, 0] + be16(3))
    #expect(h.packet(port: 0, wrongFabric).map(\.type) == [0x85])
    // an ACK sent to a responder is not a request
    let resp = withCRC(header(did: ownPorts[0], sid: peerPorts[0], tt: 2, tsn: 1, len: 0) + [0x38, 0] + be16(3))
    #expect(h.packet(port: 0, resp).map(\.type) == [0x85])
    // the good one still works: nothing moved
    #expect(h.packet(port: 0, sendRequest(seq: 0)).events.count == 1)
}

@Test func responderReexecutesADuplicateRDMARead() {
    let h = responder()
    #expect(h.command(0x02, be16(3) + be64(0x1000) + be32(64)).map(\.type) == [0x85])
    _ = h.packet(port: 0, writeRequest(seq: 0, address: 0x1000, payload: [1, 2, 3, 4]))
    let read = h.packet(port: 0, readRequest(seq: 1, address: 0x1000, len: 4))
    #expect(Array(san(read.packets[0]).packet.bytes[15..<19]) == [1, 2, 3, 4])
    _ = h.packet(port: 0, writeRequest(seq: 2, address: 0x1000, payload: [9, 9, 9, 9]))
    let again = h.packet(port: 0, readRequest(seq: 1, address: 0x1000, len: 4))
    #expect(Array(san(again.packets[0]).packet.bytes[15..<19]) == [9, 9, 9, 9])
    let mem = h.command(0x04, be16(3) + be64(0x1000) + be32(4)).events[0].body
    #expect(Array(mem[11...]) == [9, 9, 9, 9])
    // outside the enabled range: access-violation NACK, sequence number unchanged
    let outside = h.packet(port: 0, writeRequest(seq: 3, address: 0x1000 + 62, payload: [1, 2, 3, 4]))
    let nack = san(outside.packets[0]).packet
    #expect(nack.tt == 3 && nack.bytes[15] == 2)
}

@Test func responderIgnoresRequestsOnAPathDeclaredBad() {
    let h = responder()
    // path-bad for path 0 (requestor port 0 -> responder port 0), sent over path 3.
    let pathBad = withCRC(header(did: ownPorts[1], sid: peerPorts[1], tt: 4, tsn: 9, len: 0) + [1, 0, 0, 0] + be64(0))
    let out = h.packet(port: 1, pathBad)
    let a = san(out.packets[0])
    #expect(a.port == 1 && a.packet.tt == 4 && a.packet.bytes[11] == 2 && a.packet.tsn == 9)
    #expect(h.packet(port: 0, sendRequest(seq: 0)).map(\.type) == [0x85])
    let m = responder("rsp-accept-bad-path")
    _ = m.packet(port: 1, pathBad)
    #expect(m.packet(port: 0, sendRequest(seq: 0)).packets.count == 1)
}

@Test func mutantsOfTheResponderDiffer() {
    // rsp-nack-duplicates NACKs where the correct node ACKs.
    let m = responder("rsp-nack-duplicates")
    _ = m.packet(port: 0, sendRequest(seq: 0))
    #expect(san(m.packet(port: 0, sendRequest(seq: 0)).packets[0]).packet.tt == 3)
    // rsp-inc-unordered moves the sequence number on an unordered packet.
    let good = responder()
    _ = good.packet(port: 0, sendRequest(seq: 0, ordered: false))
    #expect(san(good.packet(port: 0, sendRequest(seq: 0)).packets[0]).packet.tt == 2)
    let inc = responder("rsp-inc-unordered")
    _ = inc.packet(port: 0, sendRequest(seq: 0, ordered: false))
    #expect(inc.packet(port: 0, sendRequest(seq: 0)).events.isEmpty)
    // rsp-skip-crc delivers a corrupted packet.
    var bad = sendRequest(seq: 0)
    bad[bad.count - 1] ^= 0x01
    #expect(responder("rsp-skip-crc").packet(port: 0, bad).events.count == 1)
    // rsp-plain-compare: across the wrap, a duplicate looks ahead.
    let wrap = responder("rsp-plain-compare")
    for s in 0..<258 { _ = wrap.packet(port: 0, sendRequest(seq: UInt8(s % 256))) }   // E = 2
    #expect(san(wrap.packet(port: 0, sendRequest(seq: 255)).packets[0]).packet.tt == 3)
    let wrapGood = responder()
    for s in 0..<258 { _ = wrapGood.packet(port: 0, sendRequest(seq: UInt8(s % 256))) }
    #expect(san(wrapGood.packet(port: 0, sendRequest(seq: 255)).packets[0]).packet.tt == 2)
}

// MARK: - san-requestor

func requestor(_ mutant: String? = nil) -> Harness {
    let h = Harness(mutant: mutant)
    let timers: [UInt8] = [0x11] + be16(16) + be64(10_000_000) + be64(100_000_000)
    let barrier: [UInt8] = [0x12] + be16(10) + be16(0xFFFF) + be64(0x8000)
    h.start(role: 2, options: sanNodeOption + timers + barrier)
    #expect(h.command(0x01, be16(1)).map(\.type) == [0x85])
    return h
}

func post(vi: UInt16 = 1, descriptor: UInt32, op: UInt8 = 0, flags: UInt8 = 1, address: UInt64 = 0, data: [UInt8]) -> [UInt8] {
    be16(vi) + be32(descriptor) + [op, flags] + be64(address) + be32(UInt32(data.count)) + be32(0) + data
}

@Test func requestorPacketizesAnOrderedSendAndCompletesAfterEveryAck() {
    let h = requestor()
    let out = h.command(0x03, post(descriptor: 77, data: [UInt8](repeating: 0x5A, count: 1000)))
    let pkts = out.packets.map { san($0).packet }
    #expect(pkts.count == 2)
    #expect(pkts.map(\.seq) == [0, 1])
    #expect(pkts[0].viop == 0x30 && pkts[1].viop == 0x28)    // ordered FIRST / ordered LAST
    #expect(pkts.map(\.len) == [512, 488])
    #expect(pkts.allSatisfy { $0.crcOK && $0.did == peerPorts[0] && $0.sid == ownPorts[0] })
    #expect(Set(pkts.map(\.tsn)).count == 2)
    #expect(u64(out.idle!.body, 0) == 10_000_000)
    // ACK of the second only: not complete yet.
    #expect(h.packet(port: 0, ack(for: pkts[1])).events.isEmpty)
    let done = h.packet(port: 0, ack(for: pkts[0])).events
    #expect(done.count == 1)
    #expect(done[0].body[0] == 0x01 && u32(done[0].body, 3) == 77 && done[0].body[7] == 0)
    // The next ordered descriptor continues the sequence.
    let next = h.command(0x03, post(descriptor: 78, data: [1])).packets.map { san($0).packet }
    #expect(next.map(\.seq) == [2])
}

@Test func requestorHoldsTheSequenceNumberForUnorderedPackets() {
    let h = requestor()
    let pkts = h.command(0x03, post(descriptor: 1, op: 1, flags: 0, address: 0x100, data: [UInt8](repeating: 1, count: 1500)))
        .packets.map { san($0).packet }
    #expect(pkts.count == 3)
    #expect(pkts.map(\.seq) == [0, 0, 0])
    #expect(Set(pkts.map(\.sid)).count == 2)     // spread over the paths of both ports
    // NDAA: the next descriptor waits for every ACK.
    #expect(h.command(0x03, post(descriptor: 2, data: [7])).packets.isEmpty)
    // each ACK comes back to the port its request left by
    func port(_ p: SANView) -> UInt8 { p.sid == ownPorts[0] ? 0 : 1 }
    _ = h.packet(port: port(pkts[0]), ack(for: pkts[0]))
    _ = h.packet(port: port(pkts[1]), ack(for: pkts[1]))
    let last = h.packet(port: port(pkts[2]), ack(for: pkts[2]))
    #expect(last.events.count == 1)
    #expect(last.packets.map { san($0).packet.seq } == [0])
}

@Test func requestorRecoversFromATimeoutWithABarrier() {
    let h = requestor()
    let first = h.command(0x03, post(descriptor: 5, data: [1, 2, 3])).packets.map { san($0).packet }
    let out = h.time(10_000_000)
    let sent = out.packets.map { san($0).packet }
    // barrier-location first (supervisory), then nothing of the VI.
    #expect(sent.count == 1 && sent[0].tt == 4 && sent[0].bytes[11] == 5)
    var locAck = sent[0].bytes
    locAck = withCRC(header(did: sent[0].sid, sid: sent[0].did, tt: 4, tsn: sent[0].tsn, len: 0) + [6] + Array(locAck[12..<23]))
    let barrier = h.packet(port: 0, locAck).packets.map { san($0).packet }
    #expect(barrier.count == 2)
    #expect(barrier.map { $0.viop >> 6 } == [1, 2])
    #expect(barrier.allSatisfy { $0.vi == 0xFFFF && $0.viop & 0x20 == 0 })
    let number = Array(barrier[0].bytes[23..<31])
    _ = h.packet(port: 0, ack(for: barrier[0]))
    let retx = h.packet(port: 0, ack(for: barrier[1], data: number)).packets.map { san($0).packet }
    // transient: the same packet again on the same path, same sequence number, fresh TSN.
    #expect(retx.count == 1 && retx[0].seq == first[0].seq && retx[0].did == first[0].did && retx[0].tsn != first[0].tsn)
    // the stale response to the first transmission does not match
    #expect(h.packet(port: 0, ack(for: first[0])).events.isEmpty)
    #expect(h.packet(port: 0, ack(for: retx[0])).events.count == 1)
}

@Test func mutantsOfTheRequestorDiffer() {
    let m = requestor("req-complete-on-last-ack")
    let pkts = m.command(0x03, post(descriptor: 1, data: [UInt8](repeating: 0, count: 1000))).packets.map { san($0).packet }
    #expect(m.packet(port: 0, ack(for: pkts[1])).events.count == 1)
    let u = requestor("req-inc-unordered")
    let up = u.command(0x03, post(descriptor: 1, op: 1, flags: 0, data: [UInt8](repeating: 0, count: 1500))).packets.map { san($0).packet }
    #expect(up.map(\.seq) == [0, 1, 2])
    let w = requestor("req-exceed-window")
    #expect(w.command(0x03, post(descriptor: 1, data: [UInt8](repeating: 0, count: 512 * 130))).packets.count == 129)
    let g = requestor()
    #expect(g.command(0x03, post(descriptor: 1, data: [UInt8](repeating: 0, count: 512 * 130))).packets.count == 128)
}

// MARK: - failover-node

let peerSystemID: UInt64 = 0x5649_4749_4C00_0000 | 2

/// Runs a failover node in virtual time, answering every DISK request at once (reads return the
/// bytes in `disks`), until `until` or `stop` says so. Returns every frame in order with its time.
final class FailoverWorld {
    let h: Harness
    var now: UInt64 = 0
    var log: [(UInt64, Frame)] = []
    var pm: [UInt8] = [UInt8](repeating: 0, count: 64 * 4)
    var mailbox: [UInt8: [UInt8]] = [:]      // device -> peer's region
    var reserveConflict = false

    init(mutant: String? = nil, generation: UInt32? = nil) {
        h = Harness(mutant: mutant)
        h.start(role: 3, options: [0x20] + be16(9) + [0] + be64(0x5649_4749_4C00_0000 | 1))
        if let g = generation {
            var rec: [UInt8] = Array("VFNR".utf8) + [1, 0, 0, 0] + be32(g)
            rec += be32(crc32c(rec))
            pm.replaceSubrange(128..<(128 + rec.count), with: rec)
        }
    }

    func feed(_ frames: [Frame]) {
        var queue = frames
        while !queue.isEmpty {
            let f = queue.removeFirst()
            log.append((now, f))
            guard f.type == 0x87 else { continue }
            let tag = u16(f.body, 0), op = f.body[2], device = f.body[3]
            let block = Int(u32(f.body, 4)), count = Int(u32(f.body, 8))
            var data: [UInt8] = []
            var status: UInt8 = 0
            if op == 4 {
                if device == 0xFE { data = Array(pm[(block * 64)..<min(pm.count, (block + count) * 64)]) }
                else { data = mailbox[device] ?? [UInt8](repeating: 0, count: 512) }
            } else if op == 3 && device == 0xFE {
                pm.replaceSubrange((block * 64)..<(block * 64 + 64), with: f.body[12...])
            } else if op == 1 && reserveConflict {
                status = 1
            }
            queue += h.send(0x06, be16(tag) + [status] + data)
        }
    }

    func run(until limit: UInt64, stopWhen: (Frame) -> Bool = { _ in false }) {
        while true {
            guard let idle = log.last(where: { $0.1.type == 0x85 })?.1 else { return }
            let next = u64(idle.body, 0)
            if next == UInt64.max || next > limit { return }
            now = next
            let before = log.count
            feed(h.time(now))
            if log[before...].contains(where: { stopWhen($0.1) }) { return }
        }
    }

    var states: [(UInt64, state: UInt8, step: UInt8, generation: UInt32, enabled: UInt8)] {
        log.filter { $0.1.type == 0x84 && $0.1.body[0] == 0x20 }.map { ($0.0, $0.1.body[1], $0.1.body[2], u32($0.1.body, 3), $0.1.body[7]) }
    }

    /// Status messages the node sent on the network channel, decoded.
    var networkMessages: [(UInt64, state: UInt8, generation: UInt32, sequence: UInt64)] {
        log.filter { $0.1.type == 0x83 }.map { t, f in
            let m = Array(f.body[9...])
            return (t, m[3], u32(m, 16), u64(m, 20))
        }
    }
}

func peerCarrier(magic: String, size: Int, state: UInt8, generation: UInt32, sequence: UInt64, corrupt: Bool = false) -> [UInt8] {
    var m: [UInt8] = [0x56, 0x46, 1, state, 0, 0] + be16(44) + be64(peerSystemID) + be32(generation) + be64(sequence) + be32(0) + be64(0)
    m += be32(crc32c(m))
    if corrupt { m[20] ^= 0xFF }
    var c: [UInt8] = Array(magic.utf8) + [1, 1] + be16(44) + m
    c += [UInt8](repeating: 0, count: size - c.count)
    return c
}

@Test func failoverBootsWithTheGenerationIncrementedAndPersisted() {
    let w = FailoverWorld(generation: 4)
    let boot = w.h.command(0x10)
    #expect(boot.disks.count == 1)
    #expect(boot.disks[0].body[2] == 4 && boot.disks[0].body[3] == 0xFE)   // read persistent memory
    w.feed(boot)
    // the node record in slot 2 now says generation 5
    #expect(u32(w.pm, 128 + 8) == 5)
    #expect(w.states.last?.generation == 5)
    #expect(w.states.first?.state == 4)
    // status on every channel right after: network, SAN into the peer's and own memory, mailbox disks 0 then 2
    let disks = w.log.map(\.1).disks
    #expect(disks.contains { $0.body[2] == 3 && $0.body[3] == 0xFF })
    #expect(disks.contains { $0.body[2] == 3 && $0.body[3] == 0 })
    #expect(disks.contains { $0.body[2] == 3 && $0.body[3] == 2 })
    let net = w.networkMessages
    #expect(net.count == 1 && net[0].state == 3 && net[0].generation == 5 && net[0].sequence == 1)
    // through the reboot steps to NORMAL
    w.run(until: 2_000_000_000) { f in f.type == 0x84 && f.body[0] == 0x20 && f.body[1] == 1 }
    let steps = w.states.filter { $0.state == 4 }.map(\.step)
    #expect(steps.contains(8))    // step 258 reported as 258 - 250
    #expect(w.states.last?.state == 1)
}

@Test func failoverTakesOverOnlyAfterEveryChannelIsSilent() {
    let w = FailoverWorld(generation: 1)
    w.feed(w.h.command(0x10))
    w.run(until: 20_000_000_000) { f in f.type == 0x84 && f.body[0] == 0x20 && f.body[1] == 2 }
    let takeover = w.states.first { $0.state == 2 }
    #expect(takeover != nil)
    guard let t = takeover?.0 else { return }
    // mailbox: 2 x 2.5 s of silence, then the 1 s wait of step 213
    #expect(t >= 6_000_000_000)
    let announce = w.networkMessages.first { $0.state == 2 }
    #expect(announce != nil && announce!.0 + 1_000_000_000 <= t)
    let reserves = w.log.filter { $0.1.type == 0x87 && $0.1.body[2] == 1 && [2, 3].contains($0.1.body[3]) }
    #expect(reserves.count == 2 && reserves.allSatisfy { $0.0 >= announce!.0 + 1_000_000_000 })

    // A peer that keeps writing its mailbox region keeps the node from taking over.
    let alive = FailoverWorld(generation: 1)
    alive.feed(alive.h.command(0x10))
    var seq: UInt64 = 1
    var t2: UInt64 = 0
    while t2 < 8_000_000_000 {
        alive.mailbox[0] = peerCarrier(magic: "VFMB", size: 512, state: 1, generation: 3, sequence: seq)
        seq += 1
        t2 += 1_000_000_000
        alive.run(until: t2)
    }
    #expect(!alive.states.contains { $0.state == 2 })
}

@Test func failoverAppliesTheNewnessRuleOnTheMergedStream() {
    let w = FailoverWorld(generation: 1)
    w.feed(w.h.command(0x10))
    w.run(until: 1_000_000_000)
    // the same TAKEOVER message twice: the first stops the node (claim 14)
    let msg = peerCarrier(magic: "VFUD", size: 52, state: 2, generation: 2, sequence: 10)
    w.feed(w.h.packet(port: 2, msg))
    #expect(w.states.last?.state == 3)
    // a corrupted one is ignored
    let c = FailoverWorld(generation: 1)
    c.feed(c.h.command(0x10))
    c.run(until: 1_000_000_000)
    c.feed(c.h.packet(port: 2, peerCarrier(magic: "VFUD", size: 52, state: 2, generation: 2, sequence: 10, corrupt: true)))
    #expect(c.states.last?.state == 1)
    // an old message (lower generation, higher sequence) is ignored
    c.feed(c.h.packet(port: 2, peerCarrier(magic: "VFUD", size: 52, state: 1, generation: 5, sequence: 1)))
    c.feed(c.h.packet(port: 2, peerCarrier(magic: "VFUD", size: 52, state: 2, generation: 4, sequence: 99)))
    #expect(c.states.last?.state == 1)
    let m = FailoverWorld(mutant: "fo-newness-seq-first", generation: 1)
    m.feed(m.h.command(0x10))
    m.run(until: 1_000_000_000)
    m.feed(m.h.packet(port: 2, peerCarrier(magic: "VFUD", size: 52, state: 1, generation: 5, sequence: 1)))
    m.feed(m.h.packet(port: 2, peerCarrier(magic: "VFUD", size: 52, state: 2, generation: 4, sequence: 99)))
    #expect(m.states.last?.state == 3)
}

@Test func mutantsOfTheFailoverNodeDiffer() {
    let g = FailoverWorld(mutant: "fo-gen-not-incremented", generation: 4)
    g.feed(g.h.command(0x10))
    #expect(g.states.last?.generation == 4)
    let one = FailoverWorld(mutant: "fo-takeover-one-channel", generation: 1)
    one.feed(one.h.command(0x10))
    one.run(until: 20_000_000_000) { f in f.type == 0x84 && f.body[0] == 0x20 && f.body[1] == 2 }
    let t = one.states.first { $0.state == 2 }?.0 ?? UInt64.max
    #expect(t < 5_000_000_000)
    let d = FailoverWorld(generation: 1)
    d.feed(d.h.command(0x10))
    d.feed(d.h.command(0x11))
    d.run(until: 12_000_000_000)
    #expect(!d.states.contains { $0.state == 2 })
    #expect(u32(d.pm, 128 + 8) == 2 && d.pm[128 + 5] == 1)     // DISABLE persisted
    let di = FailoverWorld(mutant: "fo-ignore-disable", generation: 1)
    di.feed(di.h.command(0x10))
    di.feed(di.h.command(0x11))
    di.run(until: 12_000_000_000)
    #expect(di.states.contains { $0.state == 2 })
}

// MARK: - Robustness

struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func byte() -> UInt8 { UInt8(next() & 0xFF) }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

@Test(arguments: [UInt8(1), 2, 3])
func randomFramesNeverCrashTheCore(role: UInt8) {
    var rng = SplitMix(state: 0x5EED + UInt64(role))
    let templates: [[UInt8]] = [sendRequest(seq: 0), readRequest(seq: 0, address: 0x1000, len: 8),
                                peerCarrier(magic: "VFUD", size: 52, state: 1, generation: 2, sequence: 3)]
    for mutantIndex in [-1, 0, 15, 30] {
        let name = mutantIndex < 0 ? nil : String(cString: rn_mutant_name(mutantIndex))
        let h = Harness(mutant: name)
        h.start(role: role, options: sanNodeOption + [0x12] + be16(10) + be16(3) + be64(0x1000))
        _ = h.command(0x01, be16(3))
        _ = h.command(0x02, be16(3) + be64(0x1000) + be32(64))
        _ = h.command(0x10)
        var now: UInt64 = 0
        for _ in 0..<3000 {
            let kind = rng.below(10)
            var frames: [Frame]
            switch kind {
            case 0...3:   // a mutated valid packet
                var p = templates[rng.below(templates.count)]
                for _ in 0..<rng.below(4) { p[rng.below(p.count)] ^= rng.byte() }
                if rng.below(2) == 0 { p = Array(p.dropLast(4)); p += be32(crc32c(p)) }
                if rng.below(5) == 0 { p = Array(p.prefix(rng.below(p.count + 1))) }
                frames = h.packet(port: UInt8(rng.below(4)), p)
            case 4:
                now += UInt64(rng.below(50_000_000))
                frames = h.time(now)
            case 5:
                frames = h.send(0x06, be16(UInt16(rng.below(64))) + [UInt8(rng.below(4))] + (0..<rng.below(200)).map { _ in rng.byte() })
            case 6:
                frames = h.command(UInt8(rng.below(0x16)), (0..<rng.below(40)).map { _ in rng.byte() })
            case 7:
                let len = UInt32(rng.below(600))
                frames = h.command(0x03, be16(3) + be32(1) + [UInt8(rng.below(3)), UInt8(rng.below(8))] + be64(0x1000) + be32(len) + be32(0) + [UInt8](repeating: 1, count: Int(len)))
            default:
                frames = h.send(rng.byte(), (0..<rng.below(64)).map { _ in rng.byte() })
            }
            // Every stimulus ends in exactly one IDLE; HELLO/RESET/BYE-typed noise may not.
            if let last = frames.last, last.type == 0x85 {
                #expect(frames.filter { $0.type == 0x85 }.count == 1)
            }
            if frames.contains(where: { $0.type == 0x81 }) { _ = h.send(0x02); _ = h.command(0x01, be16(3)) }
        }
    }
}

@Test func failoverGivesBackReleasingThePeersDisksFirst() {
    let w = FailoverWorld(generation: 1)
    w.feed(w.h.command(0x10))
    w.run(until: 20_000_000_000) { f in f.type == 0x84 && f.body[0] == 0x20 && f.body[1] == 2 }
    #expect(w.states.last?.state == 2)
    let start = w.log.count
    w.feed(w.h.command(0x13))
    let after = w.log[start...].map(\.1)
    let release = after.firstIndex { $0.type == 0x87 && $0.body[2] == 2 }
    let normal = after.firstIndex { $0.type == 0x83 && $0.body[12] == 1 }
    #expect(release != nil && normal != nil && release! < normal!)
    // the peer, seen in NORMAL, completes the giveback
    w.feed(w.h.packet(port: 2, peerCarrier(magic: "VFUD", size: 52, state: 1, generation: 3, sequence: 1)))
    #expect(w.states.last?.state == 1)
    let m = FailoverWorld(mutant: "fo-giveback-no-release", generation: 1)
    m.feed(m.h.command(0x10))
    m.run(until: 20_000_000_000) { f in f.type == 0x84 && f.body[0] == 0x20 && f.body[1] == 2 }
    let s2 = m.log.count
    m.feed(m.h.command(0x13))
    #expect(!m.log[s2...].contains { $0.1.type == 0x87 && $0.1.body[2] == 2 })
}
