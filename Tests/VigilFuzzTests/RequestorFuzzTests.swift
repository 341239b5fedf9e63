import Foundation
import Testing
import VigilAdapters
import VigilConformance
import VigilCore
import VigilFuzz

/// The san-requestor generator against the refnode's catalogue of requestor mutants (issue 5's
/// acceptance test): seed 1, at most 5,000 runs, each mutant found with its own rule, minimized to at
/// most 12 stimuli, replaying to the same rule; and the correct refnode clean over the same budget.
@Suite struct RequestorFuzzTests {
    static let budget = 5_000
    static let seed: UInt64 = 1

    /// Every san-requestor mutant the linked refnode knows, with the rule it breaks (not a fixed list).
    static var mutants: [(name: String, rule: String)] {
        LinkedRefNodeIUT.mutants.filter { $0.role == Role.sanRequestor.rawValue }.map { ($0.name, $0.rule) }
    }

    static func runner(_ mutant: String?) -> ConformanceRunner {
        ConformanceRunner(role: .sanRequestor, transport: { InProcessTransport { LinkedRefNodeIUT(mutant: mutant)! } },
                          oracle: Suites.oracle(for: .sanRequestor)!)
    }

    static func stimuli(_ s: Script) -> Int { s.lines.filter { $0.direction == .stimulus && $0.verb != "packet" }.count }

    @Test func theCatalogueHasRequestorMutants() {
        #expect(Self.mutants.count >= 10, "\(Self.mutants.map(\.name))")
        #expect(Self.mutants.allSatisfy { $0.rule.hasPrefix("SAN-REQ-") })
    }

    @Test(arguments: Self.mutants.map(\.name))
    func everyRequestorMutantIsFoundShrunkAndReplayed(mutant: String) throws {
        let rule = try #require(Self.mutants.first { $0.name == mutant }?.rule)
        let runner = Self.runner(mutant)
        var campaign = Campaign(role: .sanRequestor, seed: Self.seed)
        var hit = false
        let summary = campaign.run(runs: Self.budget, runners: [runner], shouldStop: { hit ? "found" : nil },
                                   found: { if $0.rule == rule { hit = true } })
        let finding = try #require(summary.findings.first { $0.rule == rule },
                                   "\(mutant): \(summary.runs) runs found only \(summary.findings.map(\.rule))")
        #expect(finding.run < Self.budget)
        #expect(Self.stimuli(finding.minimized) <= 12, "\(mutant): \(finding.minimized.text)")
        // The minimized script, as text, replays to the same rule.
        let replayed = runner.run(try Script.parse(finding.minimized.text))
        #expect(replayed.verdict.divergence?.rule == rule, "\(mutant): \(finding.minimized.text)")
        // And the correct refnode passes it: the divergence is the mutant's.
        #expect(Self.runner(nil).run(try Script.parse(finding.minimized.text)).verdict.divergence == nil,
                "\(mutant): the correct refnode fails \(finding.minimized.text)")
    }

    @Test func theCorrectRefnodeGivesNoDivergenceOverTheSameBudget() {
        var campaign = Campaign(role: .sanRequestor, seed: Self.seed)
        let summary = campaign.run(runs: Self.budget, runners: [Self.runner(nil)])
        #expect(summary.runs == Self.budget)
        #expect(summary.findings.isEmpty,
                "\(summary.findings.map { "\($0.rule) at run \($0.run):\n\($0.minimized.text)" }.joined(separator: "\n"))")
    }

    /// A fabric that corrupts every first copy of a seq-0 request also corrupts every barrier write (each
    /// carries a fresh number, so each is a "first copy"): the conforming refnode retries the barrier every
    /// round trip for the whole second the case runs (col. 8: a mismatched barrier "is tried again"), about
    /// 500,000 stimuli. Before the per-case budget this hung the shrinker for minutes; now the case ends
    /// inconclusive at the budget, blames nobody, and the next case on the same runner still passes.
    @Test func aRetryTheFabricDefeatsForEverEndsInconclusiveAtTheBudget() throws {
        let endless = try Script.parse("""
            @role san-requestor
            0.000000 > command create-vi vi=1
            0.000010 > fabric corrupt to=responder seq=0 copy=0 kind=req
            0.000010 > command post vi=1 op=send size=1 seed=8
            """)
        let runner = Self.runner(nil)
        let cut = runner.run(endless, recording: false, budget: 3_000)
        guard case .notApplicable(let why) = cut.verdict else {
            Issue.record("expected an inconclusive verdict, got \(cut.verdict)")
            return
        }
        #expect(why.contains("budget of 3000 stimuli"), "\(why)")
        #expect(cut.stimuli == 3_001)
        // A shorter case of the same script finishes inside the budget, and passes.
        var short = endless
        short.headers.append(.init(key: "run", value: "0.15"))
        let finished = runner.run(short, recording: false, budget: 50_000)
        #expect(finished.verdict == .pass, "\(finished.verdict)")
        #expect(finished.stimuli > 10_000 && finished.stimuli < 50_000, "\(finished.stimuli)")
    }

    /// The generator stays light: a handful of stimuli per case, and mostly small descriptors.
    @Test func generatedCasesAreSmall() {
        let campaign = Campaign(role: .sanRequestor, seed: Self.seed)
        let cases = (0..<500).compactMap { campaign.generate($0) }
        #expect(cases.count == 500)
        #expect(cases.allSatisfy { Self.stimuli($0) <= 14 })
        let same = Campaign(role: .sanRequestor, seed: Self.seed)
        #expect((0..<50).allSatisfy { campaign.generate($0)?.text == same.generate($0)?.text })
    }
}
