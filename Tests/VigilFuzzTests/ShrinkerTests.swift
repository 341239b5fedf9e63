import Testing
import VigilAdapters
import VigilConformance
import VigilCore
import VigilFuzz

@Suite struct ShrinkerTests {
    static func runner(_ role: Role, mutant: String?) -> ConformanceRunner {
        ConformanceRunner(role: role, transport: { InProcessTransport { LinkedRefNodeIUT(mutant: mutant)! } },
                          oracle: Suites.oracle(for: role)!)
    }

    static func script(_ role: Role, _ id: String) -> Script {
        Suites.cases(for: role).first { $0[header: "case"] == id }!
    }

    @Test func aLongFailingCaseShrinksToAFewLinesWithTheSameRule() throws {
        let r = Self.runner(.sanResponder, mutant: "rsp-nack-duplicates")
        let original = Self.script(.sanResponder, "rsp-sequence-wrap")
        let shrinker = Shrinker { r.run($0).verdict.divergence }
        let outcome = try #require(shrinker.shrink(original))
        #expect(outcome.divergence.rule == "SAN-RSP-DUP-ACK")
        #expect(outcome.before == original.lines.count && outcome.after <= 3, "\(outcome.script.text)")
        // The minimized script replays to the same divergence, through its text.
        let replayed = r.run(try Script.parse(outcome.script.text))
        #expect(replayed.verdict.divergence?.rule == "SAN-RSP-DUP-ACK")
    }

    @Test func requestorTranscriptsShrinkWithoutTheKitsOwnLines() throws {
        let r = Self.runner(.sanRequestor, mutant: "req-retx-from-nacked")
        let failing = r.run(Self.script(.sanRequestor, "req-figure8-lost-request"))
        #expect(failing.verdict.divergence?.rule == "SAN-REQ-RETX-EARLIEST")
        let shrinker = Shrinker(derived: { $0.verb == "packet" }, runner: r, failing: failing)
        let outcome = try #require(shrinker.shrink(failing.transcript))
        #expect(outcome.divergence.rule == "SAN-REQ-RETX-EARLIEST")
        #expect(outcome.script.lines.allSatisfy { $0.verb != "packet" && $0.direction == .stimulus })
        #expect(outcome.after <= 3)
    }

    @Test func aPassingScriptHasNothingToShrinkAndTheBudgetHolds() {
        let correct = Self.runner(.sanResponder, mutant: nil)
        #expect(Shrinker { correct.run($0).verdict.divergence }.shrink(Self.script(.sanResponder, "rsp-duplicate-ack")) == nil)
        var runs = 0
        let counted = Shrinker(budget: 5) { _ in
            runs += 1
            return Divergence(rule: "X", citation: "", statement: "", step: 0, time: .zero, expected: "", observed: "")
        }
        _ = counted.shrink(Self.script(.sanResponder, "rsp-sequence-wrap"))
        #expect(runs <= 5)
    }

    @Test func shrinkingIsDeterministic() throws {
        let r = Self.runner(.sanResponder, mutant: "rsp-nack-duplicates")
        let s = Self.script(.sanResponder, "rsp-duplicate-ack")
        let a = try #require(Shrinker { r.run($0).verdict.divergence }.shrink(s))
        let b = try #require(Shrinker { r.run($0).verdict.divergence }.shrink(s))
        #expect(a.script.text == b.script.text)
    }
}
