import Testing
import VigilCore
@testable import VigilSAN

/// The requestor as an oracle: what it allows a node to send, and the rule each wrong packet breaks.
@Suite struct RequestorTests {
    /// A requestor with VI 1 and the given descriptors posted.
    static func requestor(_ descriptors: [Descriptor]) -> SANRequestor {
        var r = SANRequestor()
        _ = r.step(.createVI(1))
        for d in descriptors { _ = r.step(.post(vi: 1, d)) }
        return r
    }

    /// The model's own next packet.
    static func next(_ r: SANRequestor) throws -> (packet: SANPacket, port: UInt8) {
        let (bytes, port) = try #require(r.proposal())
        return (try SANPacket.decode(bytes), port)
    }

    /// Sends the model's own next packets, `n` of them.
    static func launch(_ r: inout SANRequestor, _ n: Int) throws {
        for _ in 0..<n {
            let (p, port) = try next(r)
            let step = r.step(.transmit(p.encode(), port: port))
            #expect(step.divergence == nil, "\(step.divergence!)")
        }
    }

    /// The ACK the responder would send for `p`.
    static func ack(_ p: SANPacket, data: [UInt8] = []) -> [UInt8] {
        guard case .request(let q) = p.body else { return [] }
        return SANPacket(destination: p.source, acb: p.acb, fabric: p.fabric, source: p.destination, tsn: p.tsn,
                         body: .ack(ResponseFields(control: q.control, sequence: q.sequence, vi: q.vi), data: data)).encode()
    }

    static func tamper(_ r: SANRequestor, _ change: (inout SANPacket) -> Void) throws -> SANStep {
        var (p, port) = try next(r)
        change(&p)
        var copy = r
        return copy.step(.transmit(p.encode(), port: port))
    }

    @Test func windowAllows128OutstandingAndNot129() throws {
        var r = Self.requestor([.send(bytes(130 * 512, seed: 1))])
        try Self.launch(&r, 127)
        #expect(r.proposal() != nil, "127 outstanding: more may go")
        try Self.launch(&r, 1)
        #expect(r.outstandingCount(vi: 1) == 128)
        #expect(r.proposal() == nil, "128 outstanding: the reference requestor stops")
        // A node that sends the 129th anyway breaks the window rule.
        let packet = SANRequestor().config.packet(fromPort: 0, toPeerPort: 0, acb: .lane(0), tsn: 500,
            body: .request(Request(kind: .send(data: Array(bytes(130 * 512, seed: 1)[(128 * 512)..<(129 * 512)]), immediate: nil),
                                   ordered: true, first: false, last: false, sequence: 128, vi: 1)))
        var copy = r
        #expect(copy.step(.transmit(packet.encode(), port: 0)).divergence?.rule == .reqWindow)
    }

    @Test func packetsStayOutstandingUntilTheyAndAllPredecessorsAreAcked() throws {
        var r = Self.requestor([.send(bytes(3 * 512, seed: 1))])
        var sent: [SANPacket] = []
        for _ in 0..<3 {
            let (p, port) = try Self.next(r)
            sent.append(p)
            _ = r.step(.transmit(p.encode(), port: port))
        }
        _ = r.step(.packet(Self.ack(sent[1]), port: 0))
        _ = r.step(.packet(Self.ack(sent[2]), port: 0))
        #expect(r.outstandingCount(vi: 1) == 3, "seq 0 is unacknowledged, so 1 and 2 stay outstanding")
        let step = r.step(.packet(Self.ack(sent[0]), port: 0))
        #expect(r.outstandingCount(vi: 1) == 0)
        #expect(step.outputs == [.completion(vi: 1, descriptor: 0, status: .success, data: [])])
    }

    @Test func sequenceWrapsFrom255To0AcrossALongTransfer() {
        var sim = SANPairSimulation()
        sim.createVI(1)
        sim.post(1, .send(bytes(300 * 512, seed: 3)))
        sim.run()
        let seqs = sim.requests(vi: 1).map { Int($0.request!.sequence) }
        #expect(seqs == (0..<300).map { $0 % 256 })
        #expect(sim.requestor.sequenceNumber(vi: 1) == 44 && sim.responder.vis[1]?.expected == 44)
        #expect(sim.received(vi: 1) == bytes(300 * 512, seed: 3))
        #expect(sim.divergences.isEmpty)
    }

    @Test func lostPacketAcrossTheWrapIsRecovered() {
        var sim = SANPairSimulation()
        sim.createVI(1)
        sim.post(1, .send(bytes(260 * 512, seed: 5)))
        sim.loses = { t in t.request?.sequence == 255 && t.request?.vi == 1 && t.copy == 0 }
        sim.run()
        #expect(sim.received(vi: 1) == bytes(260 * 512, seed: 5))
        #expect(sim.requestor.sequenceNumber(vi: 1) == 4)
        #expect(sim.divergences.isEmpty, "\(sim.divergences)")
    }

    @Test func wrongSequenceNumbersBreakTheirRules() throws {
        let ordered = Self.requestor([.send([1, 2, 3])])
        #expect(try Self.tamper(ordered) { p in p.setSequence(1) }.divergence?.rule == .reqSeqOrderedIncrement)
        // An unordered packet after two ordered ones must carry 2, not an incremented 3.
        var r = Self.requestor([.send(bytes(1024, seed: 1)), .rdmaWrite(bytes(1024, seed: 2), to: 0, ordered: false)])
        // Nothing acknowledged yet: the RDMA may start at once (NDAL after ordered Sends).
        try Self.launch(&r, 3)
        #expect(try Self.tamper(r) { p in p.setSequence(3) }.divergence?.rule == .reqSeqUnorderedHold)
    }

    @Test func orderedTrafficKeepsToOnePathAndLane() throws {
        var r = Self.requestor([.send(bytes(1024, seed: 1))])
        try Self.launch(&r, 1)
        let otherPort = try Self.tamper(r) { p in
            p.source = SANNodeConfig.requestorA.ports[1]
        }
        #expect(otherPort.divergence?.rule == .reqHeader, "SID must match the port it leaves by")
        var copy = r
        var (p, _) = try Self.next(r)
        p.source = SANNodeConfig.requestorA.ports[1]
        #expect(copy.step(.transmit(p.encode(), port: 1)).divergence?.rule == .reqOrderedOnePath)
        #expect(try Self.tamper(r) { $0.acb = .lane(3) }.divergence?.rule == .reqOrderedOnePath)
        #expect(try Self.tamper(r) { $0.acb = .adaptive }.divergence?.rule == .reqOrderedOnePath)
    }

    @Test func nextDescriptorWaitsForTheAcksOfAnUnorderedRDMA() throws {
        var r = Self.requestor([.rdmaWrite(bytes(1024, seed: 1), to: 0, ordered: false), .send([9])])
        try Self.launch(&r, 2)
        #expect(r.proposal() == nil, "the reference requestor waits (NDAA)")
        let early = SANRequestor().config.packet(fromPort: 0, toPeerPort: 0, acb: .lane(0), tsn: 77,
            body: .request(Request(kind: .send(data: [9], immediate: nil), ordered: true, sequence: 0, vi: 1)))
        var copy = r
        #expect(copy.step(.transmit(early.encode(), port: 0)).divergence?.rule == .reqNDAA)
    }

    @Test func orderedNDALMayStartTheNextDescriptorAtOnce() throws {
        var r = Self.requestor([.send([1]), .send([2])])
        try Self.launch(&r, 1)
        let step = try Self.tamper(r) { _ in }
        #expect(step.divergence == nil && step.rules.contains(.reqNDAL))
    }

    @Test func orderedNDAADescriptorAlsoWaitsForItsAcks() throws {
        var r = Self.requestor([.send([1, 2], mode: .ndaa), .send([3])])
        let (first, _) = try Self.next(r)
        try Self.launch(&r, 1)
        #expect(r.proposal() == nil, "NDAA: the next descriptor waits for the ACK")
        _ = r.step(.packet(Self.ack(first), port: 0))
        let (second, _) = try Self.next(r)
        #expect(second.sequence == 1)
    }

    @Test func responsesAreMatchedBySourceVISequenceOperationAndTSN() throws {
        var r = Self.requestor([.send([1])])
        let (p, _) = try Self.next(r)
        try Self.launch(&r, 1)
        let good = try SANPacket.decode(Self.ack(p))
        var otherSource = good
        otherSource.source = SANNodeConfig.requestorA.peerPorts[1]
        var otherVI = good
        var otherSeq = good
        var otherOp = good
        if case .ack(var f, let d) = good.body {
            f.vi = 2
            otherVI.body = .ack(f, data: d)
            f.vi = 1
            f.sequence = 1
            otherSeq.body = .ack(f, data: d)
            f.sequence = 0
            f.control.operation = .rdmaWrite
            otherOp.body = .ack(f, data: d)
        }
        for wrong in [otherSource, otherVI, otherSeq, otherOp] {
            #expect(r.step(.packet(wrong.encode(), port: 0)).rules.first == .reqMatch, "\(wrong.summary)")
        }
        #expect(r.outstandingCount(vi: 1) == 1)
        #expect(r.step(.packet(good.encode(), port: 0)).rules.contains(.reqDescriptorComplete))
    }

    @Test func tsnsOfOutstandingRequestsAreUnique() throws {
        var r = Self.requestor([.send(bytes(1024, seed: 1))])
        let (first, _) = try Self.next(r)
        try Self.launch(&r, 1)
        #expect(try Self.tamper(r) { $0.tsn = first.tsn }.divergence?.rule == .reqTSNUnique)
    }

    @Test func unmatchedAndInvalidResponsesAreDiscarded() throws {
        var r = Self.requestor([.send([1])])
        let (p, _) = try Self.next(r)
        try Self.launch(&r, 1)
        var wrongTSN = try SANPacket.decode(Self.ack(p))
        wrongTSN.tsn &+= 1
        #expect(r.step(.packet(wrongTSN.encode(), port: 0)).rules.first == .reqMatch)
        var corrupt = Self.ack(p)
        corrupt[corrupt.count - 1] ^= 0xFF
        #expect(r.step(.packet(corrupt, port: 0)).rules.first == .reqResponseValid)
        #expect(r.outstandingCount(vi: 1) == 1)
        #expect(r.step(.packet(Self.ack(p), port: 0)).outputs.count == 1)
    }

    @Test func remoteErrorNackFailsTheDescriptorAndStopsTheVI() throws {
        var r = Self.requestor([.rdmaWrite([1], to: 0xDEAD, ordered: true), .send([2])])
        let (p, _) = try Self.next(r)
        try Self.launch(&r, 1)
        guard case .request(let q) = p.body else { return }
        let nack = SANPacket(destination: p.source, acb: p.acb, fabric: p.fabric, source: p.destination, tsn: p.tsn,
                             body: .nack(ResponseFields(control: q.control, sequence: q.sequence, vi: 1), reason: .accessViolation))
        let step = r.step(.packet(nack.encode(), port: 0))
        #expect(step.rules.first == .reqNackFailure)
        #expect(step.outputs == [.completion(vi: 1, descriptor: 0, status: .remoteError, data: []),
                                 .completion(vi: 1, descriptor: 1, status: .aborted, data: [])])
        #expect(r.hasFailed(vi: 1))
    }

    /// Drives a requestor whose only packet's answer never comes until it is waiting for its barrier.
    static func timedOut() throws -> SANRequestor {
        var r = Self.requestor([.send([1]), .send([2])])
        try Self.launch(&r, 2)
        _ = r.step(.advance(to: .milliseconds(11)))
        #expect(r.isRecovering(vi: 1))
        return r
    }

    @Test func afterATimeOutNothingButTheBarrierMayBeSent() throws {
        let r = try Self.timedOut()
        let resend = SANRequestor().config.packet(fromPort: 0, toPeerPort: 0, acb: .lane(0), tsn: 99,
            body: .request(Request(kind: .send(data: [1], immediate: nil), ordered: true, sequence: 0, vi: 1)))
        var copy = r
        #expect(copy.step(.transmit(resend.encode(), port: 0)).divergence?.rule == .reqBarrierAfterTimeout)
        #expect(r.allowedSummary().contains("barrier-location over a good path"))
    }

    /// Agrees the barrier location and answers the barrier write and read.
    static func barrier(_ r: inout SANRequestor, readBack: (UInt64) -> UInt64 = { $0 },
                        log: (SANStep) -> Void = { _ in }) throws -> UInt64 {
        let (loc, port) = try next(r)
        _ = r.step(.transmit(loc.encode(), port: port))
        guard case .supervisory(let m) = loc.body else { Issue.record("expected barrier-location"); return 0 }
        let ackLoc = SANPacket(destination: loc.source, acb: loc.acb, fabric: loc.fabric, source: loc.destination, tsn: loc.tsn,
                               body: .supervisory(Supervisory(op: .barrierLocationAck, path: m.path, vi: m.vi, address: m.address)))
        _ = r.step(.packet(ackLoc.encode(), port: port))
        let (write, wport) = try next(r)
        #expect(r.step(.transmit(write.encode(), port: wport)).divergence == nil)
        guard case .request(let w) = write.body, case .rdmaWrite(_, let data) = w.kind else { return 0 }
        let number = data.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let (read, rport) = try next(r)
        #expect(r.step(.transmit(read.encode(), port: rport)).divergence == nil)
        let value = readBack(number)
        log(r.step(.packet(ack(write), port: wport)))
        log(r.step(.packet(ack(read, data: (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }), port: rport)))
        return number
    }

    @Test func barrierMismatchIsRetriedWithAFreshNumber() throws {
        var r = try Self.timedOut()
        let first = try Self.barrier(&r, readBack: { $0 &+ 1 })
        #expect(r.isRecovering(vi: 1))
        let (write, port) = try Self.next(r)
        guard case .request(let w) = write.body, case .rdmaWrite(_, let data) = w.kind else {
            Issue.record("expected a second barrier write, got \(write.summary)")
            return
        }
        #expect(data.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } != first)
        // Writing the old number again breaks the freshness rule.
        var reused = write
        reused.body = .request(Request(kind: .rdmaWrite(address: r.barrierLocation!.address,
                                                        data: (0..<8).map { UInt8(truncatingIfNeeded: first >> (56 - 8 * $0)) }),
                                       ordered: false, sequence: 0, vi: w.vi))
        var copy = r
        #expect(copy.step(.transmit(reused.encode(), port: port)).divergence?.rule == .reqBarrierFresh)
    }

    @Test func retransmissionStartsAtTheEarliestUnacknowledgedPacket() throws {
        var r = try Self.timedOut()
        _ = try Self.barrier(&r)
        #expect(r.allowedSummary().first?.hasPrefix("resend") == true)
        // Resending seq 1 first skips seq 0, which has no positive acknowledgement.
        let second = SANRequestor().config.packet(fromPort: 0, toPeerPort: 0, acb: .lane(0), tsn: 300,
            body: .request(Request(kind: .send(data: [2], immediate: nil), ordered: true, sequence: 1, vi: 1)))
        var copy = r
        #expect(copy.step(.transmit(second.encode(), port: 0)).divergence?.rule == .reqRetransmitEarliest)
        let (resend, port) = try Self.next(r)
        #expect(resend.sequence == 0)
        #expect(r.step(.transmit(resend.encode(), port: port)).rules.first == .reqRetransmitEarliest)
    }

    @Test func retryOnAnotherPathOnlyAfterPathBadIsAcknowledged() throws {
        var r = try Self.timedOut()
        // Agree the location, then let the barrier's write go unanswered: it times out, the path fails.
        let (loc, port) = try Self.next(r)
        _ = r.step(.transmit(loc.encode(), port: port))
        guard case .supervisory(let m) = loc.body else { return }
        _ = r.step(.packet(SANPacket(destination: loc.source, acb: loc.acb, fabric: loc.fabric, source: loc.destination, tsn: loc.tsn,
                                     body: .supervisory(Supervisory(op: .barrierLocationAck, path: m.path, vi: m.vi, address: m.address))).encode(), port: port))
        try Self.launch(&r, 2)
        _ = r.step(.advance(to: .milliseconds(30)))
        #expect(r.paths[0] == .failed)
        // Sending the data on path 01 now, before path-bad is acknowledged, is too early.
        let early = SANRequestor().config.packet(fromPort: 0, toPeerPort: 1, acb: .lane(0), tsn: 600,
            body: .request(Request(kind: .send(data: [1], immediate: nil), ordered: true, sequence: 0, vi: 1)))
        var copy = r
        #expect(copy.step(.transmit(early.encode(), port: 0)).divergence?.rule == .reqNotifyBeforeRetry)
        // path-bad over the failed path itself is wrong too.
        let (notice, nport) = try Self.next(r)
        var overBad = notice
        overBad.destination = SANNodeConfig.requestorA.peerPorts[0]
        var copy2 = r
        #expect(copy2.step(.transmit(overBad.encode(), port: 0)).divergence?.rule == .reqNotifyBeforeRetry)
        // Once acknowledged, the data may go on another path, and not on the bad one.
        _ = r.step(.transmit(notice.encode(), port: nport))
        guard case .supervisory(let n) = notice.body else { return }
        _ = r.step(.packet(SANPacket(destination: notice.source, acb: notice.acb, fabric: notice.fabric, source: notice.destination,
                                     tsn: notice.tsn, body: .supervisory(Supervisory(op: .pathBadAck, path: n.path))).encode(), port: nport))
        #expect(r.paths[0] == .bad)
        let onBad = SANRequestor().config.packet(fromPort: 0, toPeerPort: 0, acb: .lane(0), tsn: 601,
            body: .request(Request(kind: .send(data: [1], immediate: nil), ordered: true, sequence: 0, vi: 1)))
        var copy3 = r
        #expect(copy3.step(.transmit(onBad.encode(), port: 0)).divergence?.rule == .reqNoBadPath)
        var copy4 = r
        #expect(copy4.step(.transmit(early.encode(), port: 0)).divergence == nil)
    }
}

extension SANPacket {
    mutating func setSequence(_ s: UInt8) {
        if case .request(var r) = body {
            r.sequence = s
            body = .request(r)
        }
    }
}
