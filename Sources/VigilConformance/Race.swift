import VigilAdapters
import VigilCore
import VigilFailover

/// A race: two failover-node IUTs (node A and node B, the same implementation twice or two different ones)
/// sharing the world of US 6,119,244 FIG. 1 that the kit simulates between them: the mailbox disks with
/// their regions and reservations, each node's persistent memory reached over the SAN, the network, the
/// operator and the clock. Each node is judged by its own `FailoverNodeOracle`, whose "peer" is the other
/// IUT: what one node writes or sends is relayed to the other through the channels, with the faults the
/// schedule puts on each channel direction. The pair as a whole is watched by `PairWatch` (split brain,
/// bounded takeover, no cycling).
///
/// A schedule is a script (`@role race`, specs/script.md):
///
///     0.000000 > command a|b boot|reboot|disable|enable|giveback|stop
///     0.000000 > channel cut|heal mailbox|san|network [from=a|b]
///     0.000000 > channel drop|duplicate|reorder|corrupt|delay mailbox|san|network [from=a|b] [count=N] [ms=N] [byte=N]
///     0.000000 > disk fence|unfence disks=N[,M…]
///
/// Both nodes are booted at time 0 (node A first) before the schedule's first line (model choice).
public final class RaceRunner {
    public static let role = "race"
    public let limits: AdapterLimits
    private let makeTransports: [() -> any FrameTransport]
    private var sessions: [AdapterSession?] = [nil, nil]
    /// Set when an IUT could not be started or failed the handshake the first time: (node, failure).
    public private(set) var startFailure: (node: NodeID, failure: AdapterFailure)?
    public private(set) var identities: [IUTIdentity?] = [nil, nil]

    /// `a` and `b` start node A's and node B's IUT.
    public init(limits: AdapterLimits = AdapterLimits(), a: @escaping () -> any FrameTransport, b: @escaping () -> any FrameTransport) {
        self.limits = limits
        makeTransports = [a, b]
    }

    deinit { closeSessions() }

    public func closeSessions() {
        for i in 0..<2 {
            sessions[i]?.close()
            sessions[i] = nil
        }
    }

    private func session(_ node: NodeID) throws(AdapterFailure) -> AdapterSession {
        let n = Int(node.rawValue)
        if let s = sessions[n] { return s }
        let s = AdapterSession(transport: makeTransports[n](), limits: limits)
        do {
            identities[n] = try s.open(role: .failoverNode, options: FailoverNodeOracle(node: node).helloOptions)
        } catch {
            s.close()
            if identities[n] == nil, startFailure == nil { startFailure = (node, error) }
            throw error
        }
        sessions[n] = s
        return s
    }

    /// Runs one schedule. With `recording` off no transcript is kept (exploration and shrinking).
    public func run(_ script: Script, recording: Bool = true, budget: Int = CaseIO.defaultBudget) -> RaceResult {
        var ios: [CaseIO] = []
        for node in NodeID.allCases {
            do {
                let s = try session(node)
                try s.reset()
                var io = CaseIO(session: s, transcript: Script(preface: [], headers: []))
                io.recording = recording
                io.budget = budget
                ios.append(io)
            } catch {
                closeSessions()
                return RaceResult(verdict: Race.attribute(.error(error.divergence(at: nil)), to: node), node: node, transcripts: [], timeline: [],
                                  stimuli: 0, coverage: [], budgetExhausted: false)
            }
        }
        var race = Race(ios: ios)
        let verdict = race.drive(script)
        // The conversation with a node broke down: both start afresh for the next schedule.
        if verdict.brokeConversation { closeSessions() }
        return RaceResult(verdict: verdict.verdict, node: verdict.node, transcripts: race.ios.map(\.transcript), timeline: race.timeline,
                          stimuli: race.ios.map(\.stimuli).reduce(0, +), virtualTime: race.now, coverage: race.coverage,
                          budgetExhausted: race.exhausted)
    }
}

/// What a race came to.
public struct RaceResult: Sendable {
    public var verdict: Verdict
    /// The node a per-node divergence belongs to; nil for a violation of the pair (or a pass).
    public var node: NodeID?
    /// Each node's transcript (stimuli the kit gave it, what it did), when recorded.
    public var transcripts: [Script]
    /// Every STATE change of either node, in order: the report's side-by-side view.
    public var timeline: [RaceTimelineEntry]
    public var stimuli: Int
    /// How far the race ran in virtual time.
    public var virtualTime: VirtualTime = .zero
    /// FIG. 2 states, steps and transitions either node reported, and the pair situations reached.
    public var coverage: Set<String>
    public var budgetExhausted: Bool
}

public struct RaceTimelineEntry: Sendable, Hashable {
    public var time: VirtualTime
    public var node: NodeID
    public var state: String
}

/// One race in progress: the two oracles, their IUTs, the channels between them.
struct Race {
    var oracles = [FailoverNodeOracle(node: .a), FailoverNodeOracle(node: .b)]
    var ios: [CaseIO]
    var now = VirtualTime.zero
    var watch = PairWatch()
    var timeline: [RaceTimelineEntry] = []
    var exhausted = false
    var currentLine = Script.Line(time: .zero, direction: .stimulus, verb: "time", argument: "")

    /// A fault waiting for the next carrier on one channel direction.
    enum Fault: Hashable {
        case drop, duplicate, reorder
        case corrupt(byte: Int)
        case delay(VirtualTime)
    }

    /// One channel in one direction (from the writer): [channel][from].
    struct Link {
        var cut = false
        var faults: [Fault] = []
        var held: FailoverNodeOracle.Relay? = nil
    }

    var links: [[Link]] = Array(repeating: [Link(), Link()], count: Channel.allCases.count)

    /// Relays on their way: delivered to `to` at `at` (in the order they were sent).
    struct InFlight {
        var at: VirtualTime
        var order: Int
        var to: NodeID
        var relay: FailoverNodeOracle.Relay
    }

    var inFlight: [InFlight] = []
    var order = 0

    init(ios: [CaseIO]) {
        self.ios = ios
        for i in 0..<2 { oracles[i].relaying = true }
    }

    var coverage: Set<String> { oracles[0].coverage.union(oracles[1].coverage).union(watch.coverage) }

    struct Outcome {
        var verdict: Verdict
        var node: NodeID?
        /// An adapter failure: the node's session is no longer usable.
        var brokeConversation = false
    }

    mutating func drive(_ script: Script) -> Outcome {
        do {
            // Both nodes power on at time 0, node A first.
            for node in NodeID.allCases {
                let line = Script.Line(time: .zero, direction: .stimulus, verb: "command", argument: "\(node) boot")
                if let o = try command(.boot, node: node, line: line) { return o }
            }
            for line in script.lines where line.direction == .stimulus {
                currentLine = line
                if let o = try advance(to: line.time) { return o }
                currentLine = line
                do {
                    if let o = try perform(line) { return o }
                } catch let error as CaseError {
                    return Outcome(verdict: .error(CaseIO.scriptError(error)), node: nil)
                }
            }
            let last = script.lines.last ?? currentLine
            let run = script[header: "run"].flatMap(Double.init) ?? 1.0
            let end = VirtualTime(nanoseconds: last.time.nanoseconds + UInt64(min(max(0, run), 3600) * 1e9))
            currentLine = last
            return try advance(to: end) ?? Outcome(verdict: .pass, node: nil)
        } catch let failure as AdapterFailure {
            let node = lastNode ?? .a
            if ios[0].exhausted || ios[1].exhausted {
                exhausted = true
                return Outcome(verdict: .notApplicable("inconclusive: the race ran past the kit's budget of \(ios[0].budget) stimuli per node at "
                                                       + "line \(currentLine.lineNumber), \(now) (the nodes and the simulated world kept exchanging)"),
                               node: nil)
            }
            return Outcome(verdict: Self.attribute(.error(failure.divergence(at: currentLine)), to: node), node: node, brokeConversation: true)
        } catch {
            return Outcome(verdict: .error(CaseIO.scriptError(CaseError(line: currentLine.lineNumber, "\(error)"))), node: nil)
        }
    }

    /// The node the kit last gave a stimulus to (an adapter failure is that node's).
    var lastNode: NodeID? = nil

    // MARK: Time

    /// Runs both nodes and the channels forward to `limit`. At each instant: relays due, then node A, then
    /// node B; then the pair is checked.
    mutating func advance(to limit: VirtualTime) throws -> Outcome? {
        while true {
            // (Index by index: iterating the oracles would copy them.)
            let dues = [oracles[0].nextDue(), oracles[1].nextDue()]
            var next = inFlight.lazy.map(\.at).min()
            for due in dues { if let due, next.map({ due < $0 }) ?? true { next = due } }
            guard let t = next, t <= limit else { break }
            now = max(now, t)
            deliverDue()
            for node in NodeID.allCases {
                let n = Int(node.rawValue)
                // A relay just delivered can only be a datagram due later (latency), so the due times hold.
                guard let due = dues[n], due <= now else { continue }
                if let o = try step(node, { (oracle: inout FailoverNodeOracle, io: inout CaseIO) throws(AdapterFailure) -> Verdict? in
                    try oracle.settle(until: t, &io)
                }) { return o }
            }
        }
        now = max(now, limit)
        deliverDue()
        for node in NodeID.allCases {
            if let o = try step(node, { (oracle: inout FailoverNodeOracle, io: inout CaseIO) throws(AdapterFailure) -> Verdict? in
                try oracle.settle(until: limit, &io)
            }) { return o }
        }
        return nil
    }

    /// Runs `body` on one node's oracle, then relays what its IUT made visible and checks the pair.
    mutating func step(_ node: NodeID, _ body: (inout FailoverNodeOracle, inout CaseIO) throws(AdapterFailure) -> Verdict?) throws -> Outcome? {
        let n = Int(node.rawValue)
        lastNode = node
        let before = oracles[n].reportedState, enabledBefore = oracles[n].reportedEnabled
        let verdict = try body(&oracles[n], &ios[n])
        if let verdict { return Outcome(verdict: Self.attribute(verdict, to: node), node: node) }
        var changed = false
        if !oracles[n].outbox.isEmpty {
            let relays = oracles[n].outbox
            oracles[n].outbox.removeAll()
            for r in relays {
                if r.channel == nil { changed = true }
                send(r, from: node)
            }
        }
        if oracles[n].reportedState != before, let state = oracles[n].reportedState {
            timeline.append(RaceTimelineEntry(time: oracles[n].now, node: node, state: oracles[n].stateSummary))
            watch.changed(node, to: state, at: oracles[n].now, peer: oracles[Int(node.peer.rawValue)].reportedState)
            changed = true
        }
        if oracles[n].reportedState != before || oracles[n].reportedEnabled != enabledBefore {
            watch.standing(node, normalAndEnabled: oracles[n].reportedState == .normal && oracles[n].reportedEnabled, at: oracles[n].now)
        }
        if let v = watch.check(oracles, changed: changed, allCut: allCut, at: oracles[n].now, line: currentLine.lineNumber) {
            return Outcome(verdict: v, node: nil)
        }
        return nil
    }

    /// A node's verdict, its texts naming the node.
    static func attribute(_ v: Verdict, to node: NodeID) -> Verdict {
        switch v {
        case .fail(var d):
            d.expected = "node \(node): " + d.expected
            d.observed = "node \(node): " + d.observed
            return .fail(d)
        case .error(var d):
            d.observed = "node \(node): " + d.observed
            return .error(d)
        case .notApplicable(let why):
            return .notApplicable("node \(node): " + why)
        case .pass:
            return .pass
        }
    }

    mutating func command(_ c: AdapterCommand, node: NodeID, line: Script.Line) throws -> Outcome? {
        if c != .boot || now > .zero { watch.intervention() }
        return try step(node) { (oracle: inout FailoverNodeOracle, io: inout CaseIO) throws(AdapterFailure) -> Verdict? in
            try oracle.command(c, line: line, &io)
        }
    }

    // MARK: Channels

    var allCut: Bool { links.allSatisfy { $0[0].cut && $0[1].cut } }

    /// A relay from `from` enters its channel: reservations act at once (the kit's disks are one for both
    /// nodes); carriers meet the faults of their channel direction, then travel.
    mutating func send(_ relay: FailoverNodeOracle.Relay, from: NodeID) {
        guard let channel = relay.channel else {
            oracles[Int(from.peer.rawValue)].receive(relay, at: now)
            return
        }
        let c = Int(channel.rawValue), f = Int(from.rawValue)
        if links[c][f].cut { return }
        let latency = channel == .network ? FailoverNodeOracle.netLatency : .zero
        let fault = links[c][f].faults.isEmpty ? nil : links[c][f].faults.removeFirst()
        switch fault {
        case nil:
            travel(relay, to: from.peer, after: latency)
        case .drop:
            return
        case .duplicate:
            travel(relay, to: from.peer, after: latency)
            travel(relay, to: from.peer, after: latency + World.duplicateGap)
        case .delay(let d):
            travel(relay, to: from.peer, after: latency + min(d, World.maximumInjectedDelay))
        case .corrupt(let byte):
            travel(Self.corrupted(relay, byte: byte), to: from.peer, after: latency)
        case .reorder:
            if let older = links[c][f].held { travel(older, to: from.peer, after: latency) }
            links[c][f].held = relay
            return
        }
        if let held = links[c][f].held {
            links[c][f].held = nil
            travel(held, to: from.peer, after: latency + .microseconds(1))
        }
    }

    mutating func travel(_ relay: FailoverNodeOracle.Relay, to: NodeID, after delay: VirtualTime) {
        inFlight.append(InFlight(at: now + delay, order: order, to: to, relay: relay))
        order += 1
    }

    mutating func deliverDue() {
        guard inFlight.contains(where: { $0.at <= now }) else { return }
        let due = inFlight.filter { $0.at <= now }.sorted { $0.order < $1.order }
        inFlight.removeAll { $0.at <= now }
        for d in due { oracles[Int(d.to.rawValue)].receive(d.relay, at: d.at) }
    }

    static func corrupted(_ relay: FailoverNodeOracle.Relay, byte: Int) -> FailoverNodeOracle.Relay {
        func flip(_ b: [UInt8]) -> [UInt8] {
            guard !b.isEmpty else { return b }
            var b = b
            b[((byte % b.count) + b.count) % b.count] ^= 0x01
            return b
        }
        switch relay {
        case .network(let b): return .network(flip(b))
        case .san(let b): return .san(flip(b))
        case .region(let disk, let b): return .region(disk: disk, flip(b))
        default: return relay
        }
    }

    // MARK: Schedule lines

    mutating func perform(_ line: Script.Line) throws -> Outcome? {
        let args = Arguments(Substring(line.argument))
        let words = args.words
        switch line.verb {
        case "command":
            guard words.count == 2, let node = NodeID(name: words[0]), let c = FailoverNodeOracle.commands[words[1]] else {
                throw CaseError(line: line.lineNumber, "command lines are: command a|b boot|reboot|disable|enable|giveback|stop")
            }
            return try command(c, node: node, line: line)
        case "channel":
            guard words.count == 2, let channel = Channel.allCases.first(where: { $0.description == words[1] }) else {
                throw CaseError(line: line.lineNumber, "channel lines are: channel ACTION mailbox|san|network [from=a|b] …")
            }
            let from: [NodeID]
            switch args.values["from"] {
            case nil: from = NodeID.allCases
            case let name?:
                guard let node = NodeID(name: name) else { throw CaseError(line: line.lineNumber, "from= is a or b, not \(name)") }
                from = [node]
            }
            let count: Int = args.values["count"] == nil ? 1 : try args.number("count", line: line.lineNumber)
            guard (1...10_000).contains(count) else { throw CaseError(line: line.lineNumber, "count= is 1 to 10000") }
            let fault: Fault?
            switch words[0] {
            case "cut", "heal": fault = nil
            case "drop": fault = .drop
            case "duplicate": fault = .duplicate
            case "reorder": fault = .reorder
            case "corrupt": fault = .corrupt(byte: args.values["byte"] == nil ? 0 : try args.number("byte", line: line.lineNumber))
            case "delay":
                let ms: UInt64 = try args.number("ms", line: line.lineNumber)
                fault = .delay(.milliseconds(min(ms, 400)))
            default:
                throw CaseError(line: line.lineNumber, "channel actions are cut, heal, drop, duplicate, reorder, corrupt and delay")
            }
            for node in from {
                let c = Int(channel.rawValue), f = Int(node.rawValue)
                switch words[0] {
                case "cut": links[c][f].cut = true
                case "heal": links[c][f].cut = false
                default: links[c][f].faults += Array(repeating: fault!, count: count)
                }
            }
            record(line)
        case "disk":
            guard let action = words.first, action == "fence" || action == "unfence" else {
                throw CaseError(line: line.lineNumber, "disk lines are: disk fence|unfence disks=N[,M…]")
            }
            for n in 0..<2 { try oracles[n].diskAction(action, args, line: line.lineNumber) }
            record(line)
        case "time":
            record(line)
        default:
            throw CaseError(line: line.lineNumber, "race lines are: command, channel, disk, time")
        }
        return nil
    }

    /// A world line goes into both nodes' transcripts.
    mutating func record(_ line: Script.Line) {
        for n in 0..<2 { ios[n].record(line) }
    }
}

extension NodeID {
    /// "a" or "b".
    init?(name: String) {
        switch name.lowercased() {
        case "a": self = .a
        case "b": self = .b
        default: return nil
        }
    }
}

/// The pair's own invariants, watched from outside both nodes after every step (US 6,119,244: the goal
/// of the protocol is that exactly one server controls each disk, and that a stopped server's disks are
/// taken over).
struct PairWatch {
    private var stoppedSince: [VirtualTime?] = [nil, nil]
    /// Since when each node has been in NORMAL with takeover enabled (a reboot starts it again: the
    /// node's silence time-outs count from its boot).
    private var readySince: [VirtualTime?] = [nil, nil]
    private var interventions = 0
    private var interventionsAtTakeover: [Int?] = [nil, nil]
    private var leftFaultHypothesis = false
    private var cycling: (node: NodeID, at: VirtualTime)? = nil
    private(set) var coverage: Set<String> = []

    mutating func intervention() { interventions += 1 }

    mutating func standing(_ node: NodeID, normalAndEnabled: Bool, at now: VirtualTime) {
        let n = Int(node.rawValue)
        if !normalAndEnabled {
            readySince[n] = nil
        } else if readySince[n] == nil {
            readySince[n] = now
        }
    }

    mutating func changed(_ node: NodeID, to state: NodeState, at now: VirtualTime, peer: NodeState?) {
        let n = Int(node.rawValue)
        let mine = "\(state.rawValue)", theirs = peer.map { "\($0.rawValue)" } ?? "-"
        coverage.insert(node == .a ? "pair:\(mine)/\(theirs)" : "pair:\(theirs)/\(mine)")
        stoppedSince[n] = state == .stopped ? now : nil
        if state == .rebooting { interventions += 1 }
        if state == .takeover {
            if let before = interventionsAtTakeover[n], before == interventions, cycling == nil { cycling = (node, now) }
            interventionsAtTakeover[n] = interventions
        }
    }

    /// `changed`: a node's state or a reservation changed in this step (split brain can only begin then).
    mutating func check(_ oracles: [FailoverNodeOracle], changed: Bool, allCut: Bool, at now: VirtualTime, line: Int) -> Verdict? {
        if allCut, !leftFaultHypothesis {
            leftFaultHypothesis = true
            coverage.insert("pair:outside-fault-hypothesis")
        }
        // FO-NO-SPLIT-BRAIN: no disk served by both nodes, as long as some channel direction works.
        if changed, !leftFaultHypothesis, let disk = oracles[0].servedDisks.intersection(oracles[1].servedDisks).min() {
            return fail(.noSplitBrain, line: line, at: now, expected: "each disk served by one node at most",
                        observed: "disk \(disk) served by node a (\(oracles[0].stateSummary)) and node b (\(oracles[1].stateSummary))")
        }
        // FO-NO-CYCLING: a second takeover needs an operator command or a reboot in between.
        if let c = cycling {
            return fail(.noCycling, line: line, at: c.at, expected: "an operator command or a reboot before a second takeover",
                        observed: "node \(c.node) took over again with neither")
        }
        // FO-LIVENESS-TAKEOVER: a node whose peer has stopped, with takeover enabled, takes over in bounded time.
        guard stoppedSince[0] != nil || stoppedSince[1] != nil else { return nil }
        for node in NodeID.allCases {
            let n = Int(node.rawValue), p = Int(node.peer.rawValue)
            guard let down = stoppedSince[p], let ready = readySince[n] else { continue }
            let start = max(down, ready)
            if now.nanoseconds > start.nanoseconds &+ SafetyChecker.livenessBound.nanoseconds {
                return fail(.livenessTakeover, line: line, at: now,
                            expected: "node \(node) in TAKEOVER within \(SafetyChecker.livenessBound) of its peer stopping (\(down)) "
                                + "and itself being in NORMAL with takeover enabled (\(ready))",
                            observed: "node \(node) still \(oracles[n].stateSummary)")
            }
        }
        return nil
    }

    func fail(_ rule: FailoverRule, line: Int, at: VirtualTime, expected: String, observed: String) -> Verdict {
        .fail(Divergence(rule: rule.rule, step: line, time: at, expected: expected, observed: observed))
    }
}
