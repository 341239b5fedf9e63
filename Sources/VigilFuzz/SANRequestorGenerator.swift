import VigilCore
import VigilSAN

extension SANGenerators {
    /// A san-requestor case: descriptors of every kind and size, with faults on the fabric.
    public static func requestorCase(_ rng: inout SplitMix64, events: Int) -> Script {
        var s = Script(headers: [.init(key: "case", value: "fuzz"), .init(key: "role", value: "san-requestor")])
        var t: UInt64 = 0
        func add(_ verb: String, _ argument: String, after: UInt64 = 1_000) {
            s.lines.append(Script.Line(time: VirtualTime(nanoseconds: t), direction: .stimulus, verb: verb, argument: argument))
            t += after
        }
        add("command", "create-vi vi=1", after: 0)
        add("peer", "enable-rdma vi=1 addr=0x100000 len=65536", after: 0)
        while s.lines.count < events {
            switch rng.below(100) {
            case 0..<40:
                let size = [1, 100, 512, 513, 1024, 2500, 4096, 65_536 + 512][Int(rng.below(8))]
                let ordered = rng.below(2) == 0 ? " ordered" : ""
                let ndaa = rng.below(4) == 0 ? " ndaa" : ""
                switch rng.below(3) {
                case 0: add("command", "post vi=1 op=send size=\(size) seed=\(rng.below(100))\(ndaa)")
                case 1: add("command", "post vi=1 op=rdma-write addr=0x100000 size=\(min(size, 8192)) seed=\(rng.below(100))\(ordered)\(ndaa)")
                default: add("command", "post vi=1 op=rdma-read addr=0x100000 len=\(min(size, 8192))\(ordered)\(ndaa)")
                }
            case 40..<60:
                let action = ["lose", "corrupt", "alter"][Int(rng.below(3))]
                let to = rng.below(2) == 0 ? "responder" : "requestor"
                let kind = ["req", "ack", "nack", "sup"][Int(rng.below(4))]
                add("fabric", "\(action) to=\(to) kind=\(kind) seq=\(rng.below(8)) count=\(1 + rng.below(2))", after: 0)
            case 60..<70:
                let p = ["00", "01", "10", "11"][Int(rng.below(4))]
                add("fabric", "cut path=\(p)", after: 0)
            case 70..<80:
                let p = ["00", "01", "10", "11"][Int(rng.below(4))]
                add("fabric", "heal path=\(p)", after: 0)
            default:
                t += rng.below(4) == 0 ? 150_000_000 : 20_000_000
                add("time", "")
            }
        }
        return s
    }
}
