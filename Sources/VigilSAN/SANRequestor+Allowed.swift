import VigilCore

/// What the requestor may send next, and the model's own pick among it. `allowances()` is the one list
/// both the divergence reports (`allowedSummary`) and the reference requestor (`proposal`) read.
extension SANRequestor {
    enum Allowance: Hashable, Sendable, CustomStringConvertible {
        case barrierLocation
        case barrierWrite(Route, probe: Bool)
        case barrierRead(Route)
        case pathBad(PathID)
        case pathGood(PathID)
        case resend(vi: UInt16, serial: Int)
        case launch(vi: UInt16, descriptor: Int, index: Int)

        var description: String {
            switch self {
            case .barrierLocation: return "barrier-location over a good path"
            case .barrierWrite(let r, let probe): return "\(probe ? "probe " : "")barrier write on \(r)"
            case .barrierRead(let r): return "barrier read on \(r)"
            case .pathBad(let p): return "path-bad for \(p) over another good path"
            case .pathGood(let p): return "path-good for \(p)"
            case .resend(let vi, let serial): return "resend of VI \(vi) packet #\(serial)"
            case .launch(let vi, let d, let i): return "VI \(vi) descriptor \(d) packet \(i)"
            }
        }
    }

    var goodPaths: [PathID] { PathID.allCases.filter { paths[$0.index] == .good } }

    func allowances() -> [Allowance] {
        var out: [Allowance] = []
        let barrierWanted = barriers.values.contains { $0.phase == .needed }
        // The location travels over a good path, or a suspect one when no good one is left; with neither
        // (every path held bad) it cannot be agreed, and nothing is required.
        if barrierLocation == nil, barrierWanted || paths.contains(.bad),
            paths.contains(where: { $0 == .good || $0 == .suspect }),
            !pending.values.contains(where: { $0.message.op == .barrierLocation }) {
            out.append(.barrierLocation)
        }
        if barrierLocation != nil {
            for route in barriers.keys.sorted() {
                switch barriers[route]!.phase {
                case .needed: out.append(.barrierWrite(route, probe: barriers[route]!.probe))
                case .writeSent: out.append(.barrierRead(route))
                default: break
                }
            }
            for path in PathID.allCases where paths[path.index] == .bad && now >= nextProbe[path.index, default: .zero]
                && !barriers.contains(where: { $0.key.path == path }) {
                out.append(.barrierWrite(Route(path: path, lane: 0), probe: true))
            }
        }
        for path in PathID.allCases {
            let pendingFor = { (op: SupervisoryOp) in self.pending.values.contains { $0.message.op == op && $0.message.path == path } }
            if paths[path.index] == .failed, !pendingFor(.pathBad), goodPaths.contains(where: { $0 != path }) {
                out.append(.pathBad(path))
            }
            if paths[path.index] == .restoring, !pendingFor(.pathGood) { out.append(.pathGood(path)) }
        }
        for id in vis.keys.sorted() {
            let vi = vis[id]!
            guard !vi.failed else { continue }
            switch vi.recovery {
            case .retransmit(let cursor, _):
                if let e = vi.outstanding.first(where: { $0.serial >= cursor && !$0.acked }) {
                    out.append(.resend(vi: id, serial: e.serial))
                }
            case .none:
                guard vi.outstanding.count < SequenceNumber.window,
                    let d = vi.descriptors.firstIndex(where: { $0.launched.count < $0.plan.count }) else { continue }
                let posted = vi.descriptors[d]
                if posted.launched.isEmpty, vi.descriptors[..<d].contains(where: { $0.descriptor.waitsForAcks && !$0.done }) {
                    continue
                }
                if let index = posted.plan.indices.first(where: { !posted.launched.contains($0) }) {
                    out.append(.launch(vi: id, descriptor: posted.id, index: index))
                }
            default:
                continue
            }
        }
        return out
    }

    /// The allowed set in words, for divergence reports.
    public func allowedSummary() -> [String] { allowances().map(\.description) }

    /// The next packet the model itself would send, as bytes and the port it leaves by; nil when it has
    /// nothing to send now (it is waiting for answers or for time to pass). Policy, where the patent leaves
    /// a choice: the lowest good path, lane 0 for ordered traffic, unordered packets spread over the good
    /// paths with adaptive routing, TSNs counting up per port, barrier numbers made of the requestor's SNID
    /// and a counter (US 6,545,981 summary: "based on the requestor ID and an incrementing component").
    public func proposal() -> (bytes: [UInt8], port: UInt8)? {
        guard let first = allowances().first else { return nil }
        if first == .barrierLocation {
            // The location may be agreed over a suspect path when no good one is left.
            guard let via = goodPaths.first ?? PathID.allCases.first(where: { paths[$0.index] == .suspect }) else { return nil }
            let (vi, address) = proposedBarrierLocation
            let tsn = freeTSN(port: via.requestorPort)
            let packet = config.packet(fromPort: via.requestorPort, toPeerPort: via.responderPort, acb: .lane(0), tsn: tsn,
                                       body: .supervisory(Supervisory(op: .barrierLocation, vi: vi, address: address)))
            return (packet.encode(), via.requestorPort)
        }
        // Barriers run on the route they test, good or not; everything else needs a good path.
        let firstGood = goodPaths.first
        func out(_ path: PathID, _ acb: AdaptiveControl, _ body: PacketBody) -> (bytes: [UInt8], port: UInt8) {
            let tsn = freeTSN(port: path.requestorPort)
            let packet = config.packet(fromPort: path.requestorPort, toPeerPort: path.responderPort, acb: acb, tsn: tsn, body: body)
            return (packet.encode(), path.requestorPort)
        }
        switch first {
        case .barrierLocation:
            return nil
        case .barrierWrite(let route, _):
            guard let location = barrierLocation else { return nil }
            var counter = nextBarrierCounter
            var number = UInt64(config.ports[0].value) << 40 | counter
            while usedBarrierNumbers.contains(number) {
                counter += 1
                number = UInt64(config.ports[0].value) << 40 | counter
            }
            let data = (0..<8).map { UInt8(truncatingIfNeeded: number >> (56 - 8 * $0)) }
            let request = Request(kind: .rdmaWrite(address: location.address, data: data), ordered: false, sequence: 0, vi: location.vi)
            return out(route.path, .lane(route.lane), .request(request))
        case .barrierRead(let route):
            guard let location = barrierLocation else { return nil }
            let request = Request(kind: .rdmaRead(address: location.address, length: 8), ordered: false, sequence: 0, vi: location.vi)
            return out(route.path, .lane(route.lane), .request(request))
        case .pathBad(let path):
            guard let via = goodPaths.first(where: { $0 != path }) else { return nil }
            return out(via, .lane(0), .supervisory(Supervisory(op: .pathBad, path: path)))
        case .pathGood(let path):
            // Over a good path, or the restored one itself when none is good.
            return out(firstGood ?? path, .lane(0), .supervisory(Supervisory(op: .pathGood, path: path)))
        case .resend(let id, let serial):
            guard let firstGood, let vi = vis[id], let e = vi.outstanding.first(where: { $0.serial == serial }) else { return nil }
            if e.request.ordered {
                let route = vi.orderedRoute ?? Route(path: firstGood, lane: 0)
                return out(route.path, .lane(route.lane), .request(e.request))
            }
            let path = paths[e.path.index] == .good ? e.path : firstGood
            return out(path, e.acb, .request(e.request))
        case .launch(let id, let descriptorID, let index):
            guard let firstGood, let vi = vis[id], let posted = vi.descriptors.first(where: { $0.id == descriptorID }) else { return nil }
            var request = posted.plan[index]
            request.sequence = vi.nextSeq
            request.vi = id
            if request.ordered {
                let route = vi.orderedRoute ?? Route(path: firstGood, lane: 0)
                return out(route.path, .lane(route.lane), .request(request))
            }
            let good = goodPaths
            return out(good[index % good.count], .adaptive, .request(request))
        }
    }

    /// The next TSN on a port that nothing outstanding uses.
    func freeTSN(port: UInt8) -> UInt16 {
        var tsn = nextTSN[Int(port)]
        while tsnClash(tsn, port: port) != nil || usedByEntries(tsn, port: port) {
            tsn = tsn == UInt16.max ? 1 : tsn + 1
        }
        return tsn
    }

    private func usedByEntries(_ tsn: UInt16, port: UInt8) -> Bool {
        vis.values.contains { $0.outstanding.contains { $0.transmissions.contains { $0.tsn == portTSN(tsn, port) } } }
    }

    /// The earliest instant at which something is due (a time-out or a probe), nil when nothing waits.
    public func nextDeadline() -> VirtualTime? {
        var times: [VirtualTime] = []
        for b in barriers.values { if let at = b.sentAt { times.append(at + timers.responseTimeout) } }
        for vi in vis.values where !vi.failed {
            switch vi.recovery {
            case .none:
                times += vi.outstanding.filter { !$0.acked }.map { $0.sentAt + timers.responseTimeout }
            case .retransmit(let cursor, _):
                times += vi.outstanding.filter { !$0.acked && $0.serial < cursor }.map { $0.sentAt + timers.responseTimeout }
            default:
                break
            }
        }
        for (index, t) in nextProbe where paths[index] == .bad { times.append(t) }
        for p in pending.values { times.append(p.sentAt + timers.responseTimeout) }
        return times.filter { $0 > now }.min()
    }
}

extension SANRequestor {
    /// The rule that requires the next thing the model would send, nil when nothing is required now. A node
    /// that stays silent while this is non-nil has missed a required output.
    public func requiredRule() -> SANRule? {
        guard let first = allowances().first else { return nil }
        switch first {
        case .barrierLocation: return .reqBarrierForm
        case .barrierWrite(_, let probe): return probe ? .reqReprobe : .reqBarrierAfterTimeout
        case .barrierRead: return .reqBarrierForm
        case .pathBad: return .reqNotifyBeforeRetry
        case .pathGood: return .reqReprobe
        case .resend: return .reqRetransmitEarliest
        case .launch: return .reqPacketize
        }
    }
}
