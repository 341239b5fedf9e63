import VigilCore

/// The patent's own examples and the path-failure cases, as runs of the reference requestor against the
/// reference responder. `vigil simulate` prints them as ladder diagrams; the tests check them.
public enum SANScenario: String, CaseIterable, Sendable {
    /// FIG. 6: Sends of 1, 2 and 3 packets, an unordered 2500-byte RDMA write, two 2-packet Sends.
    case figure6 = "fig6"
    /// FIG. 8: the request with SEQ=2 is corrupted; NACKs; restart at 2.
    case figure8 = "fig8"
    /// FIG. 9: the response with SEQ=1 is corrupted; time-out, barrier, restart at 1, duplicates ACKed.
    case figure9 = "fig9"
    /// Path 00 fails for good at 100 µs: barrier fails, path-bad, traffic moves; healed at 150 ms and
    /// brought back by a periodic probe.
    case pathFailure = "path-failure"
    /// The last packet of a Send is lost once: time-out, barrier succeeds, same path retried.
    case transient

    public var summary: String {
        switch self {
        case .figure6: return "FIG. 6: sequence numbers for ordered Sends and an unordered RDMA"
        case .figure8: return "FIG. 8: a lost request (SEQ=2) is NACKed and resent"
        case .figure9: return "FIG. 9: a lost response (SEQ=1) times out; the resent duplicate is ACKed"
        case .pathFailure: return "a permanent path failure: barrier fails, path-bad, traffic moves, path re-probed"
        case .transient: return "a transient failure: barrier succeeds, the same path is retried"
        }
    }

    /// Deterministic test data.
    public static func data(_ count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &* 7) }
    }

    public static let pathFailureCut = VirtualTime.microseconds(100)
    public static let pathFailureHeal = VirtualTime.milliseconds(150)

    /// Runs the scenario to its end.
    public func simulate() -> SANPairSimulation {
        var sim = SANPairSimulation()
        switch self {
        case .figure6:
            sim.createVI(1, rdma: (0x10_0000, 4096))
            for packets in [1, 2, 3] { sim.post(1, .send(Self.data(512 * packets, seed: packets))) }
            sim.post(1, .rdmaWrite(Self.data(2500, seed: 9), to: 0x10_0000, ordered: false))
            sim.post(1, .send(Self.data(1024, seed: 10)))
            sim.post(1, .send(Self.data(1024, seed: 11)))
            sim.run()
        case .figure8:
            sim.createVI(1)
            sim.post(1, .send(Self.data(6 * 512, seed: 8)))
            sim.corrupts = { t in t.copy == 0 && t.request?.sequence == 2 }
            sim.run()
        case .figure9:
            sim.createVI(1)
            sim.post(1, .send(Self.data(4 * 512, seed: 9)))
            sim.corrupts = { t in
                guard t.direction == .toRequestor, t.copy == 0, case .ack(let f, _) = t.packet.body else { return false }
                return f.sequence == 1 && f.vi == 1
            }
            sim.run()
        case .pathFailure:
            sim = Self.pathFailure(healAt: Self.pathFailureHeal)
            sim.run(until: .milliseconds(400))
        case .transient:
            sim.createVI(1)
            sim.post(1, .send(Self.data(2 * 512, seed: 4)))
            sim.loses = { t in t.copy == 0 && t.request?.sequence == 1 && t.request?.vi == 1 }
            sim.run()
        }
        return sim
    }

    /// Path 00 dies at `pathFailureCut` (both ways) and comes back at `healAt`, if given; one Send has
    /// completed before the cut and a 3-packet Send is posted at it. The caller runs the rest.
    public static func pathFailure(healAt: VirtualTime?) -> SANPairSimulation {
        var sim = SANPairSimulation()
        sim.createVI(1)
        sim.post(1, .send(data(512, seed: 1)))
        sim.run()
        let cut = PathID(requestorPort: 0, responderPort: 0)
        let from = pathFailureCut
        sim.loses = { t in t.path == cut && t.time >= from && (healAt.map { t.time < $0 } ?? true) }
        sim.advance(to: from)
        sim.post(1, .send(data(3 * 512, seed: 2)))
        return sim
    }
}
