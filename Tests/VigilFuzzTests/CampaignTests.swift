import Testing
import VigilAdapters
import VigilConformance
import VigilCore
import VigilFuzz

@Suite struct CampaignTests {
    static func runner(_ role: Role, _ mutant: String?) -> ConformanceRunner {
        ConformanceRunner(role: role, transport: { InProcessTransport { LinkedRefNodeIUT(mutant: mutant)! } },
                          oracle: Suites.oracle(for: role)!)
    }

    @Test func sameSeedSameCasesAndSameFindings() {
        let a = Campaign(role: .sanResponder, seed: 7), b = Campaign(role: .sanResponder, seed: 7)
        #expect((0..<50).allSatisfy { a.generate($0)?.text == b.generate($0)?.text })
        #expect(a.generate(3)?.text != Campaign(role: .sanResponder, seed: 8).generate(3)?.text)
        let r1 = a.run(runs: 200, runner: Self.runner(.sanResponder, "rsp-nack-duplicates"))
        let r2 = b.run(runs: 200, runner: Self.runner(.sanResponder, "rsp-nack-duplicates"))
        #expect(!r1.findings.isEmpty)
        #expect(r1.findings.map(\.minimized.text) == r2.findings.map(\.minimized.text))
    }

    @Test func theCorrectRefnodeGivesNoDivergence() {
        #expect(Campaign(role: .sanResponder, seed: 1).run(runs: 300, runner: Self.runner(.sanResponder, nil)).findings.isEmpty)
        #expect(Campaign(role: .sanRequestor, seed: 1).run(runs: 20, runner: Self.runner(.sanRequestor, nil)).findings.isEmpty)
    }

    /// Without the hand-written suite, generated cases find the mutant's rule and shrink it small.
    @Test(arguments: [("rsp-skip-crc", "SAN-RSP-VALID-CRC"), ("rsp-nack-wrong-seq", "SAN-RSP-RESP-COPY-SEQ"),
                      ("rsp-accept-bad-path", "SAN-RSP-REQINPATH"), ("rsp-dup-read-not-reexecuted", "SAN-RSP-DUP-READ")])
    func responderMutantsAreFoundAndShrunk(mutant: String, rule: String) throws {
        let r = Campaign(role: .sanResponder, seed: 1).run(runs: 1_500, runner: Self.runner(.sanResponder, mutant))
        let finding = try #require(r.findings.first { $0.rule == rule }, "\(mutant): found \(r.findings.map(\.rule))")
        #expect(finding.minimized.lines.count <= 12, "\(finding.minimized.text)")
        #expect(Self.runner(.sanResponder, mutant).run(finding.minimized).verdict.divergence?.rule == rule, "replays to the same rule")
    }
}
