import Foundation
import Synchronization
import Testing

/// End-to-end tests of the `vigil` command: exit statuses, machine output, messages for bad input, and
/// the help text as golden files (regenerate with VIGIL_UPDATE_GOLDEN=1 swift test --filter CLITests).
@Suite struct CLITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `vigil` built beside this test bundle.
    static var binary: URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("vigil")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return root.appendingPathComponent(".build/debug/vigil")
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func vigil(_ arguments: String...) throws -> Result { try vigil(arguments: arguments) }

    @Test func rulesJSONListsEverySANRuleWithACitation() throws {
        let r = try Self.vigil("rules", "--protocol", "san", "--json")
        #expect(r.status == 0)
        let rules = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(rules.count >= 50)
        for rule in rules {
            let id = rule["id"] as? String ?? "?"
            #expect(id.hasPrefix("SAN-"))
            let citations = rule["citations"] as? [[String: Any]] ?? []
            #expect(!citations.isEmpty, "\(id) has no citation")
            #expect(citations.allSatisfy { ($0["patent"] as? String) == "US 6,545,981" })
        }
    }

    @Test func rulesAuditPassesOnTheRepository() throws {
        let r = try Self.vigil("rules", "--audit")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("san: ") && r.stdout.contains(" 0 problems"))
    }

    @Test func unknownRuleIdSaysSoAndSuggests() throws {
        let r = try Self.vigil("rules", "--id", "DUP-ACK")
        #expect(r.status == 2)
        #expect(r.stderr.contains("No rule has the id 'DUP-ACK'") && r.stderr.contains("SAN-RSP-DUP-ACK"))
    }

    @Test func badCombinationsAreRefusedWithAReason() throws {
        let both = try Self.vigil("rules", "--json", "--markdown")
        #expect(both.status == 2 && both.stderr.contains("Choose one of --json and --markdown"))
        let noProtocol = try Self.vigil("rules", "--markdown")
        #expect(noProtocol.status == 2 && noProtocol.stderr.contains("--protocol"))
        let badScenario = try Self.vigil("simulate", "fig7")
        #expect(badScenario.status == 2 && badScenario.stderr.contains("Unknown scenario 'fig7'") && badScenario.stderr.contains("fig6"))
        let badProtocol = try Self.vigil("rules", "--protocol", "tcp")
        #expect(badProtocol.status == 2 && badProtocol.stderr.contains("tcp"))
    }

    @Test func simulateFigure8PrintsTheLadderAndNoDivergence() throws {
        let r = try Self.vigil("simulate", "fig8")
        #expect(r.status == 0)
        #expect(r.stdout.contains("nack send seq=3 vi=1 reason=sequence-error"))
        #expect(r.stdout.contains("[CORRUPTED]"))
        #expect(!r.stdout.contains("DIVERGENCE"))
        // Deterministic: the same run prints the same bytes.
        #expect(try Self.vigil("simulate", "fig8").stdout == r.stdout)
    }

    @Test func benchPrintsFiguresForBothProtocols() throws {
        let san = try Self.vigil("bench", "san", "--seconds", "0.05")
        #expect(san.status == 0)
        #expect(san.stdout.contains("san codec decode") && san.stdout.contains("packets/s"))
        let failover = try Self.vigil("bench", "failover", "--seconds", "0.2")
        #expect(failover.status == 0)
        #expect(failover.stdout.contains("simulated s per wall s") && failover.stdout.contains("schedules per wall s"))
        let unknown = try Self.vigil("bench", "tcp")
        #expect(unknown.status == 2 && unknown.stderr.contains("Known: san, failover"))
    }

    @Test func exploreFindsABrokenVariantAndExitsOne() throws {
        let r = try Self.vigil("explore", "--mode", "random", "--seed", "3", "--schedules", "40",
                               "--variant", "keeps-generation-at-boot", "--max-findings", "1")
        #expect(r.status == 1, "\(r.stdout)")
        #expect(r.stdout.contains("FO-"))
        let bad = try Self.vigil("explore", "--variant", "nope")
        #expect(bad.status == 2 && bad.stderr.contains("Unknown variant 'nope'"))
    }

    @Test(arguments: [["--help"], ["rules", "--help"], ["simulate", "--help"], ["explore", "--help"], ["bench", "--help"], ["fuzz", "--help"]])
    func helpMatchesGolden(arguments: [String]) throws {
        let process = try Self.vigil(arguments: arguments)
        #expect(process.status == 0)
        let name = "help-" + (arguments.count > 1 ? arguments[0] : "vigil") + ".txt"
        let golden = Self.root.appendingPathComponent("Tests/VigilCLITests/golden/\(name)")
        if ProcessInfo.processInfo.environment["VIGIL_UPDATE_GOLDEN"] != nil {
            try FileManager.default.createDirectory(at: golden.deletingLastPathComponent(), withIntermediateDirectories: true)
            try process.stdout.write(to: golden, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: golden, encoding: .utf8)
        #expect(process.stdout == expected, "help changed; if intended, regenerate with VIGIL_UPDATE_GOLDEN=1")
    }

    static func vigil(arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = root
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        // A fixed width so that the wrapping of help text does not depend on the terminal.
        var environment = ProcessInfo.processInfo.environment
        environment["COLUMNS"] = "100"
        process.environment = environment
        try process.run()
        // Read both pipes to the end before waiting, so that neither can fill up and block the child.
        let e = Mutex<Data>(Data())
        let reader = Thread { e.withLock { $0 = err.fileHandleForReading.readDataToEndOfFile() } }
        reader.start()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while reader.isExecuting || !reader.isFinished { Thread.sleep(forTimeInterval: 0.001) }
        return Result(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: e.withLock { $0 }, as: UTF8.self))
    }
}

/// `vigil check` against the bundled refnode: the correct node passes, and every mutant of the roles the
/// kit has suites for fails, naming the rule `vigil mutants` lists for it.
@Suite struct RefNodeCheckTests {
    static let roles = ["san-responder", "san-requestor", "failover-node"]

    static func mutants() throws -> [[String: String]] {
        let r = try CLITests.vigil("mutants", "--json")
        return (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: String]]) ?? []
    }

    @Test(arguments: roles)
    func correctRefnodePassesThroughStdio(role: String) throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-check-\(role)").path
        let r = try CLITests.vigil("check", "--role", role, "--iut", "builtin", "--out", out)
        #expect(r.status == 0, "\(r.stdout.suffix(3000))")
        #expect(r.stdout.contains(" 0 failed"))
    }

    @Test func everyMutantOfACheckedRoleIsCaughtWithItsRule() throws {
        let list = try Self.mutants().filter { Self.roles.contains($0["role"] ?? "") }
        #expect(list.count >= 20)
        for m in list {
            let name = m["name"]!, role = m["role"]!, rule = m["rule"]!
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-mutant-\(name)").path
            let r = try CLITests.vigil("check", "--role", role, "--iut", "builtin:\(name)", "--out", out)
            #expect(r.status == 1, "\(name): exit \(r.status)")
            let report = try String(contentsOfFile: out + "/report.json", encoding: .utf8)
            let json = try JSONSerialization.jsonObject(with: Data(report.utf8)) as? [String: Any]
            let cases = json?["cases"] as? [[String: Any]] ?? []
            let rules = cases.compactMap { ($0["divergence"] as? [String: Any])?["rule"] as? String }
            #expect(rules.first == rule, "\(name): the report names \(rules), `vigil mutants` says \(rule)")
        }
    }

    @Test(arguments: roles)
    func correctRefnodePassesThroughUDP(role: String) throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-udp-\(role)").path
        let r = try CLITests.vigil("check", "--role", role, "--udp", "--out", out)
        #expect(r.status == 0, "\(r.stdout.suffix(3000))")
        #expect(r.stdout.contains("(UDP)") || r.stdout.contains(" 0 failed"))
        let bad = try CLITests.vigil("check", "--role", role, "--udp", "--iut", ["san-responder": "builtin:rsp-skip-crc", "failover-node": "builtin:fo-skip-crc"][role] ?? "builtin:req-no-ndaa",
                                     "--out", out)
        #expect(bad.status == 1, "a mutant is caught over UDP too")
    }

    @Test func unknownMutantIsAUsageError() throws {
        let r = try CLITests.vigil("check", "--iut", "builtin:no-such-bug")
        #expect(r.status == 2 && r.stderr.contains("no mutant 'no-such-bug'"))
    }
}
