import Foundation
import Testing
import VigilAdapters
import VigilConformance
import VigilCore
import VigilEvidence
import VigilFuzz

/// `vigil race` (issue 6): two refnodes survive the exhaustive bounds and a random run; every failover
/// mutant paired with a correct refnode is caught, shrunk to at most 15 events, and replays.
@Suite struct RaceTests {
    static func runner(a: String? = nil, b: String? = nil) -> RaceRunner {
        RaceRunner(a: { InProcessTransport { LinkedRefNodeIUT(mutant: a)! } }, b: { InProcessTransport { LinkedRefNodeIUT(mutant: b)! } })
    }

    static var mutants: [(name: String, rule: String)] {
        LinkedRefNodeIUT.mutants.filter { $0.role == Role.failoverNode.rawValue }.map { ($0.name, $0.rule) }
    }

    /// Random schedules a mutant gets before the test gives up on it.
    static let budget = 300

    @Test func twoCorrectNodesSurviveTheExhaustiveBounds() {
        let runner = Self.runner()
        let schedules = RaceExplorer.exhaustiveSchedules(runner: runner)
        #expect(schedules.count > 1_000, "\(schedules.count)")
        let summary = RaceExplorer(seed: 1).run(count: schedules.count, runner: runner, schedule: { schedules[$0] })
        #expect(summary.schedules == schedules.count)
        let found = summary.findings.map { "\($0.rule): \($0.divergence.observed)\n\($0.minimized.text)" }
        #expect(found.isEmpty, "\(found)")
        #expect(summary.outsideFaultHypothesis > 0)
    }

    @Test func twoCorrectNodesSurviveALongRandomRun() {
        let runner = Self.runner()
        let explorer = RaceExplorer(seed: 7)
        let summary = explorer.run(count: 400, runner: runner, schedule: explorer.randomSchedule)
        #expect(summary.schedules == 400)
        let found = summary.findings.map { "\($0.rule): \($0.divergence.observed)\n\($0.minimized.text)" }
        #expect(found.isEmpty, "\(found)")
    }

    @Test(arguments: Self.mutants.map(\.name))
    func everyFailoverMutantPairedWithACorrectNodeIsCaught(mutant: String) throws {
        // The mutant is node A against a correct node B, then node B against a correct node A.
        var caught: [String] = []
        for (a, b) in [(mutant, nil), (nil, mutant)] as [(String?, String?)] {
            let runner = Self.runner(a: a, b: b)
            let explorer = RaceExplorer(seed: 1)
            let summary = explorer.run(count: Self.budget, runner: runner, maxFindings: 1, schedule: explorer.randomSchedule)
            guard let f = summary.findings.first else { continue }
            caught.append(f.rule)
            #expect(f.minimized.lines.count <= 15, "\(mutant): \(f.minimized.text)")
            // Replayable from its text, to the same rule; the correct pair passes it.
            let again = runner.run(try Script.parse(f.minimized.text))
            let againRule = again.verdict.divergence?.rule
            #expect(againRule == f.rule, "\(mutant): \(f.minimized.text)")
            let correct = Self.runner().run(try Script.parse(f.minimized.text))
            // Its capture: both nodes' traffic, node B's records flagged, the marker at the violation.
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-race-\(mutant)-\(UUID().uuidString).pcap").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try VigilPcap.write(CaptureConversion.records(race: f.replay.transcripts, divergence: f.divergence), to: path)
            let records = try VigilPcap.read(path)
            // (A violation at a node's boot ends the race before the other node has written anything.)
            for (node, transcript) in zip([false, true], f.replay.transcripts) {
                let traffic = !CaptureConversion.records(from: transcript).isEmpty
                let recorded = records.contains { $0.flags.contains(.nodeB) == node && $0.direction != .marker }
                #expect(recorded == traffic, "\(mutant): node \(node ? "B" : "A") traffic \(traffic), in the capture \(recorded)")
            }
            #expect(records.filter { $0.direction == .marker }.count == 1)
            let correctRule = correct.verdict.divergence.map { "\($0.rule): \($0.observed)" }
            #expect(correctRule == nil, "\(mutant): the correct pair fails \(f.minimized.text)")
        }
        #expect(!caught.isEmpty, "\(mutant) was not caught in \(Self.budget) random schedules either way round")
    }

    /// The interop case: refnode (C) and the kit's model node (Swift, `ModelFailoverNodeIUT`) share the
    /// disks, either way round, through the base scenarios and a sample of the exhaustive bounds.
    @Test func refnodeAndTheModelNodeInteroperate() throws {
        for (a, b) in [("refnode", "model"), ("model", "refnode")] {
            func transport(_ name: String) -> () -> any FrameTransport {
                name == "model" ? { InProcessTransport(Suites.model(for: .failoverNode)!) } : { InProcessTransport { LinkedRefNodeIUT(mutant: nil)! } }
            }
            let runner = RaceRunner(a: transport(a), b: transport(b))
            let schedules = RaceExplorer.exhaustiveSchedules(runner: runner)
            let sample = stride(from: 0, to: schedules.count, by: 9).map { schedules[$0] }
            let summary = RaceExplorer(seed: 1).run(count: sample.count, runner: runner, schedule: { sample[$0] })
            #expect(summary.schedules == sample.count)
            let found = summary.findings.map { "\($0.rule): \($0.divergence.observed)\n\($0.minimized.text)" }
            #expect(found.isEmpty, "\(a)+\(b): \(found)")
            #expect(runner.identities.map { $0?.name } == [a == "model" ? "vigil-model" : "refnode", b == "model" ? "vigil-model" : "refnode"])
            // A takeover happens across the two implementations.
            let stop = runner.run(try Script.parse("@role race\n@run 10\n1.000000 > command b stop\n"))
            #expect(stop.verdict == .pass, "\(a)+\(b): \(stop.verdict)")
            #expect(stop.timeline.contains { $0.node == .a && $0.state.hasPrefix("TAKEOVER") }, "\(a)+\(b)")
        }
    }

    @Test func sameSeedSameFindings() {
        let a = RaceExplorer(seed: 3)
        let runner = Self.runner(a: "fo-takeover-no-wait")
        let one = a.run(count: 60, runner: runner, schedule: a.randomSchedule)
        let two = a.run(count: 60, runner: Self.runner(a: "fo-takeover-no-wait"), schedule: a.randomSchedule)
        #expect(one.findings.map(\.minimized.text) == two.findings.map(\.minimized.text))
        #expect(one.coverage == two.coverage)
        #expect(a.randomSchedule(5).text == RaceExplorer(seed: 3).randomSchedule(5).text)
        #expect(a.randomSchedule(5).text != RaceExplorer(seed: 4).randomSchedule(5).text)
    }

    @Test func badScheduleLinesNameTheLine() throws {
        let r = Self.runner().run(try Script.parse("@role race\n0.5 > command c stop\n"))
        guard case .error(let d) = r.verdict else {
            Issue.record("expected a script error, got \(r.verdict)")
            return
        }
        #expect(d.rule == "SCRIPT")
        #expect(d.step == 2)
        #expect(d.observed.contains("command a|b"), "\(d.observed)")
        let fault = Self.runner().run(try Script.parse("@role race\n0.5 > channel drop pigeon from=a\n"))
        #expect(fault.verdict.divergence?.rule == "SCRIPT")
    }
}
