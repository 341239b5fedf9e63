import VigilAdapters
import VigilConformance
import VigilCore
import VigilSAN

/// Seeded generators of whole cases (scripts) per role, aware of the protocol's arithmetic: sequence
/// numbers at the expected one, just ahead, at the window's edges (127/128/129 away), across the wrap;
/// lengths and codes at their limits; faults per path. Same seed, same script.
public enum SANGenerators {
    static let kit = SANNodeConfig.requestorA

    /// A san-responder case: a VI or two, RDMA memory, then a stream of packets the kit's requestor sends
    /// (mostly well-formed, some duplicated or reordered, some malformed, some supervisory).
    public static func responderCase(_ rng: inout SplitMix64, events: Int) -> Script {
        var s = Script(headers: [.init(key: "case", value: "fuzz"), .init(key: "role", value: "san-responder")])
        var t: UInt64 = 0
        var tsn: UInt16 = 0
        var expected: [UInt16: UInt8] = [1: 0, 2: 0]
        var sent: [SANPacket] = []
        func add(_ verb: String, _ argument: String, _ frame: KitFrame) {
            s.lines.append(Script.Line(time: VirtualTime(nanoseconds: t), direction: .stimulus, verb: verb, argument: argument,
                                       prepared: PreparedStimulus(frame, argument: { argument })))
            t += 1_000
        }
        // Packets are written out only when the case is read (a finding, the corpus): most runs never are.
        func send(_ p: SANPacket, _ m: SANPacket.Malformation? = nil, port: UInt8? = nil) {
            let wire = SANWirePacket.packet(p, m)
            let port = port ?? portOf(p)
            s.lines.append(Script.Line(time: VirtualTime(nanoseconds: t), direction: .stimulus, verb: "packet",
                                       prepared: PreparedStimulus(.packet(port: port, bytes: wire.bytes), argument: { "port=\(port) " + wire.notation })))
            t += 1_000
        }
        add("command", "create-vi vi=1", .command(.createVI(vi: 1)))
        if rng.below(3) == 0 { add("command", "create-vi vi=2", .command(.createVI(vi: 2))) }
        add("command", "enable-rdma vi=1 addr=0x1000 len=1024", .command(.enableRDMA(vi: 1, address: 0x1000, length: 1024)))
        // Start some cases near the wrap, so that short runs cross it.
        if rng.below(8) == 0 {
            let n = 250 + Int(rng.below(6))
            for k in 0..<n { send(request(seq: UInt8(k), vi: 1, ordered: true, kind: .send(data: [UInt8(k)], immediate: nil), tsn: &tsn), port: 0) }
            expected[1] = UInt8(n % 256)
        }
        while s.lines.count < events {
            let vi: UInt16 = rng.below(6) == 0 ? 2 : 1
            let base = expected[vi] ?? 0
            switch rng.below(100) {
            case 0..<45:
                // The expected packet, ordered or not.
                let ordered = rng.below(4) != 0
                let kind = randomKind(&rng)
                let p = request(seq: base, vi: vi, ordered: ordered, kind: kind, tsn: &tsn, from: UInt8(rng.below(2)), to: UInt8(rng.below(2)))
                sent.append(p)
                send(p)
                if ordered { expected[vi] = base &+ 1 }
            case 45..<60:
                // A resend of something already sent: a duplicate (possibly an RDMA read).
                guard let old = sent.randomElement(using: &rng) else { continue }
                var p = old
                tsn &+= 1
                p.tsn = tsn
                send(p)
            case 60..<72:
                // A sequence number at an edge: ahead by 1-2, at distance 127/128/129, or far away.
                let offsets: [UInt8] = [1, 2, 127, 128, 129, 255, 254]
                let seq = base &+ offsets[Int(rng.below(UInt64(offsets.count)))]
                send(request(seq: seq, vi: vi, ordered: true, kind: randomKind(&rng), tsn: &tsn), port: 0)
            case 72..<84:
                // A malformed packet: each malformation one of the validity checks must catch.
                let p = request(seq: base, vi: vi, ordered: true, kind: .send(data: [9], immediate: nil), tsn: &tsn)
                let malformations: [SANPacket.Malformation] = [
                    .init(crcXor: 1 << UInt32(rng.below(32))), .init(length: UInt16(rng.below(600))), .init(transactionTypeCode: UInt8(5 + rng.below(11))),
                    .init(acbCode: UInt8(5 + rng.below(3))), .init(operationCode: 3), .init(setReservedBit: true),
                    .init(truncateTo: Int(rng.below(20))), .init(trailing: [UInt8(rng.below(256))]),
                ]
                var q = p
                switch rng.below(3) {
                case 0: q.destination = SNID(UInt32(rng.below(0x1000)))!
                case 1: q.fabric.toggle()
                default: break
                }
                let m = q == p ? malformations[Int(rng.below(UInt64(malformations.count)))] : nil
                send(q, m)
            case 84..<92:
                // Supervisory: path-bad or path-good for a path, over some path.
                let op: SupervisoryOp = rng.below(2) == 0 ? .pathBad : .pathGood
                tsn &+= 1
                let from = UInt8(rng.below(2)), to = UInt8(rng.below(2))
                let p = kit.packet(fromPort: from, toPeerPort: to, acb: .lane(0), tsn: tsn,
                                   body: .supervisory(Supervisory(op: op, path: PathID(index: Int(rng.below(4))))))
                send(p, port: to)
            case 92..<96:
                let address = 0x1000 + rng.below(1000), length = UInt32(1 + rng.below(16))
                add("command", "read-memory vi=1 addr=0x\(String(address, radix: 16)) len=\(length)",
                    .command(.readMemory(vi: 1, address: address, length: length)))
            default:
                // A stranger, or a VI that does not exist.
                var p = request(seq: base, vi: rng.below(2) == 0 ? 9 : vi, ordered: true, kind: .send(data: [7], immediate: nil), tsn: &tsn)
                if rng.below(2) == 0 { p.source = SNID(0x777)! }
                send(p, port: 0)
            }
        }
        return s
    }

    static func randomKind(_ rng: inout SplitMix64) -> RequestKind {
        switch rng.below(5) {
        case 0, 1: return .send(data: (0..<Int(1 + rng.below(8))).map { _ in UInt8(rng.below(256)) }, immediate: rng.below(4) == 0 ? UInt32(rng.below(1000)) : nil)
        case 2: return .rdmaWrite(address: 0x1000 + rng.below(1030), data: (0..<Int(1 + rng.below(8))).map { _ in UInt8(rng.below(256)) })
        default: return .rdmaRead(address: 0x1000 + rng.below(1030), length: UInt16(1 + rng.below(8)))
        }
    }

    static func request(seq: UInt8, vi: UInt16, ordered: Bool, kind: RequestKind, tsn: inout UInt16, from: UInt8 = 0, to: UInt8 = 0) -> SANPacket {
        tsn &+= 1
        return kit.packet(fromPort: from, toPeerPort: to, acb: .lane(0), tsn: tsn,
                          body: .request(Request(kind: kind, ordered: ordered, sequence: seq, vi: vi)))
    }

    static func portOf(_ p: SANPacket) -> UInt8 {
        SANNodeConfig.responderB.ports.firstIndex(of: p.destination).map { UInt8($0) } ?? 0
    }

    static func note(_ p: SANPacket, _ m: SANPacket.Malformation?) -> String { SANWirePacket.packet(p, m).notation }
}
