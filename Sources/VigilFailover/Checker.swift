import VigilCore

/// An invariant broken during a run, named by the rule it breaks.
public struct Violation: Sendable, Hashable, CustomStringConvertible {
    public var rule: FailoverRule
    public var at: VirtualTime
    public var detail: String
    public var description: String { "\(rule.rawValue) at \(at): \(detail)" }
}

/// The safety and liveness checker of the pair. It watches the world from outside the nodes, with its
/// own plain statement of each rule, and reports every breach under a rule id.
public struct SafetyChecker: Sendable {
    /// FO-LIVENESS-TAKEOVER: silence limit (5 s) + takeover wait (1 s) + ticks, delivery and injected
    /// delay (≤ 0.7 s) + margin.
    public static let livenessBound: VirtualTime = .seconds(8)

    public private(set) var violations: [Violation] = []
    public private(set) var trace = RuleTrace<FailoverRule>()
    /// True once all six channel directions were cut at the same time (FO-WORLD-FAULT-HYPOTHESIS).
    public private(set) var leftFaultHypothesis = false

    private var channelHighWater: [[Stamp]] = [[.zero, .zero, .zero], [.zero, .zero, .zero]]
    private var lastDelivered: [[VirtualTime]] = [[.zero, .zero, .zero], [.zero, .zero, .zero]]
    private var normalSince: [VirtualTime] = [.zero, .zero]
    private var lastGeneration: [UInt32?] = [nil, nil]
    private var peerDownSince: [VirtualTime?] = [nil, nil]
    private var enabledSince: [VirtualTime?] = [nil, nil]
    private var livenessReported: [Bool] = [false, false]
    private var splitBrainReported = false
    /// Operator commands and reboots seen so far; a second takeover needs this to have moved.
    private var interventions = 0
    private var interventionsAtTakeover: [Int?] = [nil, nil]
    private var pendingStale: (node: NodeID, before: ProtocolState, stale: Bool, stamp: Stamp, mostRecent: Stamp)? = nil

    public init() {}

    mutating func report(_ rule: FailoverRule, _ now: VirtualTime, _ detail: String) {
        violations.append(Violation(rule: rule, at: now, detail: detail))
    }

    /// Before a node reads bytes from a channel: record the plain newness verdict and the node's state.
    mutating func willDeliver(_ bytes: [UInt8], via channel: Channel, to node: FailoverNode, at now: VirtualTime) {
        pendingStale = nil
        guard let carriage = try? Carriage(decoding: bytes, channel: channel), carriage.writer == node.id.peer
        else { return }
        let stamp = carriage.message.stamp
        let n = Int(node.id.rawValue)
        let c = Int(channel.rawValue)
        if stamp.isNew(after: channelHighWater[n][c]) {
            channelHighWater[n][c] = stamp
            lastDelivered[n][c] = now
        }
        pendingStale = (node.id, node.protocolState, !stamp.isNew(after: node.mostRecentNew), stamp, node.mostRecentNew)
    }

    /// After the node read it: a message that is not new must not have changed its state (FO-MSG-IGNORE-OLD,
    /// judged by the plain newness rule FO-MSG-NEWNESS).
    mutating func didDeliver(to node: FailoverNode, at now: VirtualTime) {
        guard let p = pendingStale, p.node == node.id else { return }
        pendingStale = nil
        trace.note(.msgIgnoreOld)
        if p.stale, node.protocolState != p.before {
            report(
                .msgNewness, now,
                "node \(node.id) changed state on message \(p.stamp), which is not new after \(p.mostRecent): \(p.before.phase) → \(node.phase)")
        }
    }

    mutating func onTransition(_ t: Transition, of node: FailoverNode, at now: VirtualTime) {
        let n = Int(node.id.rawValue)
        switch t {
        case .t242, .t221Complete:
            normalSince[n] = now
        case .t212Begin:
            // FO-TAKEOVER-SILENCE: every channel silent for the multiple of its time-out, as the checker saw
            // the deliveries.
            trace.note(.takeoverSilence)
            for channel in Channel.allCases {
                let c = Int(channel.rawValue)
                let last = max(lastDelivered[n][c], normalSince[n])
                let silence = now.nanoseconds &- last.nanoseconds
                if silence < node.configuration.silenceLimit(channel).nanoseconds {
                    report(
                        .takeoverSilence, now,
                        "node \(node.id) began takeover with \(channel) silent only \(VirtualTime(nanoseconds: silence)) (needs \(node.configuration.silenceLimit(channel)))")
                    break
                }
            }
        case .t212Complete:
            trace.note(.noCycling)
            if let before = interventionsAtTakeover[n], before == interventions {
                report(.noCycling, now, "node \(node.id) took over again with no operator command or reboot since its last takeover")
            }
            interventionsAtTakeover[n] = interventions
        case .step(.s251):
            trace.note(.genIncrementAtBoot)
            if let last = lastGeneration[n], node.generation <= last {
                report(.genIncrementAtBoot, now, "node \(node.id) booted with generation \(node.generation) after \(last)")
            }
            lastGeneration[n] = node.generation
        case .t231:
            interventions += 1
        default:
            break
        }
    }

    mutating func onIntervention() { interventions += 1 }

    /// After every world event: split brain, liveness, the fault hypothesis.
    mutating func afterEvent(nodes: [FailoverNode], disks: [Disk], allCut: Bool, at now: VirtualTime) {
        if allCut, !leftFaultHypothesis {
            leftFaultHypothesis = true
            trace.note(.worldFaultHypothesis)
        }
        // FO-NO-SPLIT-BRAIN: no disk controlled by both nodes at once.
        trace.note(.noSplitBrain)
        if !leftFaultHypothesis, !splitBrainReported {
            let a = nodes[0].servedDisks
            let b = nodes[1].servedDisks
            if let disk = a.first(where: { b.contains($0) }) {
                splitBrainReported = true
                let holder = disks[disk].reservedBy.map { "\($0)" } ?? "nobody"
                report(
                    .noSplitBrain, now,
                    "disk \(disk) controlled by a (\(nodes[0].phase)) and b (\(nodes[1].phase)); reserved by \(holder)")
            }
        }
        // FO-LIVENESS-TAKEOVER.
        trace.note(.livenessTakeover)
        for node in nodes {
            let n = Int(node.id.rawValue)
            let peer = nodes[Int(node.id.peer.rawValue)]
            if case .stopped = peer.phase {
                if peerDownSince[n] == nil { peerDownSince[n] = now }
            } else {
                peerDownSince[n] = nil
            }
            let enabled: Bool
            switch node.phase {
            case .normal, .takingOver: enabled = node.takeoverEnabled
            default: enabled = false
            }
            if enabled {
                if enabledSince[n] == nil { enabledSince[n] = now }
            } else {
                enabledSince[n] = nil
            }
            if let down = peerDownSince[n], let since = enabledSince[n], !livenessReported[n] {
                let start = max(down, since)
                if now.nanoseconds > start.nanoseconds &+ Self.livenessBound.nanoseconds {
                    livenessReported[n] = true
                    report(
                        .livenessTakeover, now,
                        "node \(node.id) has not taken over \(Self.livenessBound) after its peer stopped (\(down)) with takeover enabled (since \(since))")
                }
            }
        }
    }
}
