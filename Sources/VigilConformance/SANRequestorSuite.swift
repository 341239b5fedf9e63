import VigilCore
import VigilSAN

/// The san-requestor conformance cases: the patent's figures as seen from the requestor, the window and
/// the wrap, descriptors and NDAA, and every kind of path failure. Stored as scripts under
/// corpus/conformance/san-requestor/.
public enum SANRequestorSuite {
    struct Builder {
        var script: Script
        var t: UInt64 = 0

        init(_ id: String, _ title: String, rules: [SANRule]) {
            script = Script(headers: [.init(key: "case", value: id), .init(key: "role", value: "san-requestor"),
                                      .init(key: "title", value: title), .init(key: "rules", value: rules.map(\.rawValue).joined(separator: " "))])
        }

        mutating func line(_ verb: String, _ argument: String, _ comment: String? = nil, after: UInt64 = 10_000) {
            script.lines.append(Script.Line(time: VirtualTime(nanoseconds: t), direction: .stimulus, verb: verb, argument: argument, comment: comment))
            t += after
        }

        mutating func setUp(rdma: Bool = false) {
            line("command", "create-vi vi=1")
            if rdma { line("peer", "enable-rdma vi=1 addr=0x100000 len=65536") }
        }

        mutating func post(_ what: String, _ comment: String? = nil, after: UInt64 = 10_000) { line("command", "post vi=1 " + what, comment, after: after) }
        mutating func fabric(_ what: String, _ comment: String? = nil) { line("fabric", what, comment, after: 0) }
        mutating func wait(_ nanoseconds: UInt64) { t += nanoseconds }
    }

    public static var cases: [Script] {
        var out: [Script] = []

        var b = Builder("req-figure6", "FIG. 6: ordered Sends, an unordered 2500-byte RDMA, then more Sends",
                        rules: [.seqInit, .reqSeqOrderedIncrement, .reqSeqUnorderedHold, .reqPacketize, .reqNDAA, .reqNDAL,
                                .reqOrderedOnePath, .reqUnorderedAnyPath, .reqDescriptorComplete, .reqOutstanding, .reqMatch, .reqHeader, .reqTSNUnique])
        b.setUp(rdma: true)
        b.post("op=send size=512 seed=1", after: 0)
        b.post("op=send size=1024 seed=2", after: 0)
        b.post("op=send size=1536 seed=3", after: 0)
        b.post("op=rdma-write addr=0x100000 size=2500 seed=9", "unordered: every packet carries SEQ 6", after: 0)
        b.post("op=send size=1024 seed=10", after: 0)
        b.post("op=send size=1024 seed=11")
        out.append(b.script)

        b = Builder("req-figure8-lost-request", "FIG. 8: the request with SEQ=2 is corrupted; after the NACK the requestor restarts at 2",
                    rules: [.reqNackRecovery, .reqRetransmitEarliest])
        b.setUp()
        b.fabric("corrupt to=responder seq=2 copy=0 kind=req")
        b.post("op=send size=3072 seed=8")
        out.append(b.script)

        b = Builder("req-figure9-lost-response", "FIG. 9: the response with SEQ=1 is lost; time-out, barrier, restart at 1 on the same path",
                    rules: [.reqTimeout, .reqBarrierAfterTimeout, .reqBarrierForm, .reqBarrierFresh, .reqBarrierMatch, .reqTransientSamePath,
                            .reqRetransmitEarliest, .timeoutValues])
        b.setUp()
        b.fabric("lose to=requestor seq=1 copy=0 kind=ack vi=1")
        b.post("op=send size=2048 seed=9")
        out.append(b.script)

        b = Builder("req-corrupt-response", "A response whose CRC fails is discarded: the request times out and is resent",
                    rules: [.reqResponseValid, .reqTimeout, .reqRetransmitEarliest])
        b.setUp()
        b.fabric("corrupt to=requestor seq=0 copy=0 kind=ack vi=1")
        b.post("op=send size=512 seed=7")
        out.append(b.script)

        b = Builder("req-barrier-mismatch", "The barrier read returns another number (a stale answer): the barrier is tried again with a fresh number",
                    rules: [.reqBarrierMismatchRetry, .reqBarrierFresh])
        b.setUp()
        b.fabric("lose to=requestor seq=0 copy=0 kind=ack vi=1")
        b.fabric("alter to=requestor kind=ack vi=65535 count=1", "the first barrier read comes back with another number")
        b.post("op=send size=512 seed=7")
        out.append(b.script)

        b = Builder("req-unordered-read-lost-response", "An unordered RDMA read loses one answer: all answers carry one SEQ and are matched by TSN",
                    rules: [.reqMatch, .reqBarrierEveryLane, .reqUnorderedAnyPath])
        b.setUp(rdma: true)
        b.post("op=send size=8 seed=1")
        b.fabric("lose to=requestor seq=1 kind=ack vi=1 count=1", "one of the four answers")
        b.post("op=rdma-read addr=0x100000 len=2048")
        out.append(b.script)

        b = Builder("req-window", "130 packets outstanding at once would break the window: at most 128 go before an ACK",
                    rules: [.reqWindow, .reqOutstanding])
        b.setUp()
        b.post("op=send size=66560 seed=4", "130 packets")
        out.append(b.script)

        b = Builder("req-sequence-wrap", "300 ordered packets: the sequence number wraps from 255 to 0", rules: [.reqSeqOrderedIncrement])
        b.setUp()
        b.post("op=send size=153600 seed=5", "300 packets")
        out.append(b.script)

        b = Builder("req-ndaa-ordered", "An ordered NDAA descriptor: the next one waits for all its ACKs", rules: [.reqNDAA])
        b.setUp()
        b.post("op=send size=1024 seed=1 ndaa", after: 0)
        b.post("op=send size=512 seed=2")
        out.append(b.script)

        b = Builder("req-remote-error", "An RDMA write to memory the responder never enabled: NACK, the descriptor fails, the VI stops",
                    rules: [.reqNackFailure])
        b.setUp()
        b.post("op=rdma-write addr=0xdead0000 size=16 seed=1 ordered", after: 0)
        b.post("op=send size=16 seed=2")
        out.append(b.script)

        b = Builder("req-path-permanent", "Path 00 dies for good: the barrier fails, path-bad goes over another path, traffic moves after its ACK",
                    rules: [.reqBarrierFailBad, .reqNotifyBeforeRetry, .reqNoBadPath, .reqOrderedOnePath, .reqSupervisoryTimeout])
        b.setUp()
        b.post("op=send size=512 seed=1")
        b.fabric("cut path=00")
        b.post("op=send size=1536 seed=2")
        out.append(b.script)

        b = Builder("req-unordered-avoids-bad-path", "Once path 00 is bad, unordered packets spread over the other paths only",
                    rules: [.reqNoBadPath, .reqUnorderedAnyPath])
        b.setUp(rdma: true)
        b.post("op=send size=512 seed=1")
        b.fabric("cut path=00")
        b.post("op=send size=512 seed=2", after: 50_000_000)
        b.post("op=rdma-write addr=0x100000 size=4096 seed=3", "eight unordered packets")
        out.append(b.script)

        b = Builder("req-path-reprobe", "A bad path is probed periodically and comes back when a barrier succeeds", rules: [.reqReprobe])
        b.setUp()
        b.post("op=send size=512 seed=1")
        b.fabric("cut path=00")
        b.post("op=send size=512 seed=2")
        b.wait(150_000_000)
        b.fabric("heal path=00")
        b.line("time", "", "the next probe finds path 00 good")
        out.append(b.script)

        b = Builder("req-transient", "The last packet is lost once: time-out, the barrier succeeds, the same path is retried",
                    rules: [.reqTransientSamePath, .reqBarrierMatch])
        b.setUp()
        b.fabric("lose to=responder seq=1 copy=0 kind=req vi=1")
        b.post("op=send size=1024 seed=4")
        out.append(b.script)

        b = Builder("req-all-paths-dead", "Every path dies: the VI fails and its descriptors complete with a path failure",
                    rules: [.reqAllPathsBad])
        b.setUp()
        for p in ["00", "01", "10", "11"] { b.fabric("cut path=\(p)") }
        b.post("op=send size=100 seed=1")
        out.append(b.script)

        return out
    }

    public static func fileName(_ script: Script) -> String { (script[header: "case"] ?? "case") + ".vgl" }
}
