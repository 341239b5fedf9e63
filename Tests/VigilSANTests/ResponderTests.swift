import Testing
import VigilCore
@testable import VigilSAN

/// The responder's checks, one rule at a time (US 6,545,981 col. 6 and col. 8-10).
@Suite struct ResponderTests {
    static let a = SANNodeConfig.requestorA

    /// A responder with VI 1 created and 4 KiB of RDMA memory at 0x1000, expecting `expected`.
    static func responder(expected: UInt8 = 0) -> SANResponder {
        var r = SANResponder()
        _ = r.step(.createVI(1))
        _ = r.step(.enableRDMA(vi: 1, address: 0x1000, length: 4096))
        // Bring the expected number to `expected` with ordered one-byte Sends.
        for s in 0..<Int(expected) { _ = r.step(.packet(send(seq: UInt8(s)).encode(), port: 0)) }
        return r
    }

    static func send(seq: UInt8, ordered: Bool = true, vi: UInt16 = 1, data: [UInt8] = [7], port: UInt8 = 0, tsn: UInt16 = 1) -> SANPacket {
        a.packet(fromPort: port, toPeerPort: 0, acb: .lane(0), tsn: tsn,
                 body: .request(Request(kind: .send(data: data, immediate: nil), ordered: ordered, sequence: seq, vi: vi)))
    }

    static func request(_ kind: RequestKind, seq: UInt8, ordered: Bool = true) -> SANPacket {
        a.packet(fromPort: 0, toPeerPort: 0, acb: .lane(0), tsn: 5, body: .request(Request(kind: kind, ordered: ordered, sequence: seq, vi: 1)))
    }

    @Test func partitionMatchesAPlainStatementForEveryPair() {
        // Plain statement: s is a duplicate when it is one of the 128 numbers just behind E, expected when
        // it equals E, ahead otherwise.
        for e in 0...255 {
            var behind: Set<Int> = []
            for k in 1...128 { behind.insert((e - k + 256) % 256) }
            for s in 0...255 {
                let plain: SequenceNumber.Class = s == e ? .expected : (behind.contains(s) ? .duplicate : .ahead)
                #expect(SequenceNumber.classify(UInt8(s), expected: UInt8(e)) == plain, "E=\(e) s=\(s)")
            }
        }
    }

    @Test(arguments: [(UInt8(0), UInt8(127), "ahead"), (0, 128, "duplicate"), (0, 129, "duplicate"), (0, 255, "duplicate"),
                      (0, 1, "ahead"), (200, 71, "ahead"), (200, 72, "duplicate"), (255, 0, "ahead"), (0, 255, "duplicate")])
    func windowEdges(expected: UInt8, received: UInt8, kind: String) {
        #expect(SequenceNumber.classify(received, expected: expected).rawValue == kind)
    }

    @Test func expectedOrderedSendIsAckedDeliveredAndIncrements() throws {
        var r = Self.responder()
        let step = r.step(.packet(Self.send(seq: 0, data: [1, 2, 3]).encode(), port: 0))
        #expect(step.rules.first == .rspSeqExpected)
        #expect(step.outputs.first == .deliver(vi: 1, data: [1, 2, 3], first: true, last: true, immediate: nil))
        let ack = try #require(step.packets.first)
        guard case .ack(let fields, let data) = ack.body else { Issue.record("not an ACK: \(ack.summary)"); return }
        #expect(fields.sequence == 0 && data.isEmpty)
        #expect(ack.destination == Self.a.ports[0] && ack.source == SANNodeConfig.responderB.ports[0] && ack.tsn == 1)
        #expect(r.vis[1]?.expected == 1)
    }

    @Test func expectedUnorderedPacketDoesNotIncrement() {
        var r = Self.responder(expected: 6)
        let step = r.step(.packet(Self.request(.rdmaWrite(address: 0x1000, data: [9, 9]), seq: 6, ordered: false).encode(), port: 0))
        #expect(step.rules.contains(.rspSeqUnorderedHold))
        #expect(r.vis[1]?.expected == 6)
        #expect(r.memory(vi: 1, address: 0x1000, count: 2) == [9, 9])
    }

    @Test func aheadIsNackedWithItsOwnSeqAndThrownAway() {
        var r = Self.responder(expected: 3)
        let before = r
        let step = r.step(.packet(Self.send(seq: 5).encode(), port: 0))
        #expect(step.rules.first == .rspSeqAheadDiscard)
        #expect(step.outputs.count == 1)
        guard case .send(let nack, _, let optional)? = step.outputs.first, case .nack(let f, .sequenceError) = nack.body else {
            Issue.record("expected one sequence-error NACK, got \(step.outputs)")
            return
        }
        #expect(f.sequence == 5 && optional, "the NACK copies SEQ 5; the patent lets the responder skip it")
        #expect(r == before, "nothing stored, the sequence number did not move")
    }

    @Test func duplicateIsAckedAndNotStoredAgain() {
        var r = Self.responder(expected: 3)
        let step = r.step(.packet(Self.send(seq: 1, data: [0xAA]).encode(), port: 0))
        #expect(step.rules.first == .rspDuplicateAck)
        #expect(step.outputs.count == 1 && step.packets.count == 1)
        if case .ack(let f, _) = step.packets[0].body { #expect(f.sequence == 1) } else { Issue.record("not an ACK") }
        #expect(r.vis[1]?.expected == 3)
    }

    @Test func duplicateRDMAReadIsExecutedAgainAndReturnsCurrentData() {
        var r = Self.responder()
        _ = r.step(.packet(Self.request(.rdmaWrite(address: 0x1000, data: [1, 1, 1, 1]), seq: 0).encode(), port: 0))
        let read = Self.request(.rdmaRead(address: 0x1000, length: 4), seq: 1)
        let first = r.step(.packet(read.encode(), port: 0))
        // Memory changes (an unordered write with the current SEQ), then the read is resent.
        _ = r.step(.packet(Self.request(.rdmaWrite(address: 0x1000, data: [2, 2, 2, 2]), seq: 2, ordered: false).encode(), port: 0))
        let again = r.step(.packet(read.encode(), port: 0))
        #expect(again.rules.first == .rspDuplicateRead)
        guard case .ack(_, let d1) = first.packets.first?.body, case .ack(let f2, let d2) = again.packets.first?.body else {
            Issue.record("reads were not ACKed")
            return
        }
        #expect(d1 == [1, 1, 1, 1] && d2 == [2, 2, 2, 2] && f2.sequence == 1)
    }

    @Test func sequenceNumberWrapsFrom255To0() {
        var r = Self.responder(expected: 255)
        #expect(r.step(.packet(Self.send(seq: 255).encode(), port: 0)).rules.first == .rspSeqExpected)
        #expect(r.vis[1]?.expected == 0)
        #expect(r.step(.packet(Self.send(seq: 0).encode(), port: 0)).rules.first == .rspSeqExpected)
        #expect(r.step(.packet(Self.send(seq: 255).encode(), port: 0)).rules.first == .rspDuplicateAck)
        #expect(r.step(.packet(Self.send(seq: 2).encode(), port: 0)).rules.first == .rspSeqAheadDiscard)
        #expect(r.vis[1]?.expected == 1)
    }

    @Test func validityChecksComeFirstAndDiscardWithoutAResponse() {
        let good = Self.send(seq: 0)
        var wrongDID = good
        wrongDID.destination = SNID(0x123)!
        var wrongFabric = good
        wrongFabric.fabric = true
        let cases: [([UInt8], UInt8, SANRule)] = [
            (wrongDID.encode(), 0, .rspValidDID),
            (good.encode(), 1, .rspValidDID),  // arrives on the other port: not its SNID
            (wrongFabric.encode(), 0, .rspValidFabric),
            (good.encode(.init(crcXor: 0x100)), 0, .rspValidCRC),
            (good.encode(.init(length: 2)), 0, .rspValidLength),
            (good.encode(.init(truncateTo: 9)), 0, .rspValidLength),
            (good.encode(.init(transactionTypeCode: 7)), 0, .rspValidRequestCode),
            (good.encode(.init(setReservedBit: true)), 0, .rspValidRequestCode),
            (good.encode(.init(length: 600)), 0, .rspValidLength),
        ]
        for (bytes, port, rule) in cases {
            var r = Self.responder()
            let before = r
            let step = r.step(.packet(bytes, port: port))
            #expect(step.rules.first == rule, "\(rule.rawValue)")
            #expect(step.packets.isEmpty, "\(rule.rawValue): no response")
            #expect(r == before, "\(rule.rawValue): the expected number is untouched even though SEQ matched")
        }
    }

    @Test func responsesSentToAResponderAreNotRequests() {
        var r = Self.responder()
        let ack = Self.a.packet(fromPort: 0, toPeerPort: 0, acb: .lane(0), tsn: 1,
                                body: .ack(ResponseFields(control: VIControl(operation: .send, ordered: true, first: true, last: true), sequence: 0, vi: 1), data: []))
        let step = r.step(.packet(ack.encode(), port: 0))
        #expect(step.rules.first == .rspValidRequestCode && step.packets.isEmpty)
    }

    @Test func rdmaOutsideTheEnabledRangeIsNackedAndChangesNothing() {
        var r = Self.responder()
        let before = r
        let step = r.step(.packet(Self.request(.rdmaWrite(address: 0x1000 + 4094, data: [1, 2, 3]), seq: 0).encode(), port: 0))
        #expect(step.rules.first == .rspRDMAAccess)
        guard case .nack(_, .accessViolation)? = step.packets.first?.body else { Issue.record("no access NACK"); return }
        #expect(r == before)
    }

    @Test func unknownVIIsNacked() {
        var r = Self.responder()
        let step = r.step(.packet(Self.send(seq: 0, vi: 77).encode(), port: 0))
        #expect(step.rules.first == .rspNoSuchVI)
        guard case .nack(_, .noSuchVI)? = step.packets.first?.body else { Issue.record("no NACK"); return }
    }

    @Test func strangersAndDisabledPathsAreIgnored() {
        var r = Self.responder()
        var stranger = Self.send(seq: 0)
        stranger.source = SNID(0x777)!
        #expect(r.step(.packet(stranger.encode(), port: 0)).rules.first == .rspReqInPath)

        // path-bad for path 10 (requestor port 1 to responder port 0), sent over path 00.
        let notice = Self.a.packet(fromPort: 0, toPeerPort: 0, acb: .lane(0), tsn: 40,
                                   body: .supervisory(Supervisory(op: .pathBad, path: PathID(requestorPort: 1, responderPort: 0))))
        let ack = r.step(.packet(notice.encode(), port: 0))
        guard case .supervisory(let m)? = ack.packets.first?.body else { Issue.record("no acknowledgement"); return }
        #expect(m.op == .pathBadAck && m.path == PathID(requestorPort: 1, responderPort: 0) && ack.packets[0].tsn == 40)
        let before = r
        let overBadPath = r.step(.packet(Self.send(seq: 0, port: 1).encode(), port: 0))
        #expect(overBadPath.rules.first == .rspReqInPath && overBadPath.packets.isEmpty && r == before)
        // Path 00 still works, and path-good restores path 10.
        #expect(r.step(.packet(Self.send(seq: 0, port: 0).encode(), port: 0)).rules.first == .rspSeqExpected)
        let good = Self.a.packet(fromPort: 0, toPeerPort: 0, acb: .lane(0), tsn: 41,
                                 body: .supervisory(Supervisory(op: .pathGood, path: PathID(requestorPort: 1, responderPort: 0))))
        #expect(r.step(.packet(good.encode(), port: 0)).rules.first == .rspPathGood)
        #expect(r.step(.packet(Self.send(seq: 1, port: 1).encode(), port: 0)).rules.first == .rspSeqExpected)
    }
}
