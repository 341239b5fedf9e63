import Testing
import VigilCore
@testable import VigilSAN

/// US 6,545,981 FIG. 8 (a lost request) and FIG. 9 (a lost response).
@Suite struct RecoveryFigureTests {
    /// FIG. 8: "the request packet with SEQ=2 is corrupted. The missing request is detected by the
    /// responder on the next packet and NACKed ... and all subsequent packets are thrown away and NACKed.
    /// The requestor resets its send engine to start generating packets at the one that failed to receive
    /// an ACK (in this case Rqst. SN=2). The responder recognizes the SEQ=2 and accepts the packets."
    @Test func figure8LostRequestIsNackedAndResentFromSeq2() {
        let sim = SANScenario.figure8.simulate()
        let data = bytes(6 * 512, seed: 8)

        let requests = sim.requests(vi: 1)
        #expect(requests.map { $0.request!.sequence } == [0, 1, 2, 3, 4, 5, 2, 3, 4, 5])
        #expect(requests[2].corrupted)
        let answers = sim.log.filter { $0.direction == .toRequestor }.sorted { $0.order < $1.order }
        let firstRound = answers.prefix(5).map { ($0.packet.nackReason, $0.packet.sequence) }
        #expect(firstRound.map(\.0) == [nil, nil, .sequenceError, .sequenceError, .sequenceError],
                "0 and 1 ACKed; 3, 4 and 5 NACKed with a sequence error")
        #expect(firstRound.map(\.1) == [0, 1, 3, 4, 5], "each NACK carries its request's SEQ")
        #expect(sim.received(vi: 1) == data, "the responder threw 3-5 away and took them again after 2")
        #expect(sim.requestor.sequenceNumber(vi: 1) == 6 && sim.responder.vis[1]?.expected == 6)
        #expect(sim.completions == [.completion(vi: 1, descriptor: 0, status: .success, data: [])])
        #expect(sim.rules.contains(.rspSeqAheadNack) && sim.rules.contains(.reqNackRecovery))
        #expect(sim.divergences.isEmpty, "\(sim.divergences)")
    }

    /// FIG. 9: "the response packet with SEQ=1 is corrupted. The missing response is detected when the
    /// requestor times out its transaction. The requestor resets its send engine to start generating
    /// packets at the one that failed to receive an ACK (in this case rqst.SN=1). The responder recognizes
    /// the resent packets as already having been received, acknowledges them and discards the data."
    @Test func figure9LostResponseTimesOutAndIsResentFromSeq1() {
        let sim = SANScenario.figure9.simulate()
        let data = bytes(4 * 512, seed: 9)

        let requests = sim.requests(vi: 1).filter { $0.request!.vi == 1 }
        #expect(requests.map { $0.request!.sequence }.prefix(5) == [0, 1, 2, 3, 1])
        // The resend came after the time-out, after a barrier showed the path good.
        let resend = requests[4]
        #expect(resend.time >= sim.requestor.timers.responseTimeout)
        #expect(resend.path == requests[1].path, "a transient failure is retried on the same path")
        #expect(sim.rules.contains(.reqTimeout) && sim.rules.contains(.reqBarrierMatch) && sim.rules.contains(.reqTransientSamePath))
        // The responder ACKed the duplicate and did not store its data twice.
        let dupAnswer = sim.log.last { $0.direction == .toRequestor && $0.packet.sequence == 1 && $0.packet.tsn == resend.packet.tsn }
        #expect(dupAnswer?.packet.nackReason == nil && dupAnswer != nil)
        #expect(sim.rules.contains(.rspDuplicateAck))
        #expect(sim.received(vi: 1) == data)
        #expect(sim.completions == [.completion(vi: 1, descriptor: 0, status: .success, data: [])])
        #expect(sim.divergences.isEmpty, "\(sim.divergences)")
    }

    /// FIG. 9's note: "the response packets for this particular RDMA transaction all have the same value of
    /// SEQ because the request SNs and response SNs are not incremented for RDMA transactions that are
    /// unordered. In this case, the TSNs are utilized by the requestor to match response packets".
    @Test func figure9UnorderedRDMAResponsesShareSeqAndAreMatchedByTSN() {
        var sim = SANPairSimulation()
        sim.createVI(1, rdma: (0x4000, 2048))
        sim.post(1, .send(bytes(10, seed: 1)))
        sim.post(1, .rdmaWrite(bytes(2048, seed: 3), to: 0x4000, ordered: true))
        sim.run()
        sim.post(1, .rdmaRead(2048, at: 0x4000, ordered: false))
        // Lose one of the read's answers: the one whose TSN is 2 mod 4.
        sim.corrupts = { t in t.direction == .toRequestor && t.packet.isAck(of: .rdmaRead) && t.packet.vi == 1 && t.copy == 0 && t.packet.tsn % 4 == 2 }
        sim.run()

        let readAnswers = sim.log.filter { $0.direction == .toRequestor && $0.packet.isAck(of: .rdmaRead) && $0.packet.vi == 1 }
        #expect(readAnswers.count >= 5, "four answers, one lost, then the resend's")
        #expect(Set(readAnswers.map(\.packet.sequence)) == [5], "every response of the unordered read carries SEQ 5")
        #expect(Set(readAnswers.map(\.packet.tsn)).count == readAnswers.count, "told apart by TSN")
        guard case .completion(_, _, .success, let got)? = sim.completions.last else {
            Issue.record("the read did not complete: \(sim.completions)")
            return
        }
        #expect(got == bytes(2048, seed: 3))
        #expect(sim.divergences.isEmpty, "\(sim.divergences)")
    }
}

extension SANPacket {
    var nackReason: NackReason? {
        if case .nack(_, let r) = body { return r }
        return nil
    }

    var vi: UInt16? {
        switch body {
        case .request(let r): return r.vi
        case .ack(let f, _), .nack(let f, _): return f.vi
        case .supervisory: return nil
        }
    }

    var sequence: UInt8? {
        switch body {
        case .request(let r): return r.sequence
        case .ack(let f, _), .nack(let f, _): return f.sequence
        case .supervisory: return nil
        }
    }
}
