import VigilCore

/// The requestor side of US 6,545,981 for one node: per-VI sequence numbers, the window, descriptors,
/// routing, response matching, and error recovery (time-out or sequence-error NACK, barriers, path-bad
/// notification, retransmission, re-probing of bad paths).
///
/// Where the patent leaves the requestor free (which good path, which lane, which TSN, which barrier
/// number, when to retry) the model allows a set and follows the choice made: the node's own packets come
/// in as `transmit` inputs and are checked against that set. `proposal()` returns the model's own choice,
/// so the same value can also play a conformant requestor. Pure: no clock, no randomness.
public struct SANRequestor: Hashable, Sendable {
    public enum Input: Hashable, Sendable {
        case createVI(UInt16)
        case post(vi: UInt16, Descriptor)
        /// Bytes arriving from the fabric on port 0 or 1: responses and supervisory acknowledgements.
        case packet([UInt8], port: UInt8)
        /// Virtual time moves on to the given instant.
        case advance(to: VirtualTime)
        /// The node sends these bytes out of port 0 or 1.
        case transmit([UInt8], port: UInt8)
    }

    /// The requestor's view of a path (US 6,545,981 FIG. 7).
    public enum PathState: String, Hashable, Sendable {
        case good
        /// A request on it timed out; a barrier must show it good before it carries data again.
        case suspect
        /// A barrier failed; the responder has not yet acknowledged path-bad.
        case failed
        /// Both sides hold it bad; it is re-probed periodically.
        case bad
        /// A probe succeeded; path-good has not yet been acknowledged.
        case restoring
    }

    struct Entry: Hashable, Sendable {
        var serial: Int
        var descriptor: Int
        var index: Int
        var request: Request
        var path: PathID
        var acb: AdaptiveControl
        var tsn: UInt16
        /// The transmissions of this packet whose answers may still be in the fabric. TSNs are per port
        /// (SAN-REQ-TSN-UNIQUE, model choice): a response returns to the port its request left by, so
        /// only a TSN reused from the same port could let a stale answer pass for a fresh one. A barrier
        /// that succeeds on a route flushes what was sent on it before (col. 11 ll. 43-46), so a
        /// transmission is forgotten once every route it could have taken has been flushed after it.
        var transmissions: [Transmission]
        var sentAt: VirtualTime
        var acked = false
    }

    /// One transmission of a packet: its TSN as `port << 16 | TSN`, the routes it could have taken that no
    /// barrier has flushed since, and its place in the order of the node's transmissions.
    struct Transmission: Hashable, Sendable {
        var tsn: UInt32
        var unflushed: Set<Route>
        var order: Int
    }

    struct Posted: Hashable, Sendable {
        var id: Int
        var descriptor: Descriptor
        var plan: [Request]
        var launched: Set<Int> = []
        var acked: Set<Int> = []
        var data: [Int: [UInt8]] = [:]
        var done: Bool { acked.count == plan.count }
    }

    enum Recovery: Hashable, Sendable {
        case none
        /// Waiting for barriers on these routes (after a time-out, or by choice after a NACK).
        case barriers(Set<Route>)
        /// Waiting for the responder to acknowledge path-bad for these paths.
        case notify(Set<PathID>)
        /// Resending the outstanding packets; `cursor` is the serial of the next one to resend.
        case retransmit(cursor: Int, afterNack: Bool)
    }

    struct VIState: Hashable, Sendable {
        var nextSeq: UInt8 = 0
        var descriptors: [Posted] = []
        var nextDescriptorID = 0
        var outstanding: [Entry] = []
        var nextSerial = 0
        var orderedRoute: Route?
        var recovery: Recovery = .none
        var failed = false
    }

    enum BarrierPhase: Hashable, Sendable {
        case needed
        case writeSent(number: UInt64, tsn: UInt16, at: VirtualTime)
        case readSent(number: UInt64, writeTSN: UInt16, tsn: UInt16, at: VirtualTime)
        case succeeded
        case failed
    }

    struct Barrier: Hashable, Sendable {
        var phase: BarrierPhase
        var probe: Bool
        /// The order of the barrier's read among the node's transmissions: its success flushes the route
        /// of everything sent on it before.
        var flushMark = 0
    }

    struct PendingSupervisory: Hashable, Sendable {
        var message: Supervisory
        var port: UInt8
        var via: PathID
        var sentAt: VirtualTime
    }

    public let config: SANNodeConfig
    public let timers: SANTimers
    public private(set) var now: VirtualTime = .zero
    public private(set) var paths: [PathState] = Array(repeating: .good, count: 4)
    var vis: [UInt16: VIState] = [:]
    var barriers: [Route: Barrier] = [:]
    var nextProbe: [Int: VirtualTime] = [:]
    var pending: [UInt16: PendingSupervisory] = [:]
    /// Paths held bad whose path-bad was never acknowledged: their barrier failed when no other path was
    /// left to carry path-bad (see `holdFailedPathsBad`). Path-bad for them is allowed, not required.
    var unannounced: Set<Int> = []
    /// The agreed barrier VI and address (SAN-RSP-SUP-BARRIER-LOC).
    public private(set) var barrierLocation: (vi: UInt16, address: UInt64)?
    var usedBarrierNumbers: Set<UInt64> = []
    var nextTSN: [UInt16] = [1, 1]
    var nextBarrierCounter: UInt64 = 1
    /// Counts the node's data and barrier-read transmissions (for `Transmission.order`, `Barrier.flushMark`).
    var transmissionOrder = 0
    /// What the model proposes for the barrier location when it plays the requestor.
    public var proposedBarrierLocation: (vi: UInt16, address: UInt64) = (0xFFFF, 0xB000_0000)

    public init(config: SANNodeConfig = .requestorA, timers: SANTimers = SANTimers()) {
        self.config = config
        self.timers = timers
    }

    public static func == (a: SANRequestor, b: SANRequestor) -> Bool {
        a.config == b.config && a.timers == b.timers && a.now == b.now && a.paths == b.paths && a.vis == b.vis
            && a.barriers == b.barriers && a.nextProbe == b.nextProbe && a.pending == b.pending && a.unannounced == b.unannounced
            && a.barrierLocation?.vi == b.barrierLocation?.vi && a.barrierLocation?.address == b.barrierLocation?.address
            && a.usedBarrierNumbers == b.usedBarrierNumbers && a.nextTSN == b.nextTSN
            && a.nextBarrierCounter == b.nextBarrierCounter && a.transmissionOrder == b.transmissionOrder
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(now)
        hasher.combine(paths)
        hasher.combine(vis)
        hasher.combine(barriers)
    }

    // MARK: observation helpers

    /// The requestor's sequence number for a VI (Rqst. SN).
    public func sequenceNumber(vi: UInt16) -> UInt8? { vis[vi]?.nextSeq }
    /// How many packets of a VI are outstanding.
    public func outstandingCount(vi: UInt16) -> Int { vis[vi]?.outstanding.count ?? 0 }
    /// Whether the VI is recovering from an error.
    public func isRecovering(vi: UInt16) -> Bool { vis[vi].map { $0.recovery != .none } ?? false }
    /// Whether the VI has stopped after an error.
    public func hasFailed(vi: UInt16) -> Bool { vis[vi]?.failed ?? false }
    /// The route ordered traffic of a VI uses now, once chosen.
    public func orderedRoute(vi: UInt16) -> Route? { vis[vi]?.orderedRoute }

    // MARK: step

    public mutating func step(_ input: Input) -> SANStep {
        var step: SANStep
        switch input {
        case .createVI(let id):
            vis[id] = VIState()
            step = SANStep(rules: [.seqInit])
        case .post(let id, let descriptor):
            guard vis[id] != nil else {
                return SANStep(outputs: [.discard("descriptor posted to VI \(id), which does not exist")], rules: [.seqInit])
            }
            let posted = Posted(id: vis[id]!.nextDescriptorID, descriptor: descriptor, plan: descriptor.packets())
            vis[id]!.nextDescriptorID += 1
            if vis[id]!.failed {
                step = SANStep(outputs: [.completion(vi: id, descriptor: posted.id, status: .aborted, data: [])],
                               rules: [.reqNackFailure])
            } else {
                vis[id]!.descriptors.append(posted)
                step = SANStep(rules: [.reqPacketize])
            }
        case .packet(let bytes, let port):
            step = receive(bytes, port: port & 1)
        case .advance(let t):
            step = advance(to: t)
        case .transmit(let bytes, let port):
            step = transmit(bytes, port: port & 1)
        }
        resolveRecoveries(&step)
        return step
    }
}

// MARK: - transmissions

extension SANRequestor {
    mutating func transmit(_ bytes: [UInt8], port: UInt8) -> SANStep {
        let packet: SANPacket
        do {
            packet = try SANPacket.decode(bytes)
        } catch {
            return diverge(.reqHeader, "\(bytes.count) bytes", "the requestor sent bytes that are not a packet: \(error)")
        }
        let observed = Sent(port: port, packet: packet)
        guard packet.source == config.ports[Int(port)], packet.fabric == config.fabrics[Int(port)] else {
            return diverge(.reqHeader, observed,
                           "SID \(packet.source) / fabric \(packet.fabric ? 1 : 0) are not those of port \(port) (\(config.ports[Int(port)]), \(config.fabrics[Int(port)] ? 1 : 0))")
        }
        guard let peerPort = config.peerPortIndex(of: packet.destination) else {
            return diverge(.reqHeader, observed, "DID \(packet.destination) is not a port of the peer node")
        }
        let path = PathID(requestorPort: port, responderPort: peerPort)
        switch packet.body {
        case .supervisory(let message):
            return transmitSupervisory(message, packet: packet, path: path, observed: observed)
        case .request(let request):
            if let location = barrierLocation, request.vi == location.vi {
                return transmitBarrier(request, packet: packet, path: path, observed: observed)
            }
            return transmitData(request, packet: packet, path: path, observed: observed)
        case .ack, .nack:
            return diverge(.reqHeader, observed, "a requestor sends requests and supervisory messages, not responses")
        }
    }

    private mutating func transmitData(_ r: Request, packet: SANPacket, path: PathID, observed: Sent) -> SANStep {
        guard var vi = vis[r.vi] else { return diverge(.seqInit, observed, "VI \(r.vi) was never created") }
        if vi.failed { return diverge(.reqNackFailure, observed, "VI \(r.vi) has stopped after an error") }
        switch vi.recovery {
        case .barriers(let routes):
            return diverge(.reqBarrierAfterTimeout, observed,
                           "VI \(r.vi) must complete barriers on \(routes.sorted().map(\.description).joined(separator: ", ")) before sending again")
        case .notify(let failed):
            return diverge(.reqNotifyBeforeRetry, observed,
                           "path-bad for \(failed.sorted().map(\.description).joined(separator: ", ")) must be acknowledged before VI \(r.vi) retries on another path")
        case .retransmit(let cursor, _):
            return resend(r, vi: &vi, cursor: cursor, packet: packet, path: path, observed: observed)
        case .none:
            return launch(r, vi: &vi, packet: packet, path: path, observed: observed)
        }
    }

    /// A new packet of the first descriptor that has packets left.
    private mutating func launch(_ r: Request, vi: inout VIState, packet: SANPacket, path: PathID, observed: Sent) -> SANStep {
        var rules: [SANRule] = []
        guard let d = vi.descriptors.firstIndex(where: { $0.launched.count < $0.plan.count }) else {
            if vi.outstanding.contains(where: { $0.request == r }) {
                return diverge(.reqRetransmitEarliest, observed, "seq \(r.sequence) was resent outside error recovery")
            }
            return diverge(.reqPacketize, observed, "VI \(r.vi) has no posted descriptor with a packet left to send")
        }
        let posted = vi.descriptors[d]
        if posted.launched.isEmpty, let earlier = vi.descriptors[..<d].first(where: { $0.descriptor.waitsForAcks && !$0.done }) {
            // A packet that is one already outstanding is a resend outside recovery, not a new descriptor.
            if let e = vi.outstanding.first(where: { !$0.acked && $0.request == r }) {
                return diverge(.reqRetransmitEarliest, observed, "seq \(e.request.sequence) (\(e.request.brief)) was resent outside error recovery")
            }
            return diverge(.reqNDAA, observed,
                           "descriptor \(posted.id) started before every packet of \(earlier.descriptor.ordered ? "NDAA" : "unordered") descriptor \(earlier.id) was acknowledged")
        }
        if posted.launched.isEmpty, d > 0 { rules.append(vi.descriptors[d - 1].descriptor.waitsForAcks ? .reqNDAA : .reqNDAL) }
        let candidates = posted.descriptor.ordered
            ? [posted.plan.indices.first { !posted.launched.contains($0) }!]
            : posted.plan.indices.filter { !posted.launched.contains($0) }
        guard let index = candidates.first(where: { posted.plan[$0].sameContent(as: r) }) else {
            let wanted = candidates.prefix(3).map { posted.plan[$0].brief }.joined(separator: " or ")
            return diverge(.reqPacketize, observed, "descriptor \(posted.id) has no unsent packet like this; next: \(wanted)")
        }
        guard r.sequence == vi.nextSeq else {
            return diverge(r.ordered ? .reqSeqOrderedIncrement : .reqSeqUnorderedHold, observed,
                           "carries seq \(r.sequence); the requestor's sequence number is \(vi.nextSeq)")
        }
        guard vi.outstanding.count < SequenceNumber.window else {
            return diverge(.reqWindow, observed, "\(vi.outstanding.count) packets are already outstanding on VI \(r.vi)")
        }
        switch checkRoute(ordered: r.ordered, vi: &vi, packet: packet, path: path, observed: observed) {
        case .failure(let d): return d.step
        case .success(let rule): rules.append(rule)
        }
        if let clash = tsnClash(packet.tsn, port: path.requestorPort) {
            return diverge(.reqTSNUnique, observed, "TSN \(packet.tsn) is in use by \(clash)")
        }
        vi.outstanding.append(Entry(serial: vi.nextSerial, descriptor: posted.id, index: index, request: r, path: path,
                                    acb: packet.acb, tsn: packet.tsn, transmissions: [transmission(packet, path: path)], sentAt: now))
        vi.nextSerial += 1
        vi.descriptors[d].launched.insert(index)
        if r.ordered { vi.nextSeq &+= 1 }
        vis[r.vi] = vi
        noteTSN(packet.tsn, port: path.requestorPort)
        rules.insert(r.ordered ? .reqSeqOrderedIncrement : .reqSeqUnorderedHold, at: 0)
        rules += [.reqWindow, .reqPacketize, .reqTSNUnique, .reqHeader]
        return SANStep(rules: rules)
    }

    /// A packet resent during recovery: the next one from the cursor (acknowledged ones may be skipped),
    /// or the earliest unacknowledged one (a restart).
    private mutating func resend(_ r: Request, vi: inout VIState, cursor: Int, packet: SANPacket, path: PathID,
                                 observed: Sent) -> SANStep {
        let earliest = vi.outstanding.first { !$0.acked }
        var allowed: [Int] = []
        for e in vi.outstanding where e.serial >= cursor {
            allowed.append(e.serial)
            if !e.acked { break }
        }
        if let earliest { allowed.append(earliest.serial) }
        // Two outstanding packets can be identical (the same unordered RDMA posted twice: same sequence number,
        // address and data); a resend is taken for the first unacknowledged one, which is what recovery needs.
        let matches = { (e: Entry) in allowed.contains(e.serial) && e.request == r }
        guard let i = vi.outstanding.firstIndex(where: { matches($0) && !$0.acked }) ?? vi.outstanding.firstIndex(where: matches) else {
            let want = vi.outstanding.first { $0.serial >= cursor && !$0.acked } ?? earliest
            return diverge(.reqRetransmitEarliest, observed,
                           "recovery must resend " + (want.map { "seq \($0.request.sequence) (\($0.request.brief))" } ?? "nothing")
                           + " next: the earliest packet without a positive acknowledgement")
        }
        var rules: [SANRule] = [.reqRetransmitEarliest]
        switch checkRoute(ordered: r.ordered, vi: &vi, packet: packet, path: path, observed: observed) {
        case .failure(let d): return d.step
        case .success(let rule): rules.append(rule)
        }
        if vi.outstanding[i].transmissions.contains(where: { $0.tsn == portTSN(packet.tsn, path.requestorPort) }) {
            return diverge(.reqTSNUnique, observed,
                           "a retransmission reuses TSN \(packet.tsn) of an earlier transmission of the packet from port \(path.requestorPort)")
        }
        if let clash = tsnClash(packet.tsn, port: path.requestorPort) {
            return diverge(.reqTSNUnique, observed, "TSN \(packet.tsn) is in use by \(clash)")
        }
        vi.outstanding[i].tsn = packet.tsn
        vi.outstanding[i].transmissions.append(transmission(packet, path: path))
        vi.outstanding[i].sentAt = now
        vi.outstanding[i].path = path
        vi.outstanding[i].acb = packet.acb
        let next = vi.outstanding[i].serial + 1
        if case .retransmit(_, let afterNack) = vi.recovery { vi.recovery = .retransmit(cursor: next, afterNack: afterNack) }
        // Every unacknowledged packet has been resent (acknowledged ones may be skipped): recovery is over.
        if !vi.outstanding.contains(where: { $0.serial >= next && !$0.acked }) { vi.recovery = .none }
        vis[r.vi] = vi
        noteTSN(packet.tsn, port: path.requestorPort)
        rules += [.reqTSNUnique, .reqHeader]
        return SANStep(rules: rules)
    }

    /// Ordered packets keep to one path and one lane; any data needs a good path.
    private func checkRoute(ordered: Bool, vi: inout VIState, packet: SANPacket, path: PathID, observed: Sent)
        -> Result<SANRule, DivergenceStep>
    {
        guard paths[path.index] == .good else {
            return .failure(DivergenceStep(diverge(.reqNoBadPath, observed, "\(path) is \(paths[path.index].rawValue) at the requestor")))
        }
        guard ordered else { return .success(.reqUnorderedAnyPath) }
        guard case .lane(let lane) = packet.acb else {
            return .failure(DivergenceStep(diverge(.reqOrderedOnePath, observed, "an ordered packet needs deterministic routing (ACB naming a lane)")))
        }
        let route = Route(path: path, lane: lane)
        if let chosen = vi.orderedRoute, chosen != route {
            return .failure(DivergenceStep(diverge(.reqOrderedOnePath, observed, "ordered traffic of this VI uses \(chosen), not \(route)")))
        }
        vi.orderedRoute = route
        return .success(.reqOrderedOnePath)
    }

    struct DivergenceStep: Error {
        var step: SANStep
        init(_ step: SANStep) { self.step = step }
    }

    private mutating func transmitBarrier(_ r: Request, packet: SANPacket, path: PathID, observed: Sent) -> SANStep {
        guard let location = barrierLocation else { return diverge(.reqBarrierForm, observed, "no barrier location is agreed") }
        guard !r.ordered else { return diverge(.reqBarrierForm, observed, "barrier packets are sent unordered") }
        guard case .lane(let lane) = packet.acb else {
            return diverge(.reqBarrierEveryLane, observed, "a barrier flushes one lane: its ACB must name the lane")
        }
        guard r.sequence == 0 else {
            return diverge(.reqSeqUnorderedHold, observed, "the barrier VI's sequence number never moves from 0 (all its packets are unordered)")
        }
        let route = Route(path: path, lane: lane)
        if let clash = tsnClash(packet.tsn, port: path.requestorPort) {
            return diverge(.reqTSNUnique, observed, "TSN \(packet.tsn) is in use by \(clash)")
        }
        switch r.kind {
        case .rdmaWrite(let address, let data) where address == location.address && data.count == 8:
            let number = data.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            var barrier: Barrier
            if let existing = barriers[route], existing.phase == .needed {
                barrier = existing
            } else if paths[path.index] == .bad, !barriers.contains(where: { $0.key.path == path && $0.value.isInFlight }) {
                // "Periodically" (claim 1) sets no exact period: a probe is allowed any time the path is bad,
                // and required by the probe interval (SAN-TIMEOUT-VALUES).
                barrier = Barrier(phase: .needed, probe: true)
            } else if let id = vis.keys.sorted().first(where: { vis[$0]!.isAfterNack && vis[$0]!.routes.contains(route) }) {
                // After a sequence-error NACK the requestor may barrier before resending.
                vis[id]!.recovery = .barriers(vis[id]!.routes)
                for other in vis[id]!.routes where barriers[other]?.isInFlight != true {
                    barriers[other] = Barrier(phase: .needed, probe: false)
                }
                barrier = barriers[route]!
            } else {
                return diverge(.reqBarrierAfterTimeout, observed, "no barrier is due on \(route)")
            }
            guard !usedBarrierNumbers.contains(number) else {
                return diverge(.reqBarrierFresh, observed, "barrier number \(hex64(number)) was written by an earlier barrier")
            }
            usedBarrierNumbers.insert(number)
            barrier.phase = .writeSent(number: number, tsn: packet.tsn, at: now)
            barriers[route] = barrier
            if number & 0xFF_FFFF_FFFF >= nextBarrierCounter { nextBarrierCounter = (number & 0xFF_FFFF_FFFF) + 1 }
            noteTSN(packet.tsn, port: path.requestorPort)
            return SANStep(rules: [.reqBarrierForm, .reqBarrierFresh, barrier.probe ? .reqReprobe : .reqBarrierEveryLane])
        case .rdmaRead(let address, 8) where address == location.address:
            guard var barrier = barriers[route], case .writeSent(let number, let writeTSN, _) = barrier.phase else {
                return diverge(.reqBarrierForm, observed, "a barrier read follows the barrier's write on the same route (\(route))")
            }
            barrier.phase = .readSent(number: number, writeTSN: writeTSN, tsn: packet.tsn, at: now)
            barrier.flushMark = transmissionOrder
            transmissionOrder += 1
            barriers[route] = barrier
            noteTSN(packet.tsn, port: path.requestorPort)
            return SANStep(rules: [.reqBarrierForm])
        default:
            return diverge(.reqBarrierForm, observed,
                           "on the barrier VI only an 8-byte RDMA write, then an 8-byte RDMA read, at \(hex64(location.address))")
        }
    }

    private mutating func transmitSupervisory(_ m: Supervisory, packet: SANPacket, path: PathID, observed: Sent) -> SANStep {
        if let clash = tsnClash(packet.tsn, port: path.requestorPort), pending[packet.tsn]?.message != m {
            return diverge(.reqTSNUnique, observed, "TSN \(packet.tsn) is in use by \(clash)")
        }
        let rule: SANRule
        switch m.op {
        case .barrierLocation:
            // "This is done by any path possible": the location may be agreed over the very path under test.
            guard paths[path.index] == .good || paths[path.index] == .suspect else {
                return diverge(.reqNoBadPath, observed, "supervisory messages travel over a usable path; \(path) is \(paths[path.index].rawValue)")
            }
            rule = .rspBarrierLocation
        case .pathBad:
            guard paths[m.path.index] == .failed || (paths[m.path.index] == .bad && unannounced.contains(m.path.index)) else {
                return diverge(.reqNotifyBeforeRetry, observed, "\(m.path) is \(paths[m.path.index].rawValue), not failed: nothing to report")
            }
            guard path != m.path, paths[path.index] == .good else {
                return diverge(.reqNotifyBeforeRetry, observed, "path-bad for \(m.path) must travel over another good path, not \(path) (\(paths[path.index].rawValue))")
            }
            rule = .reqNotifyBeforeRetry
        case .pathGood:
            guard paths[m.path.index] == .restoring else {
                return diverge(.reqReprobe, observed, "\(m.path) is \(paths[m.path.index].rawValue); path-good follows a successful probe")
            }
            guard path == m.path || paths[path.index] == .good else {
                return diverge(.reqNoBadPath, observed, "path-good travels over a good path or the restored one, not \(path)")
            }
            rule = .reqReprobe
        default:
            return diverge(.reqHeader, observed, "a requestor does not send \(m.op)")
        }
        pending[packet.tsn] = PendingSupervisory(message: m, port: path.requestorPort, via: path, sentAt: now)
        noteTSN(packet.tsn, port: path.requestorPort)
        return SANStep(rules: [rule, .reqTSNUnique])
    }

    /// What already uses a TSN on a port, nil when it is free.
    func tsnClash(_ tsn: UInt16, port: UInt8) -> String? {
        for (id, vi) in vis {
            if let e = vi.outstanding.first(where: { $0.tsn == tsn && $0.path.requestorPort == port && !$0.acked }) {
                return "VI \(id) seq \(e.request.sequence)"
            }
        }
        for (route, b) in barriers where route.path.requestorPort == port {
            switch b.phase {
            case .writeSent(_, let t, _) where t == tsn: return "the barrier write on \(route)"
            case .readSent(_, let w, let t, _) where t == tsn || w == tsn: return "the barrier on \(route)"
            default: continue
            }
        }
        if let p = pending[tsn], p.port == port { return "the pending \(p.message.op)" }
        return nil
    }

    /// Records a transmission of a data packet.
    mutating func transmission(_ packet: SANPacket, path: PathID) -> Transmission {
        defer { transmissionOrder += 1 }
        return Transmission(tsn: portTSN(packet.tsn, path.requestorPort), unflushed: Set(Route.routes(path: path, acb: packet.acb)),
                            order: transmissionOrder)
    }

    /// A barrier succeeded on `route`: no answer to anything sent on it before its read can still arrive
    /// (col. 11 ll. 43-46), so those transmissions' TSNs may be used again (SAN-REQ-TSN-UNIQUE, model choice).
    mutating func flush(_ route: Route, before mark: Int) {
        for id in vis.keys {
            for i in vis[id]!.outstanding.indices {
                vis[id]!.outstanding[i].transmissions = vis[id]!.outstanding[i].transmissions.compactMap { t in
                    guard t.order < mark else { return t }
                    var t = t
                    t.unflushed.remove(route)
                    return t.unflushed.isEmpty ? nil : t
                }
            }
        }
    }

    mutating func noteTSN(_ tsn: UInt16, port: UInt8) {
        nextTSN[Int(port)] = tsn == UInt16.max ? 1 : tsn + 1
    }

    func diverge(_ rule: SANRule, _ observed: some CustomStringConvertible, _ detail: String) -> SANStep {
        SANStep(rules: [rule], divergence: SANDivergence(rule: rule, observed: observed.description, detail: detail, allowed: allowedSummary()))
    }

    /// A packet the requestor sent, as a divergence names it; written out only when something diverges.
    struct Sent: CustomStringConvertible {
        var port: UInt8
        var packet: SANPacket
        var description: String { "port\(port) \(packet.summary)" }
    }
}

// MARK: - receiving

extension SANRequestor {
    mutating func receive(_ bytes: [UInt8], port: UInt8) -> SANStep {
        let packet: SANPacket
        switch config.admit(bytes, port: port) {
        case .failure(let refusal):
            return SANStep(outputs: [.discard(refusal.detail)], rules: [.reqResponseValid] + refusal.rules)
        case .success(let p):
            packet = p
        }
        guard let peerPort = config.peerPortIndex(of: packet.source) else {
            return SANStep(outputs: [.discard("response from \(packet.source), not a port of the peer")], rules: [.reqMatch])
        }
        let path = PathID(requestorPort: port, responderPort: peerPort)
        switch packet.body {
        case .ack(let fields, let data):
            return answer(fields, ack: true, data: data, reason: nil, packet: packet, path: path)
        case .nack(let fields, let reason):
            return answer(fields, ack: false, data: [], reason: reason, packet: packet, path: path)
        case .supervisory(let m):
            guard m.op.isAcknowledgement, let p = pending[packet.tsn], p.message.op.acknowledgement == m.op,
                p.message.path == m.path, p.port == port
            else {
                return SANStep(outputs: [.discard("\(m.op) answers no pending supervisory message")], rules: [.reqMatch])
            }
            pending[packet.tsn] = nil
            switch m.op {
            case .pathBadAck:
                // A path already held bad without notice (`unannounced`) keeps its probe schedule.
                unannounced.remove(m.path.index)
                if paths[m.path.index] == .failed {
                    paths[m.path.index] = .bad
                    nextProbe[m.path.index] = now + timers.probeInterval
                }
                return SANStep(rules: [.reqNotifyBeforeRetry, .pathFour])
            case .pathGoodAck:
                paths[m.path.index] = .good
                unannounced.remove(m.path.index)
                return SANStep(rules: [.reqReprobe])
            default:
                barrierLocation = (p.message.vi, p.message.address)
                return SANStep(rules: [.rspBarrierLocation])
            }
        case .request:
            return SANStep(outputs: [.discard("this model plays the requestor only; requests are not accepted")],
                           rules: [.rspValidRequestCode])
        }
    }

    private mutating func answer(_ fields: ResponseFields, ack: Bool, data: [UInt8], reason: NackReason?,
                                 packet: SANPacket, path: PathID) -> SANStep {
        if let location = barrierLocation, fields.vi == location.vi {
            return barrierAnswer(fields, ack: ack, data: data, packet: packet, path: path)
        }
        guard var vi = vis[fields.vi],
            let i = vi.outstanding.firstIndex(where: {
                !$0.acked && $0.tsn == packet.tsn && $0.path == path && $0.request.sequence == fields.sequence
                    && $0.request.control.operation == fields.control.operation
            })
        else {
            return SANStep(outputs: [.discard("\(packet.summary) matches no outstanding request")], rules: [.reqMatch])
        }
        if ack, case .rdmaRead(_, let length) = vi.outstanding[i].request.kind, data.count != Int(length) {
            return SANStep(outputs: [.discard("read response of \(data.count) bytes for a \(length)-byte read")], rules: [.reqMatch])
        }
        var step = SANStep(rules: [.reqMatch])
        guard ack else {
            if reason == .sequenceError {
                switch vi.recovery {
                case .none:
                    vi.recovery = .retransmit(cursor: vi.outstanding.first { !$0.acked }!.serial, afterNack: true)
                    step.rules.insert(.reqNackRecovery, at: 0)
                case .retransmit(let cursor, _) where vi.outstanding[i].serial < cursor:
                    // The resent packet itself was refused: start over from the earliest.
                    vi.recovery = .retransmit(cursor: vi.outstanding.first { !$0.acked }!.serial, afterNack: true)
                    step.rules.insert(.reqNackRecovery, at: 0)
                default:
                    step.outputs.append(.discard("sequence-error NACK for a packet the current recovery will resend"))
                }
                vis[fields.vi] = vi
                return step
            }
            // Any other NACK fails the descriptor; the VI stops.
            let failedDescriptor = vi.outstanding[i].descriptor
            step.rules.insert(.reqNackFailure, at: 0)
            for d in vi.descriptors {
                step.outputs.append(d.failureCompletion(vi: fields.vi, status: d.id == failedDescriptor ? .remoteError : .aborted))
            }
            vi.descriptors = []
            vi.outstanding = []
            vi.failed = true
            vi.recovery = .none
            vis[fields.vi] = vi
            return step
        }
        vi.outstanding[i].acked = true
        let entry = vi.outstanding[i]
        if let d = vi.descriptors.firstIndex(where: { $0.id == entry.descriptor }) {
            vi.descriptors[d].acked.insert(entry.index)
            if !data.isEmpty { vi.descriptors[d].data[entry.index] = data }
        }
        // A packet is outstanding until it and all its predecessors are acknowledged.
        while let first = vi.outstanding.first, first.acked { vi.outstanding.removeFirst() }
        step.rules.append(.reqOutstanding)
        // Descriptors complete in posting order, each when all its packets are acknowledged.
        while let first = vi.descriptors.first, first.done, first.launched.count == first.plan.count {
            let bytes = first.acknowledgedData
            step.outputs.append(.completion(vi: fields.vi, descriptor: first.id, status: .success, data: bytes))
            vi.descriptors.removeFirst()
            step.rules.append(.reqDescriptorComplete)
        }
        if case .retransmit(let cursor, _) = vi.recovery, !vi.outstanding.contains(where: { $0.serial >= cursor && !$0.acked }),
            !vi.outstanding.contains(where: { $0.serial < cursor && !$0.acked }) {
            vi.recovery = .none
        }
        vis[fields.vi] = vi
        return step
    }

    private mutating func barrierAnswer(_ fields: ResponseFields, ack: Bool, data: [UInt8], packet: SANPacket, path: PathID) -> SANStep {
        guard case .lane(let lane) = packet.acb, var barrier = barriers[Route(path: path, lane: lane)] else {
            return SANStep(outputs: [.discard("barrier response on a route with no barrier")], rules: [.reqMatch])
        }
        let route = Route(path: path, lane: lane)
        switch barrier.phase {
        case .writeSent(_, let tsn, _) where tsn == packet.tsn && fields.control.operation == .rdmaWrite,
             .readSent(_, let tsn, _, _) where tsn == packet.tsn && fields.control.operation == .rdmaWrite:
            return SANStep(rules: [.reqMatch, .reqBarrierForm])
        case .readSent(let number, _, let tsn, _) where tsn == packet.tsn && fields.control.operation == .rdmaRead:
            let read = data.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            if ack, data.count == 8, read == number {
                barrier.phase = .succeeded
                barriers[route] = barrier
                flush(route, before: barrier.flushMark)
                if barrier.probe {
                    barriers[route] = nil
                    paths[path.index] = .restoring
                    return SANStep(rules: [.reqBarrierMatch, .reqReprobe])
                }
                if paths[path.index] == .suspect,
                    !barriers.contains(where: { $0.key.path == path && $0.value.phase != .succeeded }) {
                    paths[path.index] = .good
                }
                return SANStep(rules: [.reqBarrierMatch])
            }
            // Another number (or a refusal): a stale answer fulfilled the read; try again with a new number.
            barrier.phase = .needed
            barriers[route] = barrier
            return SANStep(outputs: [.discard("barrier read returned \(hex64(read)), not \(hex64(number))")],
                           rules: [.reqBarrierMismatchRetry])
        default:
            return SANStep(outputs: [.discard("\(packet.summary) answers no barrier in flight")], rules: [.reqMatch])
        }
    }
}

// MARK: - time

extension SANRequestor {
    mutating func advance(to t: VirtualTime) -> SANStep {
        var step = SANStep()
        guard t > now else { return step }
        now = t
        // Barriers without an answer in time have failed.
        for route in barriers.keys.sorted() {
            guard var barrier = barriers[route], let sent = barrier.sentAt, sent + timers.responseTimeout <= now else { continue }
            if barrier.probe {
                barriers[route] = nil
                nextProbe[route.path.index] = now + timers.probeInterval
                step.rules.append(.reqReprobe)
            } else {
                barrier.phase = .failed
                barriers[route] = barrier
                if paths[route.path.index] != .bad { paths[route.path.index] = .failed }
                step.rules.append(.reqBarrierFailBad)
            }
        }
        // Supervisory messages without an acknowledgement in time: the path they used has failed.
        for tsn in pending.keys.sorted() {
            guard let p = pending[tsn], p.sentAt + timers.responseTimeout <= now else { continue }
            pending[tsn] = nil
            if paths[p.via.index] == .good || paths[p.via.index] == .suspect { paths[p.via.index] = .failed }
            // Model choice (SAN-REQ-SUP-TIMEOUT): path-good unanswered over the path it restores is a failed
            // probe of that path; it is bad again and re-probed after the interval.
            if p.message.op == .pathGood, p.via == p.message.path, paths[p.via.index] == .restoring {
                paths[p.via.index] = .bad
                nextProbe[p.via.index] = now + timers.probeInterval
            }
            step.rules.append(.reqSupervisoryTimeout)
        }
        // Requests without an answer in time start recovery with barriers on every route they could have used.
        for id in vis.keys.sorted() {
            guard var vi = vis[id], !vi.failed else { continue }
            let waiting: (Entry) -> Bool
            switch vi.recovery {
            case .none: waiting = { !$0.acked }
            case .retransmit(let cursor, _): waiting = { !$0.acked && $0.serial < cursor }
            default: continue
            }
            guard vi.outstanding.contains(where: { waiting($0) && $0.sentAt + timers.responseTimeout <= now }) else { continue }
            let routes = vi.routes
            vi.recovery = .barriers(routes)
            for route in routes {
                if barriers[route]?.isInFlight != true { barriers[route] = Barrier(phase: .needed, probe: false) }
                if paths[route.path.index] == .good { paths[route.path.index] = .suspect }
            }
            vis[id] = vi
            step.rules += [.reqTimeout, .reqBarrierAfterTimeout, .reqBarrierEveryLane, .timeoutValues]
        }
        return step
    }

    /// Moves VIs on once the barriers or notifications they wait for are settled.
    mutating func resolveRecoveries(_ step: inout SANStep) {
        for id in vis.keys.sorted() {
            guard var vi = vis[id], !vi.failed else { continue }
            switch vi.recovery {
            case .barriers(let routes):
                // A route is settled by its barrier, or when its path failed some other way, or when no
                // barrier can be run at all (no location agreed and no good path left to agree it on).
                let hopeless = barrierLocation == nil && !paths.contains(where: { $0 == .good || $0 == .suspect })
                let (barrierTable, pathTable) = (barriers, paths)
                let failed = { (r: Route) in
                    barrierTable[r]?.phase == .failed || pathTable[r.path.index] == .failed
                        || pathTable[r.path.index] == .bad || hopeless
                }
                guard routes.allSatisfy({ failed($0) || barriers[$0]?.phase == .succeeded }) else { continue }
                let failedPaths = Set(routes.filter(failed).map(\.path))
                for path in failedPaths where paths[path.index] == .suspect { paths[path.index] = .failed }
                for route in routes { barriers[route] = nil }
                if failedPaths.isEmpty {
                    vi.recovery = .retransmit(cursor: vi.outstanding.first { !$0.acked }?.serial ?? vi.nextSerial, afterNack: false)
                    step.rules.append(.reqTransientSamePath)
                } else {
                    vi.recovery = .notify(failedPaths)
                }
            default:
                break
            }
            // A VI waiting to resend (after a sequence-error NACK, when the requestor chose barriers but no
            // barrier location could be agreed) when every path has failed: the same end as after barriers.
            if case .retransmit(let cursor, _) = vi.recovery, !hasUsablePath,
                vi.outstanding.contains(where: { $0.serial >= cursor && !$0.acked }) {
                vi.recovery = .notify([])
            }
            if case .notify(let failedPaths) = vi.recovery {
                let goodPaths = (0..<4).filter { paths[$0] == .good }
                if failedPaths.allSatisfy({ paths[$0.index] == .bad }) || goodPaths.isEmpty {
                    if let route = vi.orderedRoute, paths[route.path.index] != .good { vi.orderedRoute = nil }
                    if goodPaths.isEmpty {
                        step.rules.append(.reqAllPathsBad)
                        for d in vi.descriptors {
                            step.outputs.append(d.failureCompletion(vi: id, status: .pathFailure))
                        }
                        vi.descriptors = []
                        vi.outstanding = []
                        vi.failed = true
                        vi.recovery = .none
                    } else {
                        vi.recovery = .retransmit(cursor: vi.outstanding.first { !$0.acked }?.serial ?? vi.nextSerial, afterNack: false)
                    }
                }
            }
            if case .retransmit(let cursor, _) = vi.recovery, !vi.outstanding.contains(where: { $0.serial >= cursor && !$0.acked }) {
                vi.recovery = .none
            }
            vis[id] = vi
        }
        holdFailedPathsBad(&step)
    }

    /// Model choice (SAN-REQ-ALL-PATHS-BAD): a failed path stays `failed` until the responder acknowledges
    /// path-bad, which travels over another good path. When no path is good, suspect or restoring, nothing can
    /// carry that message, now or after a barrier; the failure is still permanent, so the requestor updates its
    /// own status and holds the path bad (claim 1: "updating at the source the status for the particular
    /// path"), and re-probes it periodically like any bad path ("periodically repeating the barrier
    /// transaction via the particular path in order to determine if its failure is cured", claim 1). The
    /// responder is told later if at all: path-bad for such a path is allowed while it is bad, not required
    /// (no VI retries on another path: they have all stopped), and path-good after a successful probe
    /// restores it as usual.
    /// Whether some path is good or may become good without a probe (suspect, restoring).
    var hasUsablePath: Bool { paths.contains { $0 == .good || $0 == .suspect || $0 == .restoring } }

    mutating func holdFailedPathsBad(_ step: inout SANStep) {
        guard !hasUsablePath else { return }
        for index in paths.indices where paths[index] == .failed {
            paths[index] = .bad
            unannounced.insert(index)
            nextProbe[index] = now + timers.probeInterval
            step.rules.append(.reqAllPathsBad)
        }
    }
}

extension SANRequestor.VIState {
    /// Every route the VI's unacknowledged packets could have taken (SAN-REQ-BARRIER-EVERY-LANE).
    var routes: Set<Route> {
        var routes: Set<Route> = []
        for e in outstanding where !e.acked { routes.formUnion(Route.routes(path: e.path, acb: e.acb)) }
        if routes.isEmpty, let route = orderedRoute { routes.insert(route) }
        return routes
    }

    var isAfterNack: Bool {
        if case .retransmit(_, true) = recovery { return true }
        return false
    }
}

extension SANRequestor.Posted {
    /// Every packet launched and positively acknowledged.
    var fullyAcknowledged: Bool { done && launched.count == plan.count }

    /// The data of the packets acknowledged so far, in packet order (an RDMA read's result).
    var acknowledgedData: [UInt8] { plan.indices.flatMap { data[$0] ?? [] } }

    /// The completion of a descriptor still queued when its VI stops after an error (SAN-REQ-NACK-FAIL,
    /// SAN-REQ-ALL-PATHS-BAD). Model choice: a descriptor whose every packet was already positively
    /// acknowledged is done (SAN-REQ-DESC-COMPLETE, col. 9 ll. 45-47) and completes successfully, in its
    /// turn, with its data; the others complete with `status`. Reporting a failure for a Send the responder
    /// has acknowledged would invite the consumer to post it again and deliver it twice.
    func failureCompletion(vi: UInt16, status: CompletionStatus) -> SANOutput {
        fullyAcknowledged
            ? .completion(vi: vi, descriptor: id, status: .success, data: acknowledgedData)
            : .completion(vi: vi, descriptor: id, status: status, data: [])
    }
}

extension SANRequestor.Barrier {
    var isInFlight: Bool {
        switch phase {
        case .writeSent, .readSent: return true
        default: return false
        }
    }

    var sentAt: VirtualTime? {
        switch phase {
        case .writeSent(_, _, let at), .readSent(_, _, _, let at): return at
        default: return nil
        }
    }
}

extension Request {
    /// Same packet of a descriptor: everything but the sequence number and VI, which are set at launch.
    func sameContent(as other: Request) -> Bool {
        kind == other.kind && ordered == other.ordered && first == other.first && last == other.last
    }

    var brief: String {
        switch kind {
        case .send(let d, _): return "send \(d.count)B\(first ? " FIRST" : "")\(last ? " LAST" : "")"
        case .rdmaWrite(let a, let d): return "rdma-write \(d.count)B at 0x\(String(a, radix: 16))"
        case .rdmaRead(let a, let n): return "rdma-read \(n)B at 0x\(String(a, radix: 16))"
        }
    }
}

/// A TSN together with the requestor port it was used on (TSNs are per port).
func portTSN(_ tsn: UInt16, _ port: UInt8) -> UInt32 { UInt32(port & 1) << 16 | UInt32(tsn) }

func hex64(_ v: UInt64) -> String { "0x" + String(v, radix: 16, uppercase: true) }
