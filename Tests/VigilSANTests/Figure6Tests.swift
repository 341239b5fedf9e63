import Testing
import VigilCore
@testable import VigilSAN

/// US 6,545,981 FIG. 6: sequence numbers for Sends, an unordered RDMA, and more Sends.
@Suite struct Figure6Tests {
    /// Three Sends of 1, 2 and 3 packets (six ordered packets, SEQ 0-5), an unordered 2500-byte RDMA
    /// write (five packets), then two Sends of 2 packets each.
    static func run() -> SANPairSimulation { SANScenario.figure6.simulate() }

    @Test func orderedSendsTakeBothCopiesFrom0To6() {
        let sim = Self.run()
        let sends = sim.requests(vi: 1).prefix(6)
        #expect(sends.map { $0.request!.sequence } == [0, 1, 2, 3, 4, 5])
        #expect(sends.allSatisfy { $0.request!.ordered })
        // After each Send packet both copies have moved on by one; after the sixth both are 6.
        #expect(sends.map(\.requestorSN) == [1, 2, 3, 4, 5, 6])
        #expect(sends.map(\.responderSN) == [1, 2, 3, 4, 5, 6])
    }

    @Test func unorderedRDMACarries6InEveryPacketAndLeavesBothAt6() {
        let sim = Self.run()
        let rdma = sim.requests(vi: 1).filter { if case .rdmaWrite = $0.request!.kind { return true } else { return false } }
        #expect(rdma.count == 5, "2500 bytes in 512-byte packets")
        #expect(rdma.allSatisfy { $0.request!.sequence == 6 && !$0.request!.ordered })
        #expect(rdma.allSatisfy { $0.requestorSN == 6 && $0.responderSN == 6 })
        // Unordered packets may use every path: the reference requestor spreads them.
        #expect(Set(rdma.map(\.path)).count > 1)
    }

    @Test func nextSendCarries6AndOnlyThenTheCopiesMoveOn() {
        let sim = Self.run()
        let after = sim.requests(vi: 1).dropFirst(11)
        #expect(after.map { $0.request!.sequence } == [6, 7, 8, 9])
        #expect(after.first?.requestorSN == 7 && after.first?.responderSN == 7)
        #expect(sim.requestor.sequenceNumber(vi: 1) == 10)
        #expect(sim.responder.vis[1]?.expected == 10)
    }

    @Test func everyResponseCopiesItsRequestsSequenceNumberAndAllComplete() {
        let sim = Self.run()
        let responses = sim.log.filter { $0.direction == .toRequestor }
        let requests = sim.log.filter { $0.direction == .toResponder }
        #expect(responses.count == requests.count)
        for response in responses {
            guard case .ack(let fields, _) = response.packet.body else {
                Issue.record("expected only ACKs, got \(response.packet.summary)")
                continue
            }
            let request = requests.first { $0.packet.tsn == response.packet.tsn && $0.path.requestorPort == response.path.requestorPort }
            #expect(request?.request?.sequence == fields.sequence)
        }
        #expect(sim.completions.count == 6)
        #expect(sim.divergences.isEmpty, "\(sim.divergences)")
        #expect(sim.responder.memory(vi: 1, address: 0x10_0000, count: 2500) == bytes(2500, seed: 9))
        #expect(sim.received(vi: 1) == [1, 2, 3].flatMap { bytes(512 * $0, seed: $0) } + bytes(1024, seed: 10) + bytes(1024, seed: 11))
    }

    @Test func nextDescriptorAfterUnorderedRDMAWaitsForAllItsAcks() {
        let sim = Self.run()
        let rdmaAcks = sim.log.filter { $0.direction == .toRequestor && $0.packet.isAck(of: .rdmaWrite) }
        let firstLaterSend = sim.log.first { $0.direction == .toResponder && $0.request?.sequence == 6 && $0.request!.ordered }
        #expect(rdmaAcks.count == 5)
        #expect(rdmaAcks.allSatisfy { $0.order < firstLaterSend!.order }, "NDAA: the Send after the multipath RDMA starts after its last ACK")
    }
}

/// Deterministic test data.
func bytes(_ count: Int, seed: Int) -> [UInt8] { SANScenario.data(count, seed: seed) }

extension SANPacket {
    func isAck(of op: VIOperation) -> Bool {
        if case .ack(let f, _) = body { return f.control.operation == op }
        return false
    }
}
