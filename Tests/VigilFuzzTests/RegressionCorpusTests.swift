import Foundation
import Testing
import VigilAdapters
import VigilConformance
import VigilCore
import VigilFuzz

/// Every minimized repro found while building the kit lives under corpus/regressions/ROLE/. A file with
/// `@mutant M` and `@rule R` must fail with R against refnode's mutant M and pass against the correct
/// refnode; a file without them must pass against the correct refnode (it recorded a divergence that was
/// resolved, in refnode or in the model).
@Suite struct RegressionCorpusTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("corpus/regressions")

    static var files: [String] {
        let fm = FileManager.default
        guard let e = fm.enumerator(atPath: root.path) else { return [] }
        return e.compactMap { $0 as? String }.filter { $0.hasSuffix(".vgl") }.sorted()
    }

    static func runner(_ role: Role, _ mutant: String?) -> ConformanceRunner {
        ConformanceRunner(role: role, transport: { InProcessTransport { LinkedRefNodeIUT(mutant: mutant)! } }, oracle: Suites.oracle(for: role)!)
    }

    @Test func theCorpusIsThere() {
        #expect(Self.files.count >= 13, "\(Self.files)")
    }

    @Test(arguments: Self.files)
    func replaysAsRecorded(file: String) throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent(file), encoding: .utf8)
        let script = try Script.parse(text)
        let role = try #require(script[header: "role"].flatMap(Role.init(rawValue:)), "\(file) has no valid @role")
        #expect(file.hasPrefix(role.rawValue + "/"), "\(file) is filed under the wrong role")
        if let mutant = script[header: "mutant"] {
            let rule = try #require(script[header: "rule"], "\(file): @mutant without @rule")
            #expect(LinkedRefNodeIUT.mutants.contains { $0.name == mutant && $0.rule == rule }, "\(file): refnode lists \(mutant) with another rule")
            let failing = Self.runner(role, mutant).run(script)
            #expect(failing.verdict.divergence?.rule == rule, "\(file) against \(mutant): \(failing.verdict)")
            #expect(script.lines.filter { $0.direction == .stimulus }.count <= 12, "\(file) is not minimized")
        }
        let correct = Self.runner(role, nil).run(script)
        #expect(correct.verdict == .pass, "\(file) against the correct refnode: \(correct.verdict)")
    }

    /// The shipped fuzz corpus reads, and the correct refnode passes every case of it.
    @Test func theFuzzCorpusPassesAgainstTheCorrectRefnode() throws {
        let folder = Self.root.deletingLastPathComponent().appendingPathComponent("fuzz")
        var count = 0
        for role in Role.allCases {
            let cases = try FuzzCorpus.load(folder: folder.appendingPathComponent(role.rawValue).path)
            let runner = Self.runner(role, nil)
            for (name, script) in cases {
                count += 1
                #expect(runner.run(script).verdict == .pass, "corpus/fuzz/\(role.rawValue)/\(name)")
            }
        }
        #expect(count >= 20)
    }
}
