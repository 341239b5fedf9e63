import Foundation
import Testing
import VigilCore
import VigilFailover

@Suite("Catalog coverage")
struct CoverageTests {
    /// The scenario library: every named scenario with the reference pair, plus a pair whose node B speaks a
    /// newer protocol version.
    static func library() -> [PairSimulation] {
        var runs = FailoverScenario.allCases.map { PairSimulation.run($0.schedule) }
        var newer = NodeConfiguration.reference
        newer.protocolVersion = 2
        runs.append(PairSimulation.run(FailoverScenario.steady.schedule, configuration: PairConfiguration(a: .reference, b: newer)))
        return runs
    }

    @Test("every FO rule is applied by the model in at least one scenario of the library")
    func everyRuleApplied() {
        var applied: Set<FailoverRule> = []
        for sim in Self.library() { applied.formUnion(sim.appliedRules) }
        let missing = FailoverRule.allCases.filter { !applied.contains($0) }.map(\.rawValue)
        #expect(missing == [], "never applied: \(missing)")
    }

    @Test("the reference pair breaks no invariant in any library scenario")
    func libraryClean() {
        for (i, sim) in Self.library().enumerated() {
            #expect(sim.violations == [], "scenario \(i): \(sim.violations)")
        }
    }
}
