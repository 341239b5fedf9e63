import VigilCore

public struct Finding: Sendable, CustomStringConvertible {
    public var violation: Violation
    public var original: Schedule
    public var shrunk: Schedule
    public var shrinkRuns: Int
    public var configuration: PairConfiguration
    /// What happened in the shrunk run: events and transitions.
    public var story: [String]

    public var description: String {
        var out = "violation \(violation)\n"
        out += "nodes: a = \(Self.name(configuration.nodes[0])), b = \(Self.name(configuration.nodes[1]))\n"
        out += "shrunk from \(original.events.count) to \(shrunk.events.count) events in \(shrinkRuns) runs\n"
        out += shrunk.description
        out += "what happened:\n"
        for line in story { out += "  \(line)\n" }
        return out
    }

    static func name(_ c: NodeConfiguration) -> String {
        NodeVariant.allCases.first(where: { $0.configuration == c })?.rawValue ?? "custom"
    }
}

/// What an exploration covered and found.
public struct ExplorationReport: Sendable, CustomStringConvertible {
    public var mode: String
    public var schedulesCovered = 0
    /// Schedules that cut all six channel directions at once; split brain is not judged for them.
    public var schedulesOutsideFaultHypothesis = 0
    public var violatingSchedules = 0
    /// Rule ids broken, with the number of schedules breaking each.
    public var violationsByRule: [FailoverRule: Int] = [:]
    /// Shrunk counterexamples (the first few).
    public var findings: [Finding] = []
    public var virtualTime: VirtualTime = .zero
    public var eventsProcessed = 0
    /// Rules applied over all schedules; collected only when `collectsCoverage` is set (it costs time).
    public var rulesApplied: Set<FailoverRule> = []
    public var collectsCoverage = false

    public var description: String {
        var out = "\(mode): \(schedulesCovered) schedules covered, \(schedulesOutsideFaultHypothesis) outside the fault hypothesis, "
        out += "\(violatingSchedules) violating; \(virtualTime) simulated in \(eventsProcessed) events\n"
        for (rule, count) in violationsByRule.sorted(by: { $0.key < $1.key }) { out += "  \(rule.rawValue): \(count)\n" }
        for f in findings { out += "\n" + f.description }
        return out
    }
}

public enum FailoverExploration {
    /// The small bounds of the exhaustive mode: base scenarios, and for each protocol step of each, every
    /// subset of the six channel directions cut just after that step, healed after each of `healAfter`
    /// (nil: never).
    public struct ExhaustiveBounds: Sendable, Hashable {
        public var scenarios: [FailoverScenario]
        public var healAfter: [VirtualTime?]
        public init(scenarios: [FailoverScenario], healAfter: [VirtualTime?]) {
            self.scenarios = scenarios
            self.healAfter = healAfter
        }
        /// Four base runs (steady, quick restart, takeover, reboot after takeover), cuts never healed.
        public static let small = ExhaustiveBounds(
            scenarios: [.steady, .quickRestart, .takeover, .rebootAfterTakeover], healAfter: [nil])
        /// The same, each cut also healed 3 s later.
        public static let standard = ExhaustiveBounds(
            scenarios: [.steady, .quickRestart, .takeover, .rebootAfterTakeover], healAfter: [nil, .seconds(3)])
    }

    /// Just after each protocol step of the base run (past the initial boot) and each scheduled event; the
    /// steady scenario, having none, is struck at 1 s.
    public static func injectionPoints(for scenario: FailoverScenario, configuration: PairConfiguration) -> [VirtualTime] {
        var quiet = configuration
        quiet.checks = false
        var sim = PairSimulation(configuration: quiet)
        var times: Set<UInt64> = [VirtualTime.seconds(1).nanoseconds]
        let schedule = scenario.schedule
        for e in schedule.events { times.insert(e.at.nanoseconds) }
        sim.start(schedule)
        sim.run(until: schedule.duration)
        for line in sim.log {
            // Log lines start with the time: "12.345678s  ...".
            guard let time = parseTime(line), time > VirtualTime.milliseconds(600).nanoseconds else { continue }
            if line.contains("event:") { continue }
            times.insert(time)
        }
        return times.sorted().map { VirtualTime(nanoseconds: $0 + 1_000) }
    }

    static func parseTime(_ line: String) -> UInt64? {
        guard let s = line.split(separator: "s", maxSplits: 1).first else { return nil }
        let parts = s.split(separator: ".")
        guard parts.count == 2, let whole = UInt64(parts[0]), let micros = UInt64(parts[1]) else { return nil }
        return whole * 1_000_000_000 + micros * 1_000
    }

    /// Every schedule within the bounds; returns what it covered and the shrunk counterexamples.
    public static func exhaustive(
        configuration: PairConfiguration = .reference, bounds: ExhaustiveBounds = .small,
        stopAtFirstViolation: Bool = false, maximumFindings: Int = 3
    ) -> ExplorationReport {
        var report = ExplorationReport(mode: "exhaustive")
        var runConfiguration = configuration
        runConfiguration.recordsLog = false
        runConfiguration.stopsAtFirstViolation = true
        outer: for scenario in bounds.scenarios {
            for schedule in schedules(of: scenario, bounds: bounds, configuration: configuration) {
                let sim = PairSimulation.run(schedule, configuration: runConfiguration)
                tally(sim, schedule, configuration, into: &report, maximumFindings: maximumFindings)
                if stopAtFirstViolation, report.violatingSchedules > 0 { break outer }
            }
        }
        return report
    }

    /// The schedules the exhaustive mode runs for one base scenario: the base itself, then for each
    /// injection point every non-empty subset of the six channel directions cut, healed per `healAfter`.
    public static func schedules(
        of scenario: FailoverScenario, bounds: ExhaustiveBounds, configuration: PairConfiguration = .reference
    ) -> [Schedule] {
        let subsets = (1..<(1 << ChannelDirection.allCases.count)).map { mask in
            ChannelDirection.allCases.enumerated().filter { mask & (1 << $0.offset) != 0 }.map(\.element)
        }
        let base = scenario.schedule
        var out: [Schedule] = [base]
        for point in injectionPoints(for: scenario, configuration: configuration) {
            for subset in subsets {
                for heal in bounds.healAfter {
                    var s = base
                    s.events += subset.map { ScheduledEvent(at: point, .cut($0)) }
                    if let heal { s.events += subset.map { ScheduledEvent(at: point + heal, .heal($0)) } }
                    out.append(s)
                }
            }
        }
        return out
    }

    /// Seeded random schedules of `eventsPerSchedule` events each: cuts and heals, one-shot faults of every
    /// kind, crashes, reboots, operator commands, sync errors and failed recoveries.
    public static func random(
        configuration: PairConfiguration = .reference, seed: UInt64, schedules: Int,
        eventsPerSchedule: Int = 16, duration: VirtualTime = .seconds(40), stopAtFirstViolation: Bool = false,
        maximumFindings: Int = 3
    ) -> ExplorationReport {
        var report = ExplorationReport(mode: "random seed \(seed)")
        var runConfiguration = configuration
        runConfiguration.recordsLog = false
        runConfiguration.stopsAtFirstViolation = true
        var rng = SplitMix64(seed: seed)
        for _ in 0..<max(0, schedules) {
            let schedule = randomSchedule(&rng, events: eventsPerSchedule, duration: duration)
            let sim = PairSimulation.run(schedule, configuration: runConfiguration)
            tally(sim, schedule, configuration, into: &report, maximumFindings: maximumFindings)
            if stopAtFirstViolation, report.violatingSchedules > 0 { break }
        }
        return report
    }

    public static func randomSchedule(_ rng: inout SplitMix64, events: Int, duration: VirtualTime) -> Schedule {
        let start = VirtualTime.milliseconds(600).nanoseconds
        let span = max(1, duration.nanoseconds / 1_000_000 - 600 - 2_000)
        var out: [ScheduledEvent] = []
        for _ in 0..<max(0, events) {
            // Whole milliseconds keep printed schedules short.
            let at = VirtualTime(nanoseconds: start + rng.below(span) * 1_000_000)
            let node: NodeID = rng.below(2) == 0 ? .a : .b
            let direction = ChannelDirection.allCases[Int(rng.below(6))]
            let roll = rng.below(100)
            let event: WorldEvent
            switch roll {
            case 0..<18: event = .cut(direction)
            case 18..<30: event = .heal(direction)
            case 30..<40: event = .fault(direction, .drop)
            case 40..<48: event = .fault(direction, .delay(.milliseconds(1 + rng.below(400))))
            case 48..<54: event = .fault(direction, .duplicate)
            case 54..<60: event = .fault(direction, .reorder)
            case 60..<66: event = .fault(direction, .corrupt(byte: Int(rng.below(512)), mask: UInt8(1 + rng.below(255))))
            case 66..<74: event = .crash(node)
            case 74..<84: event = .command(node, .reboot)
            case 84..<89: event = .command(node, .giveback)
            case 89..<91: event = .command(node, .disableTakeover)
            case 91..<93: event = .command(node, .enableTakeover)
            case 93..<95: event = .command(node, .stop)
            case 95..<97: event = .syncError(node)
            case 97..<98: event = .syncRestored(node)
            default: event = .failRecovery(node)
            }
            out.append(ScheduledEvent(at: at, event))
        }
        out.sort { $0.at < $1.at }
        return Schedule(out, duration: duration)
    }

    private static func tally(
        _ sim: PairSimulation, _ schedule: Schedule, _ configuration: PairConfiguration,
        into report: inout ExplorationReport, maximumFindings: Int
    ) {
        report.schedulesCovered += 1
        report.virtualTime = report.virtualTime + sim.now
        report.eventsProcessed += sim.eventsProcessed
        if report.collectsCoverage { report.rulesApplied.formUnion(sim.appliedRules) }
        if sim.checker.leftFaultHypothesis { report.schedulesOutsideFaultHypothesis += 1 }
        guard let violation = sim.violations.first else { return }
        report.violatingSchedules += 1
        report.violationsByRule[violation.rule, default: 0] += 1
        if report.findings.count < maximumFindings {
            report.findings.append(shrink(schedule, violating: violation, configuration: configuration))
        }
    }

    /// Deletes events one at a time, then simplifies what is left (shorter delays, earlier whole-second
    /// times, a shorter run), keeping each change only if the same rule is still broken.
    public static func shrink(_ schedule: Schedule, violating violation: Violation, configuration: PairConfiguration)
        -> Finding
    {
        var runConfiguration = configuration
        runConfiguration.checks = true
        runConfiguration.recordsLog = false
        runConfiguration.stopsAtFirstViolation = true
        var runs = 0
        func breaks(_ s: Schedule) -> Violation? {
            runs += 1
            let sim = PairSimulation.run(s, configuration: runConfiguration)
            return sim.violations.first(where: { $0.rule == violation.rule })
        }
        var best = schedule
        var found = violation
        best.events.sort { $0.at < $1.at }
        func tryCandidate(_ candidate: Schedule) -> Bool {
            guard let v = breaks(candidate) else { return false }
            best = candidate
            found = v
            return true
        }
        // A run need not outlast its violation by more than a second.
        var shorter = best
        shorter.duration = VirtualTime(nanoseconds: min(best.duration.nanoseconds, found.at.nanoseconds + 1_000_000_000))
        _ = tryCandidate(shorter)
        var changed = true
        while changed {
            changed = false
            var i = 0
            while i < best.events.count {
                var candidate = best
                candidate.events.remove(at: i)
                if tryCandidate(candidate) {
                    changed = true
                } else {
                    i += 1
                }
            }
            for i in best.events.indices {
                var candidate = best
                switch candidate.events[i].event {
                case .fault(let d, .delay(let t)) where t.nanoseconds > 1_000_000:
                    candidate.events[i].event = .fault(d, .delay(VirtualTime(nanoseconds: t.nanoseconds / 2)))
                    if tryCandidate(candidate) { changed = true }
                case .fault(let d, .corrupt(let byte, let mask)) where mask != 1 || byte != 8:
                    candidate.events[i].event = .fault(d, .corrupt(byte: 8, mask: 1))
                    if tryCandidate(candidate) { changed = true }
                default:
                    break
                }
                let whole = candidate.events[i].at.nanoseconds / 1_000_000_000 * 1_000_000_000
                if whole != candidate.events[i].at.nanoseconds, i < best.events.count {
                    var earlier = best
                    earlier.events[i].at = VirtualTime(nanoseconds: whole)
                    if tryCandidate(earlier) { changed = true }
                }
            }
        }
        var story = PairSimulation.run(best, configuration: { var c = runConfiguration; c.recordsLog = true; return c }())
            .log
        story = story.filter { !$0.contains(" step 25") || $0.contains("251") }
        return Finding(
            violation: found, original: schedule, shrunk: best, shrinkRuns: runs, configuration: configuration,
            story: story)
    }
}
