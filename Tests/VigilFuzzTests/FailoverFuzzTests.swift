import Foundation
import Testing
import VigilAdapters
import VigilConformance
import VigilCore
import VigilFuzz

/// The failover-node generator (`FailoverGenerators`): without the hand-written suite, a seeded campaign
/// finds every failover mutant of the refnode's catalogue with its rule, shrinks it small and replays it;
/// the correct refnode gives no divergence over the same budget.
@Suite struct FailoverFuzzTests {
    static func runner(_ mutant: String?) -> ConformanceRunner {
        ConformanceRunner(role: .failoverNode, transport: { InProcessTransport { LinkedRefNodeIUT(mutant: mutant)! } },
                          oracle: Suites.oracle(for: .failoverNode)!)
    }

    static let budget = 5_000

    /// Every failover-node mutant the linked refnode knows, with the rule it breaks (not a fixed list).
    static var failoverMutants: [(name: String, rule: String)] {
        LinkedRefNodeIUT.mutants.filter { $0.role == Role.failoverNode.rawValue }.map { ($0.name, $0.rule) }
    }

    @Test func theCatalogueHasFailoverMutants() {
        #expect(Self.failoverMutants.count >= 14)
    }

    @Test func sameSeedSameScripts() {
        let a = Campaign(role: .failoverNode, seed: 1), b = Campaign(role: .failoverNode, seed: 1)
        #expect((0..<200).allSatisfy { a.generate($0)?.text == b.generate($0)?.text })
        #expect(a.generate(5)?.text != Campaign(role: .failoverNode, seed: 2).generate(5)?.text)
        var r1 = SplitMix64(seed: 99), r2 = SplitMix64(seed: 99)
        #expect(FailoverGenerators.nodeCase(&r1, events: 12).text == FailoverGenerators.nodeCase(&r2, events: 12).text)
    }

    /// Generated cases are well formed: they parse back to themselves, and every one boots the node.
    @Test func generatedCasesAreScriptsTheOracleReads() throws {
        let c = Campaign(role: .failoverNode, seed: 1)
        for n in 0..<100 {
            let script = try #require(c.generate(n))
            #expect(try Script.parse(script.text).text == script.text)
            #expect(script.lines.contains { $0.verb == "command" && $0.argument == "boot" })
        }
    }

    @Test func theCorrectRefnodeGivesNoDivergenceOverTheBudget() {
        var c = Campaign(role: .failoverNode, seed: 1)
        let summary = c.run(runs: Self.budget, runners: [Self.runner(nil)])
        #expect(summary.runs == Self.budget)
        #expect(summary.findings.isEmpty, "\(summary.findings.map { "\($0.rule):\n\($0.minimized.text)" })")
    }

    /// Without the hand-written suite, the campaign finds each mutant's rule, shrinks it to at most 12
    /// stimuli, and the minimized script (written and read back) replays to the same rule.
    @Test(arguments: Self.failoverMutants.map(\.name))
    func everyFailoverMutantIsFoundShrunkAndReplayed(mutant: String) throws {
        let rule = try #require(Self.failoverMutants.first { $0.name == mutant }?.rule)
        let runner = Self.runner(mutant)
        var c = Campaign(role: .failoverNode, seed: 1)
        var hit = false
        let summary = c.run(runs: Self.budget, runners: [runner], shouldStop: { hit ? "found" : nil }, found: { if $0.rule == rule { hit = true } })
        let finding = try #require(summary.findings.first { $0.rule == rule }, "\(mutant): found only \(summary.findings.map(\.rule))")
        let stimuli = finding.minimized.lines.filter { $0.direction == .stimulus }.count
        #expect(stimuli <= 12, "\(finding.minimized.text)")
        let replayed = runner.run(try Script.parse(finding.minimized.text))
        #expect(replayed.verdict.divergence?.rule == rule, "replays to the same rule")
    }

    /// The regression corpus: one minimized repro per mutant fails with its rule against that mutant and
    /// passes against the correct refnode; the other repros pass against the correct refnode.
    @Test func theRegressionReprosHold() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("corpus/regressions/failover-node")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".vgl") }.sorted()
        let correct = Self.runner(nil)
        var mutantsCovered: Set<String> = []
        for file in files {
            let script = try Script.parse(String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8))
            #expect(script[header: "role"] == Role.failoverNode.rawValue, "\(file)")
            #expect(correct.run(script).verdict.divergence == nil, "\(file) passes against the correct refnode")
            if let mutant = script[header: "mutant"], let rule = script[header: "rule"] {
                mutantsCovered.insert(mutant)
                #expect(Self.runner(mutant).run(script).verdict.divergence?.rule == rule, "\(file) fails with \(rule) against \(mutant)")
            }
        }
        #expect(mutantsCovered == Set(Self.failoverMutants.map(\.name)))
    }
}
