import Testing
import VigilCore
@testable import VigilSAN

/// Path failure and recovery: US 6,545,981 col. 10-12 ("Error Recovery and Path State", FIG. 7) and claim 1.
@Suite struct PathStateTests {
    static func permanentFailure(healAt: VirtualTime? = nil) -> SANPairSimulation {
        SANScenario.pathFailure(healAt: healAt)
    }

    @Test func permanentFailureMarksThePathBadOnBothSidesAndTrafficMoves() throws {
        var sim = Self.permanentFailure()
        sim.run(until: .milliseconds(50))
        let bad = PathID(requestorPort: 0, responderPort: 0)
        // Requestor: the barrier on path 00 timed out, the path is bad.
        #expect(sim.requestor.paths[bad.index] == .bad)
        #expect(sim.rules.contains(.reqBarrierFailBad))
        // Responder: told over another path, it cleared path 00's ReqInPath bit.
        #expect(sim.responder.vis[1]!.reqInPath & (1 << bad.index) == 0)
        let notice = sim.log.first { if case .supervisory(let m) = $0.packet.body { return m.op == .pathBad } else { return false } }
        #expect(notice != nil && notice!.path != bad, "path-bad travels over another good path")
        // Only after its acknowledgement did the data move to another path.
        let ack = try #require(sim.log.first { if case .supervisory(let m) = $0.packet.body { return m.op == .pathBadAck } else { return false } })
        let moved = sim.requests(vi: 1).filter { $0.path != bad }
        #expect(!moved.isEmpty && moved.allSatisfy { $0.order > ack.order })
        #expect(Set(moved.map(\.path)).count == 1, "ordered traffic keeps to one path")
        #expect(sim.received(vi: 1) == bytes(512, seed: 1) + bytes(3 * 512, seed: 2))
        #expect(sim.completions.count == 2)
        #expect(sim.divergences.isEmpty, "\(sim.divergences)")
    }

    @Test func stalePacketsOnTheBadPathAreIgnored() {
        var sim = Self.permanentFailure()
        sim.run(until: .milliseconds(50))
        let bad = PathID(requestorPort: 0, responderPort: 0)
        let before = sim.responder
        // A stale request that was lurking on the bad path shows up late, with the expected number.
        let stale = SANRequestor().config.packet(
            fromPort: 0, toPeerPort: 0, acb: .lane(0), tsn: 999,
            body: .request(Request(kind: .send(data: [0xEE], immediate: nil), ordered: true,
                                   sequence: sim.responder.vis[1]!.expected, vi: 1)))
        var responder = sim.responder
        let step = responder.step(.packet(stale.encode(), port: bad.responderPort))
        #expect(step.rules.first == .rspReqInPath)
        #expect(step.packets.isEmpty, "discarded without a response")
        #expect(responder == before, "and nothing changed")
    }

    @Test func badPathIsReprobedAndComesBackWhenABarrierSucceeds() {
        var sim = Self.permanentFailure(healAt: .milliseconds(150))
        sim.run(until: .milliseconds(400))
        let path = PathID(requestorPort: 0, responderPort: 0)
        let probes = sim.log.filter {
            $0.path == path && $0.packet.vi == 0xFFFF && $0.direction == .toResponder && $0.packet.isWrite
        }
        #expect(probes.count >= 2, "probed while bad, periodically")
        #expect(sim.rules.contains(.reqReprobe))
        #expect(sim.requestor.paths[path.index] == .good)
        #expect(sim.responder.vis[1]!.reqInPath & (1 << path.index) != 0, "path-good set the bit again")
        #expect(sim.divergences.isEmpty, "\(sim.divergences)")
    }

    @Test func transientFailureBarrierSucceedsAndTheSamePathIsRetried() {
        // The last packet is lost, so nothing after it can draw a NACK: the requestor times out.
        let sim = SANScenario.transient.simulate()
        let data = bytes(2 * 512, seed: 4)
        let requests = sim.requests(vi: 1)
        #expect(requests.map { $0.request!.sequence } == [0, 1, 1])
        #expect(Set(requests.map(\.path)).count == 1, "retried on the same path")
        #expect(sim.rules.contains(.reqBarrierMatch) && sim.rules.contains(.reqTransientSamePath))
        #expect(!sim.rules.contains(.reqBarrierFailBad))
        #expect(sim.requestor.paths.allSatisfy { $0 == .good })
        #expect(sim.received(vi: 1) == data)
        #expect(sim.divergences.isEmpty, "\(sim.divergences)")
    }

    @Test func everyPathDeadFailsTheVI() {
        var sim = SANPairSimulation()
        sim.createVI(1)
        sim.post(1, .send(bytes(100, seed: 1)))
        sim.loses = { _ in true }
        sim.run(until: .seconds(1))
        #expect(sim.requestor.hasFailed(vi: 1))
        #expect(sim.completions == [.completion(vi: 1, descriptor: 0, status: .pathFailure, data: [])])
        #expect(sim.rules.contains(.reqAllPathsBad))
    }

    @Test func adaptiveTrafficIsBarrieredOnEveryLane() {
        var sim = SANPairSimulation()
        sim.createVI(1, rdma: (0, 4096))
        sim.loses = { t in t.direction == .toRequestor && t.packet.vi == 1 && t.copy == 0 }
        sim.post(1, .rdmaWrite(bytes(512, seed: 1), to: 0, ordered: false))
        sim.run()
        let barrierWrites = sim.log.filter { $0.direction == .toResponder && $0.packet.vi == 0xFFFF && $0.packet.isWrite }
        let lanes = Set(barrierWrites.map { route in route.packet.acb })
        #expect(lanes == [.lane(0), .lane(1), .lane(2), .lane(3)], "the lost packet went link-set adaptive")
        #expect(sim.rules.contains(.reqBarrierEveryLane))
        #expect(sim.divergences.isEmpty, "\(sim.divergences)")
    }
}

extension SANPacket {
    var isWrite: Bool {
        if case .request(let r) = body, case .rdmaWrite = r.kind { return true }
        return false
    }
}
