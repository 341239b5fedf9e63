import Testing
import VigilCore
import VigilFailover

/// One exhaustive exploration of the small bounds with the reference node, shared by the tests below.
enum ReferenceExploration {
    static let small: ExplorationReport = FailoverExploration.exhaustive(configuration: .reference, bounds: .small)
}

@Suite("Model-level races")
struct RaceTests {
    @Test("the symmetric partition (network and SAN cut both ways, disks alive) never ends in dual takeover")
    func symmetricPartition() {
        // The cut strikes at every 50 ms across a whole status period and more, i.e. at every phase of both
        // nodes' ticks and of the mailbox writes.
        for offset in stride(from: UInt64(0), through: 1_000, by: 50) {
            var schedule = FailoverScenario.symmetricPartition.schedule
            for i in schedule.events.indices { schedule.events[i].at = .milliseconds(1_000 + offset) }
            let sim = PairSimulation.run(schedule)
            #expect(sim.violations == [], "cut at +\(offset) ms")
            #expect(sim.nodes.map(\.state) == [.normal, .normal], "cut at +\(offset) ms")
            #expect(!sim.log.contains { $0.contains("212 TAKEOVER-OPERATION begins") })
        }
    }

    @Test("exhaustive small bounds: the reference node breaks no invariant, and the count is reported")
    func referenceExhaustive() {
        let report = ReferenceExploration.small
        print(report)
        #expect(report.schedulesCovered > 1_000)
        #expect(report.violatingSchedules == 0, "\(report)")
        #expect(report.schedulesOutsideFaultHypothesis > 0)
    }

    struct Expectation: Sendable, CustomStringConvertible {
        var variant: NodeVariant
        var rules: Set<FailoverRule>
        var description: String { variant.rawValue }
    }

    @Test(
        "each broken variant is caught by the checker with a shrunk schedule of at most 12 events",
        arguments: [
            Expectation(variant: .ignoresMailbox, rules: [.takeoverSilence, .noSplitBrain]),
            Expectation(variant: .reservesWithoutWaiting, rules: [.noSplitBrain]),
            Expectation(variant: .keepsGeneration, rules: [.genIncrementAtBoot]),
            Expectation(variant: .sequenceBeforeGeneration, rules: [.takeoverSilence, .msgNewness]),
            Expectation(variant: .keepsWritingAfterTakeover, rules: [.noSplitBrain]),
        ])
    func variantCaught(_ e: Expectation) throws {
        let configuration = PairConfiguration(variant: e.variant)
        let report = FailoverExploration.exhaustive(
            configuration: configuration, bounds: .small, stopAtFirstViolation: true, maximumFindings: 1)
        let finding = try #require(report.findings.first, "\(e.variant) was not caught")
        print(finding)
        #expect(e.rules.contains(finding.violation.rule), "\(finding.violation)")
        #expect(finding.shrunk.events.count <= 12)
        #expect(finding.shrunk.events.count <= finding.original.events.count)

        // The shrunk schedule still breaks the rule, through the checker's normal path...
        let again = PairSimulation.run(finding.shrunk, configuration: configuration)
        #expect(again.violations.first?.rule == finding.violation.rule)
        // ...and nothing else notices: without the checker the variant runs "clean".
        var unchecked = configuration
        unchecked.checks = false
        #expect(PairSimulation.run(finding.shrunk, configuration: unchecked).violations == [])
        // The reference node passes the same schedule and the same exploration.
        #expect(PairSimulation.run(finding.shrunk).violations == [])
        #expect(ReferenceExploration.small.violatingSchedules == 0)
    }

    @Test("the liveness bound holds when a node really stops, and is checked")
    func liveness() {
        let sim = PairSimulation.run(FailoverScenario.takeover.schedule)
        #expect(sim.violations == [])
        #expect(sim.nodes[0].state == .takeover)
        // A node whose takeover is disabled is not held to it; with takeover enabled but the node made deaf to
        // nothing, a silence limit too long to fit the bound is caught.
        var slow = NodeConfiguration.reference
        slow.silenceMultiple = 5
        let late = PairSimulation.run(FailoverScenario.takeover.schedule, configuration: PairConfiguration(a: slow, b: slow))
        #expect(late.violations.first?.rule == .livenessTakeover)
    }

    @Test("outside the fault hypothesis split brain is not judged, but it is counted")
    func totalPartition() {
        let sim = PairSimulation.run(FailoverScenario.totalPartition.schedule)
        #expect(sim.checker.leftFaultHypothesis)
        #expect(!sim.violations.contains { $0.rule == .noSplitBrain })
        // Once the channels heal, each hears the other's TAKEOVER and stops writing (claim 14).
        #expect(sim.nodes.map(\.state) == [.stopped, .stopped])
    }
}

@Suite("Exploration")
struct ExplorationTests {
    @Test("random mode is deterministic: the same seed gives the same report, byte for byte")
    func deterministic() {
        let one = FailoverExploration.random(seed: 42, schedules: 12)
        let two = FailoverExploration.random(seed: 42, schedules: 12)
        #expect(one.description == two.description)
        #expect(one.eventsProcessed == two.eventsProcessed)
        let other = FailoverExploration.random(seed: 43, schedules: 12)
        #expect(other.eventsProcessed != one.eventsProcessed)
    }

    @Test("random mode over long faulty schedules: the reference node breaks no invariant")
    func randomReference() {
        let report = FailoverExploration.random(seed: 0x6119_244, schedules: 60, eventsPerSchedule: 20)
        #expect(report.violatingSchedules == 0, "\(report)")
        #expect(report.schedulesCovered == 60)
    }

    @Test("random mode catches a variant and shrinks it to a readable repro")
    func randomCatchesVariant() throws {
        let report = FailoverExploration.random(
            configuration: PairConfiguration(variant: .reservesWithoutWaiting), seed: 7, schedules: 200,
            stopAtFirstViolation: true, maximumFindings: 1)
        let finding = try #require(report.findings.first)
        #expect(finding.shrunk.events.count <= 12)
        let text = finding.description
        #expect(text.contains("violation FO-"))
        #expect(text.contains("schedule: "))
        #expect(text.contains("nodes: a = reserves-without-waiting"))
    }

    @Test("the shrinker deletes what does not matter")
    func shrinkDeletes() {
        var schedule = FailoverScenario.oneWaySilence.schedule
        schedule.events += [
            ScheduledEvent(at: .milliseconds(1_500), .fault(ChannelDirection(.network, from: .a), .duplicate)),
            ScheduledEvent(at: .milliseconds(2_500), .command(.a, .enableTakeover)),
        ]
        let configuration = PairConfiguration(variant: .keepsWritingAfterTakeover)
        let sim = PairSimulation.run(schedule, configuration: configuration)
        guard let violation = sim.violations.first else {
            Issue.record("no violation")
            return
        }
        let finding = FailoverExploration.shrink(schedule, violating: violation, configuration: configuration)
        #expect(finding.shrunk.events.count == 3)
        #expect(finding.shrunk.events.allSatisfy { if case .cut = $0.event { true } else { false } })
    }
}
