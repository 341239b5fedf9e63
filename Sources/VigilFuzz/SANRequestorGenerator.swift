import VigilCore
import VigilSAN

/// The san-requestor generator. The kit plays the responder and the fabric, so a case is a few
/// descriptors and a few faults, timed against the protocol's arithmetic:
///
/// - sizes mostly of one to four packets (512-byte payloads), at the packet edges (512/513, 1024/1025),
///   sometimes at the window's edges (127, 128, 129, 130 packets outstanding) or long enough to carry
///   the sequence number across its wrap (255 → 0);
/// - descriptors posted together (within the 4 µs round trip, so that NDAA and NDAL matter) or apart;
/// - faults aimed at the sequence numbers the case will use: a lost or corrupted request (the last one
///   times out, an earlier one draws sequence-error NACKs), a lost, corrupted or altered ACK (one of an
///   RDMA read's, or the barrier VI's: a stale answer racing a barrier), a lost NACK, a lost supervisory
///   message or acknowledgement, a second loss of the same packet (`copy=1`: the retransmission);
/// - paths cut before traffic (the barrier fails, path-bad goes over another path, traffic moves), cut
///   under way, healed later (the re-probe); waits of one or a few time-outs (10 ms) or probe intervals
///   (100 ms).
///
/// Cases are light: a handful of stimuli, mostly small descriptors, so that a campaign runs fast and a
/// finding minimizes to a few lines. Same generator state, same script.
extension SANGenerators {
    public static func requestorCase(_ rng: inout SplitMix64, events: Int) -> Script {
        var g = RequestorCaseBuilder(budget: max(3, events))
        g.build(&rng)
        return g.script
    }
}

struct RequestorCaseBuilder {
    var script = Script(headers: [.init(key: "case", value: "fuzz"), .init(key: "role", value: "san-requestor")])
    /// Virtual time of the next line, in nanoseconds.
    var t: UInt64 = 0
    /// The VI's sequence number after what is posted so far (ordered packets move it, unordered do not).
    var seq = 0
    /// Stimuli beyond the set-up this case may still add.
    var budget: Int
    var dataSeed = 0
    /// Paths cut and not yet healed.
    var cut: Set<String> = []

    static let packet = 512
    static let timeout: UInt64 = 10_000_000
    static let probe: UInt64 = 100_000_000

    init(budget: Int) { self.budget = budget }

    mutating func add(_ verb: String, _ argument: String) {
        script.lines.append(Script.Line(time: VirtualTime(nanoseconds: t), direction: .stimulus, verb: verb, argument: argument))
        budget -= 1
        if verb == "fabric", argument.hasPrefix("cut path=") { cut.insert(String(argument.dropFirst(9))) }
        if verb == "fabric", argument.hasPrefix("heal path=") { cut.remove(String(argument.dropFirst(10))) }
    }

    mutating func wait(_ ns: UInt64) { t += ns }

    // MARK: descriptors

    enum Op { case send, write, read }

    /// A size in bytes: mostly one to four packets, at the packet edges.
    static func size(_ rng: inout SplitMix64) -> Int {
        switch rng.below(16) {
        case 0: return 1
        case 1, 2: return 8
        case 3: return 100
        case 4, 5: return 512
        case 6: return 513
        case 7, 8: return 1024
        case 9: return 1025
        case 10, 11: return 1536
        case 12: return 2048
        case 13: return 2500
        default: return 512 * (1 + Int(rng.below(4)))
        }
    }

    static func packets(_ size: Int) -> Int { max(1, (size + packet - 1) / packet) }

    /// Posts a descriptor; returns the sequence numbers its packets carry.
    @discardableResult
    mutating func post(_ op: Op, size: Int, ordered: Bool, ndaa: Bool = false, imm: Bool = false) -> ClosedRange<Int> {
        dataSeed += 1
        let n = Self.packets(size)
        let first = seq
        let isOrdered = op == .send || ordered
        var line = "post vi=1 "
        switch op {
        case .send: line += "op=send size=\(size) seed=\(dataSeed)" + (imm ? " imm=\(dataSeed * 7)" : "")
        case .write: line += "op=rdma-write addr=0x100000 size=\(size) seed=\(dataSeed)" + (ordered ? " ordered" : "")
        case .read: line += "op=rdma-read addr=0x100000 len=\(size)" + (ordered ? " ordered" : "")
        }
        if ndaa { line += " ndaa" }
        add("command", line)
        if isOrdered { seq += n }
        return first...(isOrdered ? first + n - 1 : first)
    }

    mutating func randomPost(_ rng: inout SplitMix64, size: Int? = nil) -> ClosedRange<Int> {
        let size = size ?? Self.size(&rng)
        switch rng.below(8) {
        case 0, 1, 2: return post(.send, size: size, ordered: true, ndaa: rng.below(5) == 0, imm: rng.below(4) == 0)
        case 3, 4: return post(.write, size: size, ordered: rng.below(2) == 0, ndaa: rng.below(5) == 0)
        default: return post(.read, size: min(size, 4096), ordered: rng.below(2) == 0, ndaa: rng.below(5) == 0)
        }
    }

    // MARK: faults

    static let paths = ["00", "01", "10", "11"]

    mutating func fault(_ rng: inout SplitMix64, seqs: ClosedRange<Int>) {
        let s = (seqs.lowerBound + Int(rng.below(UInt64(seqs.count)))) & 255
        let copy = rng.below(6) == 0 ? " copy=1" : (rng.below(2) == 0 ? " copy=0" : "")
        switch rng.below(20) {
        case 0, 1, 2: add("fabric", "lose to=responder kind=req seq=\(s)\(copy) count=1")
        case 3: add("fabric", "corrupt to=responder kind=req seq=\(s)\(copy) count=1")
        case 4, 5, 6: add("fabric", "lose to=requestor kind=ack seq=\(s)\(copy) count=\(1 + rng.below(2))")
        case 7: add("fabric", "corrupt to=requestor kind=ack seq=\(s) count=1")
        case 8: add("fabric", "alter to=requestor kind=ack vi=1 count=1")
        case 9, 10: add("fabric", "alter to=requestor kind=ack vi=65535 count=\(1 + rng.below(2))")
        case 11: add("fabric", "lose to=requestor kind=nack count=\(1 + rng.below(3))")
        case 12, 13: add("fabric", "lose to=\(rng.below(2) == 0 ? "responder" : "requestor") kind=sup count=1")
        case 14: add("fabric", "lose to=responder kind=req vi=65535 count=1")
        case 15: add("fabric", "lose to=requestor kind=ack vi=65535 count=1")
        case 16: add("fabric", "lose to=responder kind=req seq=\(s) count=\(2 + rng.below(2))")
        default: add("fabric", "cut path=\(Self.paths[Int(rng.below(4))])")
        }
    }

    // MARK: the case

    mutating func build(_ rng: inout SplitMix64) {
        add("command", "create-vi vi=1")
        if rng.below(4) != 0 { add("peer", "enable-rdma vi=1 addr=0x100000 len=1048576") }
        budget += 2
        switch rng.below(100) {
        case 0..<4:
            // The window's edges: 126-130 packets of one Send, or an RDMA behind a nearly full window.
            let n = [126, 127, 128, 129, 130][Int(rng.below(5))]
            if rng.below(2) == 0 { fault(&rng, seqs: 0...n - 1) }
            post(.send, size: n * Self.packet - Int(rng.below(2)) * 100, ordered: true)
            if rng.below(2) == 0 { randomPost(&rng) }
        case 4..<6:
            // Across the wrap: 250-260 ordered packets, perhaps a fault near 255/0.
            let n = 250 + Int(rng.below(11))
            if rng.below(2) == 0 { add("fabric", "lose to=responder kind=req seq=\(250 + Int(rng.below(6))) count=1") }
            post(.send, size: n * Self.packet, ordered: true)
            randomPost(&rng)
        case 6..<26:
            // Descriptors posted together (within the round trip): ordering, NDAL/NDAA, sequence numbers.
            for _ in 0..<(2 + Int(rng.below(3))) {
                randomPost(&rng)
                wait(rng.below(3) == 0 ? 1_000 : 0)
            }
            if rng.below(3) == 0 { wait(Self.timeout / 2); randomPost(&rng) }
        case 26..<66:
            // Faults on the packets to come, then the descriptors they hit.
            let size = Self.size(&rng)
            let ops: [Op] = [.send, .send, .write, .read]
            let op = ops[Int(rng.below(4))]
            let ordered = op == .send || rng.below(2) == 0
            let n = Self.packets(size)
            let range = seq...(ordered ? seq + n - 1 : seq)
            for _ in 0..<(1 + Int(rng.below(2))) { fault(&rng, seqs: range) }
            post(op, size: op == .read ? min(size, 4096) : size, ordered: ordered, ndaa: rng.below(6) == 0)
            if rng.below(2) == 0 { randomPost(&rng) }
            if rng.below(3) == 0 {
                wait(rng.below(2) == 0 ? 1_000 : Self.timeout + rng.below(3) * 5_000_000)
                if rng.below(2) == 0 { fault(&rng, seqs: seq...seq + 1) }
                randomPost(&rng)
            }
        case 66..<90:
            // Paths: cut before the traffic or under way, healed later; traffic after the move.
            let p = Self.paths[Int(rng.below(4))]
            let early = rng.below(3) != 0
            if early { add("fabric", "cut path=\(p)") }
            if rng.below(5) == 0 { add("fabric", "cut path=\(Self.paths[Int(rng.below(4))])") }
            if rng.below(4) == 0 { fault(&rng, seqs: seq...seq + 1) }
            randomPost(&rng)
            if rng.below(2) == 0 { randomPost(&rng) }
            if !early { wait(2_000); add("fabric", "cut path=\(p)"); randomPost(&rng) }
            switch rng.below(4) {
            case 0:
                wait(Self.timeout * (2 + rng.below(4)))
                randomPost(&rng)
            case 1:
                wait(Self.probe + rng.below(2) * Self.probe / 2)
                add("fabric", "heal path=\(p)")
                wait(Self.probe + Self.timeout)
                randomPost(&rng)
            case 2:
                wait(Self.timeout * (1 + rng.below(3)))
                add("fabric", "heal path=\(p)")
                randomPost(&rng)
            default:
                break
            }
        default:
            // A mix: a few posts, faults and waits in any order.
            budget = min(budget, 6)
            while budget > 0 {
                switch rng.below(10) {
                case 0, 1, 2, 3: randomPost(&rng)
                case 4, 5, 6: fault(&rng, seqs: seq...seq + 2)
                case 7: add("fabric", "heal path=\(Self.paths[Int(rng.below(4))])")
                default: wait([1_000, Self.timeout / 2, Self.timeout + 1_000, 3 * Self.timeout, Self.probe][Int(rng.below(5))])
                }
            }
        }
        // Heal what is still cut once the case has played out, so that it ends quiet: a bad path is
        // re-probed every 100 ms for as long as the case runs after its last line.
        if !cut.isEmpty {
            wait(3 * Self.probe)
            for p in cut.sorted() { add("fabric", "heal path=\(p)") }
        }
    }
}
