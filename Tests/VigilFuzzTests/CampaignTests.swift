import Foundation
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

    static let budget = 5_000

    /// Every san-responder mutant the linked refnode knows, with the rule it breaks (not a fixed list).
    static var responderMutants: [(name: String, rule: String)] {
        LinkedRefNodeIUT.mutants.filter { $0.role == Role.sanResponder.rawValue }.map { ($0.name, $0.rule) }
    }

    @Test func sameSeedSameInputsSameFindingsAndCorpusWhateverTheJobs() {
        let a = Campaign(role: .sanResponder, seed: 7), b = Campaign(role: .sanResponder, seed: 7)
        #expect((0..<50).allSatisfy { a.generate($0)?.text == b.generate($0)?.text })
        #expect(a.generate(3)?.text != Campaign(role: .sanResponder, seed: 8).generate(3)?.text)
        var one = a, two = b
        let r1 = one.run(runs: 400, runners: [Self.runner(.sanResponder, "rsp-nack-duplicates")])
        let r2 = two.run(runs: 400, runners: [Self.runner(.sanResponder, "rsp-nack-duplicates"), Self.runner(.sanResponder, "rsp-nack-duplicates")])
        #expect(!r1.findings.isEmpty)
        #expect(r1.findings.map(\.minimized.text) == r2.findings.map(\.minimized.text))
        #expect(r1.findings.map(\.run) == r2.findings.map(\.run))
        #expect(one.corpus.entries.map(\.script.text) == two.corpus.entries.map(\.script.text))
        #expect(one.corpus.entries.count > 1, "runs that reach something new are kept")
    }

    @Test func coverageGrowsAndMutatedInputsAreMade() {
        var c = Campaign(role: .sanResponder, seed: 3)
        let summary = c.run(runs: 600, runners: [Self.runner(.sanResponder, nil)])
        #expect(summary.findings.isEmpty)
        #expect(summary.coverage.contains("SAN-RSP-DUP-ACK") && summary.coverage.contains("seq-distance:0"))
        #expect(summary.coverage.count >= 30, "\(summary.coverage.sorted())")
        // Once the corpus has entries most inputs are mutations of them.
        let mutated = (500..<600).filter { c.input($0)?[header: "origin"]?.hasPrefix("mutated") == true }.count
        #expect(mutated > 40)
    }

    /// Lines the generator prepared as frames stand for exactly what their text says.
    @Test func preparedFramesEqualTheirWrittenText() throws {
        let c = Campaign(role: .sanResponder, seed: 11)
        let oracle = Suites.oracle(for: .sanResponder)!() as! SANResponderOracle
        for n in 0..<40 {
            let script = try #require(c.generate(n))
            let reparsed = try Script.parse(script.text)
            #expect(reparsed.lines.count == script.lines.count)
            for (line, parsed) in zip(script.lines, reparsed.lines) {
                guard let prepared = line.prepared as? PreparedStimulus else { continue }
                #expect(try oracle.frame(for: parsed) == prepared.frame, "\(parsed.argument)")
            }
        }
    }

    @Test func theCorrectRefnodeGivesNoDivergenceOverTheBudget() {
        var c = Campaign(role: .sanResponder, seed: 1)
        let summary = c.run(runs: Self.budget, runners: [Self.runner(.sanResponder, nil)])
        #expect(summary.runs == Self.budget)
        #expect(summary.findings.isEmpty, "\(summary.findings.map { "\($0.rule):\n\($0.minimized.text)" })")
    }

    @Test func theCatalogueHasResponderMutants() {
        #expect(Self.responderMutants.count >= 12)
    }

    /// Without the hand-written suite, the campaign finds each mutant's rule and shrinks it small.
    @Test(arguments: Self.responderMutants.map(\.name))
    func everyResponderMutantIsFoundShrunkAndReplayed(mutant: String) throws {
        let rule = try #require(Self.responderMutants.first { $0.name == mutant }?.rule)
        let runner = Self.runner(.sanResponder, mutant)
        var c = Campaign(role: .sanResponder, seed: 1)
        var hit = false
        let summary = c.run(runs: Self.budget, runners: [runner], shouldStop: { hit ? "found" : nil }, found: { if $0.rule == rule { hit = true } })
        let finding = try #require(summary.findings.first { $0.rule == rule }, "\(mutant): found only \(summary.findings.map(\.rule))")
        #expect(finding.minimized.lines.count <= 12, "\(finding.minimized.text)")
        let replayed = runner.run(try Script.parse(finding.minimized.text))
        #expect(replayed.verdict.divergence?.rule == rule, "replays to the same rule")
        #expect(Self.runner(.sanResponder, nil).run(try Script.parse(finding.minimized.text)).verdict.divergence == nil,
                "the correct refnode passes it")
    }

    /// A failure found after hundreds of events shrinks to at most a dozen (the time it took is printed;
    /// `vigil bench fuzz` measures shrink times on a release build).
    @Test(arguments: ["rsp-nack-wrong-seq", "rsp-accept-bad-path", "rsp-dup-read-not-reexecuted"])
    func aLongFailingCaseShrinksToADozen(mutant: String) throws {
        let rule = try #require(Self.responderMutants.first { $0.name == mutant }?.rule)
        var c = Campaign(role: .sanResponder, seed: 1, eventsPerCase: 400)
        c.shrinkBudget = 2_000
        let runner = Self.runner(.sanResponder, mutant)
        var hit: Campaign.Finding?
        _ = c.run(runs: 200, runners: [runner], shouldStop: { hit == nil ? nil : "found" }, found: { if $0.rule == rule { hit = $0 } })
        let finding = try #require(hit)
        let before = finding.original.lines.filter { $0.direction == .stimulus }.count
        #expect(before >= 300, "the failing case was long: \(before) stimuli")
        #expect(finding.minimized.lines.count <= 12, "\(finding.minimized.text)")
        print("shrink \(mutant): \(before) -> \(finding.minimized.lines.count) stimuli in \(finding.shrinkRuns) runs, \(finding.shrinkTime)")
    }

    @Test func maxFailuresStopsAtTheKthDistinctRule() {
        var c = Campaign(role: .sanResponder, seed: 1)
        let summary = c.run(runs: Self.budget, maxFindings: 1, runners: [Self.runner(.sanResponder, "rsp-inc-unordered")])
        #expect(summary.findings.count == 1 && summary.stoppedBy == "max-failures")
        #expect(summary.runs == summary.findings[0].run + 1)
    }

    @Test func stopRequestsEndTheCampaignBetweenBatches() {
        var c = Campaign(role: .sanResponder, seed: 1)
        var asked = 0
        let summary = c.run(runs: Self.budget, runners: [Self.runner(.sanResponder, nil)], shouldStop: {
            asked += 1
            return asked > 2 ? "interrupted" : nil
        })
        #expect(summary.stoppedBy == "interrupted")
        #expect(summary.runs == 2 * c.batchSize)
    }
}

@Suite struct MutatorTests {
    static func corpus() -> [Script] {
        let c = Campaign(role: .sanResponder, seed: 5)
        return (0..<8).compactMap { c.generate($0) }
    }

    @Test func sameStateSameMutation() {
        let base = Self.corpus()
        func make() -> Mutator {
            Mutator(role: .sanResponder, rng: SplitMix64(seed: 42), donor: { Campaign(role: .sanResponder, seed: 9).generate($0) }, corpus: base)
        }
        var m1 = make(), m2 = make()
        for s in base { #expect(m1.mutate(s).text == m2.mutate(s).text) }
    }

    @Test func mutationsChangeCasesAndKeepTimeInOrderAndMostlyParse() throws {
        let base = Self.corpus()
        var m = Mutator(role: .sanResponder, rng: SplitMix64(seed: 1), donor: { Campaign(role: .sanResponder, seed: 9).generate($0) }, corpus: base)
        var changed = 0, hex = 0, valid = 0
        let oracle = Suites.oracle(for: .sanResponder)!() as! SANResponderOracle
        for k in 0..<400 {
            let original = base[k % base.count]
            let mutated = m.mutate(original)
            if mutated.text != original.text { changed += 1 }
            let times = mutated.lines.map(\.time.nanoseconds)
            #expect(times == times.sorted())
            let parsed = try Script.parse(mutated.text)
            if parsed.lines.contains(where: { $0.argument.contains("hex=") }) { hex += 1 }
            if parsed.lines.allSatisfy({ (try? oracle.frame(for: $0)) != nil }) { valid += 1 }
        }
        #expect(changed > 350)
        #expect(hex > 20, "byte-level packet damage happens")
        #expect(valid > 300, "most mutations stay readable: \(valid)")
    }
}

@Suite struct FuzzCorpusTests {
    @Test func keepsOnlyCasesWithNewFeatures() {
        var c = FuzzCorpus()
        let s = Script(lines: [.init(time: .zero, direction: .stimulus, verb: "command", argument: "create-vi vi=1")])
        let added = [c.add(s, name: "a", coverage: ["x", "y"]), c.add(s, name: "b", coverage: ["y"]), c.add(s, name: "c", coverage: ["y", "z"])]
        #expect(added == [true, false, true])
        #expect(c.entries.map(\.name) == ["a", "c"] && c.coverage == ["x", "y", "z"])
    }

    @Test func savesUnderAHashNameAndLoadsInNameOrder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-corpus-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let c = Campaign(role: .sanResponder, seed: 2)
        let scripts = (0..<5).compactMap { c.generate($0) }
        var paths: [String] = []
        for s in scripts { paths.append(try FuzzCorpus.save(s, into: dir)) }
        #expect(Set(paths).count == 5)
        #expect(try FuzzCorpus.save(scripts[0], into: dir) == paths[0], "the same case is the same file")
        let loaded = try FuzzCorpus.load(folder: dir)
        #expect(loaded.map(\.name) == loaded.map(\.name).sorted())
        #expect(Set(loaded.map(\.script.text)) == Set(scripts.map { try! Script.parse($0.text).text }))
        #expect(try FuzzCorpus.load(folder: dir + "/missing").isEmpty)
    }

    @Test func aBrokenCorpusFileIsNamedWithItsLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-corpus-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "@role san-responder\n0.000000 > command create-vi vi=1\nbogus line here\n".write(toFile: dir + "/bad.vgl", atomically: true, encoding: .utf8)
        do {
            _ = try FuzzCorpus.load(folder: dir)
            Issue.record("a broken file must not load")
        } catch {
            #expect(error.description.contains("bad.vgl") && error.description.contains("line 3"), "\(error)")
        }
    }
}
