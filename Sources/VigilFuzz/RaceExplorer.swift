import VigilConformance
import VigilCore
import VigilFailover

/// Explores races between two failover-node IUTs (`RaceRunner`): exhaustively over small bounds (every
/// subset of the six channel directions cut at each protocol step of a few base scenarios) or with seeded
/// random schedules; every distinct violation (by rule) is shrunk to a small schedule and replayed.
public struct RaceExplorer {
    public enum Mode: String, Sendable, CaseIterable {
        case exhaustive, random
    }

    public struct Finding: Sendable {
        public var rule: String
        /// The schedule (0-based) that first showed it.
        public var schedule: Int
        public var original: Script
        public var minimized: Script
        public var shrinkRuns: Int
        public var shrinkTime: Duration
        /// The minimized schedule's replay, recorded: the evidence.
        public var replay: RaceResult
        public var divergence: Divergence { replay.verdict.divergence! }
    }

    public struct Summary: Sendable {
        public var schedules: Int
        public var findings: [Finding]
        /// Violations whose minimized schedule replayed to another rule (or none): reported, not kept.
        public var flaky: [(rule: String, schedule: Int, replayed: String)]
        public var coverage: Set<String>
        /// Schedules cut short at the per-node stimulus budget.
        public var inconclusive: Int
        /// Schedules that cut all six channel directions at once (split brain is not judged after that).
        public var outsideFaultHypothesis: Int
        /// Virtual time simulated, over all schedules.
        public var virtualTime: VirtualTime
        /// "budget", "max-failures", "time", "interrupted", "iut", "exhausted" (every schedule of the bounds ran).
        public var stoppedBy: String
    }

    public let seed: UInt64
    /// At most this many situations in a random schedule (each one event or a few that belong together).
    public var events: Int

    public init(seed: UInt64, events: Int = 8) {
        self.seed = seed
        self.events = max(1, events)
    }

    // MARK: Schedules

    /// The base scenarios of the exhaustive mode: a quiet pair; node B stopped (node A must take over);
    /// node A stopped; a takeover, then node B rebooted and given back.
    public static let baseScenarios: [(name: String, lines: [(Double, String)], run: Double)] = [
        ("steady", [], 12),
        ("b-stops", [(3, "command b stop")], 14),
        ("a-stops", [(3, "command a stop")], 14),
        ("giveback", [(3, "command b stop"), (14, "command b reboot"), (16, "command a giveback")], 12),
    ]

    static func script(_ name: String, _ lines: [(Double, String)], run: Double, origin: String) -> Script {
        var s = Script(preface: [], headers: [.init(key: "case", value: name), .init(key: "role", value: RaceRunner.role),
                                             .init(key: "run", value: Self.seconds(run)), .init(key: "origin", value: origin)])
        var lineNumber = 5
        for (t, text) in lines.sorted(by: { $0.0 < $1.0 }) {
            let space = text.firstIndex(of: " ")!
            s.lines.append(Script.Line(time: VirtualTime(nanoseconds: UInt64((t * 1e6).rounded()) * 1_000), direction: .stimulus,
                                       verb: String(text[..<space]), argument: String(text[text.index(after: space)...]), lineNumber: lineNumber))
            lineNumber += 1
        }
        return s
    }

    static func seconds(_ s: Double) -> String {
        s == s.rounded() ? String(Int(s)) : String(s)
    }

    /// The exhaustive bounds: for each base scenario, each instant just after one of its protocol steps
    /// (a STATE change of either node in the scenario's own run, past the boot) and its scheduled events,
    /// each non-empty subset of the six channel directions cut there, never healed or healed `heal` later.
    public static func exhaustiveSchedules(runner: RaceRunner, heal: [Double?] = [nil]) -> [Script] {
        var out: [Script] = []
        let directions = Channel.allCases.flatMap { c in NodeID.allCases.map { (c, $0) } }
        for base in baseScenarios {
            let plain = script(base.name, base.lines, run: base.run, origin: "exhaustive base")
            let result = runner.run(plain, recording: false)
            // Injection points: 1 ms after each STATE change past 0.5 s, and after each scheduled event.
            var points = Set(result.timeline.map(\.time.nanoseconds).filter { $0 > 500_000_000 }.map { Double($0) / 1e9 + 0.001 })
            for (t, _) in base.lines { points.insert(t + 0.001) }
            for point in points.sorted() {
                for mask in 1..<(1 << directions.count) {
                    for h in heal {
                        var lines = base.lines
                        var healLines: [(Double, String)] = []
                        var names: [String] = []
                        for (i, (channel, from)) in directions.enumerated() where mask & (1 << i) != 0 {
                            lines.append((point, "channel cut \(channel) from=\(from)"))
                            if let h { healLines.append((point + h, "channel heal \(channel) from=\(from)")) }
                            names.append("\(channel)-\(from)")
                        }
                        let name = "\(base.name)-cut-\(names.joined(separator: "+"))-at-\(Self.seconds(point))" + (h.map { "-heal-\(Self.seconds($0))" } ?? "")
                        out.append(script(name, lines + healLines, run: base.run, origin: "exhaustive"))
                    }
                }
            }
        }
        return out
    }

    /// Random schedule `n`: up to `events` situations (operator commands, channel and disk faults, or a
    /// few of them that belong together) at random instants of the first 20 s, from (seed, n) alone.
    public func randomSchedule(_ n: Int) -> Script {
        var rng = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(n) &* 0xD1B5_4A32_D192_ED03)
        let count = Int.random(in: 1...events, using: &rng)
        var lines: [(Double, String)] = []
        for _ in 0..<count {
            let t = Double(Int.random(in: 0...20_000, using: &rng)) / 1000
            for (offset, line) in Self.randomEvent(&rng) { lines.append((t + offset, line)) }
        }
        return Self.script("random-\(n)", lines, run: 12, origin: "random, seed \(seed), schedule \(n)")
    }

    /// One event, or a few that belong together (offsets in seconds from the first).
    static func randomEvent(_ rng: inout SplitMix64) -> [(Double, String)] {
        let node = Bool.random(using: &rng) ? "a" : "b"
        let peer = node == "a" ? "b" : "a"
        // A few situations a single event rarely reaches: the operator disables a node's takeover and then
        // its peer stops; a node that can no longer be heard on any channel while it still hears its peer
        // (the peer takes over and the node must stop writing, claim 14); a takeover followed by the
        // stopped node's reboot and the giveback.
        let later = Double(Int.random(in: 100...3_000, using: &rng)) / 1000
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<6: return [(0, "command \(node) disable"), (later, "command \(peer) stop")]
        case 6..<12: return ["mailbox", "san", "network"].map { (0, "channel cut \($0) from=\(node)") }
        case 12..<16: return [(0, "command \(peer) stop"), (9 + later, "command \(peer) reboot"), (11 + later, "command \(node) giveback")]
        default: return [(0, single(&rng, node: node))]
        }
    }

    static func single(_ rng: inout SplitMix64, node: String) -> String {
        let channel = ["mailbox", "san", "network"].randomElement(using: &rng)!
        let from = Bool.random(using: &rng) ? "a" : "b"
        // Weighted: cuts and commands most, then the message faults, then disks.
        let pick = Int.random(in: 0..<100, using: &rng)
        switch pick {
        case 0..<10: return "command \(node) stop"
        case 10..<17: return "command \(node) reboot"
        case 17..<23: return "command \(node) giveback"
        case 23..<27: return "command \(node) disable"
        case 27..<31: return "command \(node) enable"
        case 31..<49: return "channel cut \(channel) from=\(from)"
        case 49..<58: return "channel heal \(channel) from=\(from)"
        case 58..<65: return "channel drop \(channel) from=\(from) count=\(Int.random(in: 1...3, using: &rng))"
        case 65..<71: return "channel duplicate \(channel) from=\(from)"
        case 71..<77: return "channel reorder \(channel) from=\(from)"
        case 77..<84: return "channel corrupt \(channel) from=\(from) byte=\(Int.random(in: 0..<64, using: &rng))"
        case 84..<92: return "channel delay \(channel) from=\(from) ms=\(Int.random(in: 1...400, using: &rng))"
        case 92..<96: return "disk fence disks=\(Int.random(in: 0..<4, using: &rng))"
        default: return "disk unfence disks=\(Int.random(in: 0..<4, using: &rng))"
        }
    }

    // MARK: Running

    /// Runs schedules `schedule(0)`, `schedule(1)`, … (until it returns nil, `count` have run, `shouldStop`
    /// says why, or `maxFindings` distinct rules were found). Each new rule's schedule is shrunk (at most
    /// `shrinkBudget` re-runs) and its minimized form replayed from its text before it is kept.
    public func run(count: Int, runner: RaceRunner, maxFindings: Int = .max, shrinkBudget: Int = 600,
                    schedule: (Int) -> Script?, shouldStop: () -> String? = { nil }, progress: (Int, Int, Int) -> Void = { _, _, _ in },
                    found: (Finding) -> Void = { _ in }) -> Summary {
        var summary = Summary(schedules: 0, findings: [], flaky: [], coverage: [], inconclusive: 0, outsideFaultHypothesis: 0,
                              virtualTime: .zero, stoppedBy: "budget")
        var rules: Set<String> = []
        for n in 0..<count {
            if let why = shouldStop() {
                summary.stoppedBy = why
                break
            }
            guard let s = schedule(n) else {
                summary.stoppedBy = "exhausted"
                break
            }
            let result = runner.run(s, recording: false)
            summary.schedules = n + 1
            if runner.startFailure != nil, runner.identities.contains(where: { $0 == nil }) {
                summary.stoppedBy = "iut"
                break
            }
            summary.coverage.formUnion(result.coverage)
            if result.coverage.contains("pair:outside-fault-hypothesis") { summary.outsideFaultHypothesis += 1 }
            if result.budgetExhausted { summary.inconclusive += 1 }
            summary.virtualTime = summary.virtualTime + result.virtualTime
            progress(n + 1, summary.findings.count, summary.coverage.count)
            guard let d = result.verdict.divergence, d.rule != "SCRIPT", !rules.contains(d.rule) else { continue }
            rules.insert(d.rule)
            let clock = ContinuousClock()
            let start = clock.now
            let candidateBudget = Shrinker.candidateBudget(failing: result.stimuli)
            let shrinker = Shrinker(budget: shrinkBudget) { runner.run($0, recording: false, budget: candidateBudget).verdict.divergence }
            let outcome = shrinker.shrink(s)
            let shrinkTime = clock.now - start
            let minimized = outcome?.script ?? s
            let replay = runner.run((try? Script.parse(minimized.text)) ?? minimized)
            guard replay.verdict.divergence?.rule == d.rule else {
                summary.flaky.append((d.rule, n, replay.verdict.divergence?.rule ?? "pass"))
                continue
            }
            let finding = Finding(rule: d.rule, schedule: n, original: s, minimized: minimized, shrinkRuns: outcome?.runs ?? 0,
                                  shrinkTime: shrinkTime, replay: replay)
            summary.findings.append(finding)
            found(finding)
            if summary.findings.count >= maxFindings {
                summary.stoppedBy = "max-failures"
                break
            }
        }
        return summary
    }
}
