import Foundation
import VigilAdapters
import VigilCore

/// A whole run's results, ready for the CI system (JUnit XML, JSON) and for people (Markdown).
public struct RunReport: Codable, Sendable {
    public struct Case: Codable, Sendable {
        public var role: String
        public var id: String
        public var title: String
        public var rules: [String]
        /// pass, fail, error, n/a, or xfail (a failure listed in --expect).
        public var outcome: String
        public var divergence: Divergence?
        public var note: String?
        public var seconds: Double
        /// The transcript, a script that replays the case.
        public var transcript: String
    }

    public var kitVersion: String
    public var iut: String
    public var seed: UInt64
    public var cases: [Case]
    /// Entries of --expect that matched no failure.
    public var unusedExpectations: [String]

    public var failed: Int { cases.filter { $0.outcome == "fail" || $0.outcome == "error" }.count }
    public var passed: Int { cases.filter { $0.outcome == "pass" }.count }

    public init(kitVersion: String, iut: String, seed: UInt64, results: [CaseResult], expectations: Expectations = Expectations()) {
        self.kitVersion = kitVersion
        self.iut = iut
        self.seed = seed
        var used: Set<Int> = []
        cases = results.map { r in
            var outcome: String
            var note: String? = nil
            switch r.verdict {
            case .pass: outcome = "pass"
            case .fail: outcome = "fail"
            case .error: outcome = "error"
            case .notApplicable(let why): outcome = "n/a"; note = why
            }
            if let d = r.verdict.divergence, let i = expectations.match(role: r.role.rawValue, caseID: r.id, rule: d.rule) {
                used.insert(i)
                outcome = "xfail"
                note = "known deviation: " + expectations.entries[i].reason
            }
            return Case(role: r.role.rawValue, id: r.id, title: r.title, rules: r.rules, outcome: outcome, divergence: r.verdict.divergence,
                        note: note, seconds: Double(r.wall.components.seconds) + Double(r.wall.components.attoseconds) / 1e18,
                        transcript: r.transcript.text)
        }
        unusedExpectations = expectations.entries.indices.filter { !used.contains($0) }.map { expectations.entries[$0].text }
    }

    // MARK: JSON

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self) + "\n"
    }

    // MARK: JUnit

    /// JUnit XML in the shape GitHub, GitLab and Jenkins read: a testsuite per role, a testcase per case,
    /// the failure naming the rule, its citation, expected and observed; properties for kit, IUT, seed.
    public func junit() -> String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        let total = cases.reduce(0) { $0 + $1.seconds }
        out += "<testsuites name=\"vigil\" tests=\"\(cases.count)\" failures=\(q(count("fail"))) errors=\(q(count("error"))) time=\(q(secs(total)))>\n"
        for role in Dictionary(grouping: cases, by: \.role).keys.sorted() {
            let group = cases.filter { $0.role == role }
            out += "  <testsuite name=\(q(role)) tests=\"\(group.count)\" failures=\(q(group.filter { $0.outcome == "fail" }.count)) "
            out += "errors=\(q(group.filter { $0.outcome == "error" }.count)) skipped=\(q(group.filter { $0.outcome == "n/a" || $0.outcome == "xfail" }.count)) "
            out += "time=\(q(secs(group.reduce(0) { $0 + $1.seconds })))>\n"
            out += "    <properties>\n"
            out += "      <property name=\"kit-version\" value=\(q(kitVersion))/>\n"
            out += "      <property name=\"iut\" value=\(q(iut))/>\n"
            out += "      <property name=\"seed\" value=\"\(seed)\"/>\n"
            out += "    </properties>\n"
            for c in group {
                out += "    <testcase classname=\(q("vigil." + role)) name=\(q(c.id)) time=\(q(secs(c.seconds)))"
                switch c.outcome {
                case "pass":
                    out += "/>\n"
                    continue
                case "fail", "error":
                    let d = c.divergence!
                    let tag = c.outcome == "fail" ? "failure" : "error"
                    out += ">\n      <\(tag) type=\(q(d.rule)) message=\(q("\(d.rule): \(d.statement)"))>"
                    out += esc("\(d.rule) — \(d.statement)\nwhere: \(d.citation)\nat line \(d.step), \(d.time)\nexpected: \(d.expected)\nobserved: \(d.observed)\n\nrepro:\n\(c.transcript)")
                    out += "</\(tag)>\n"
                default:
                    out += ">\n      <skipped message=\(q(c.note ?? c.outcome))/>\n"
                }
                out += "    </testcase>\n"
            }
            out += "  </testsuite>\n"
        }
        out += "</testsuites>\n"
        return out
    }

    // MARK: Markdown

    public func markdown() -> String {
        var out = "# Vigil conformance report\n\nIUT: `\(iut)` · kit \(kitVersion) · seed \(seed)\n\n"
        out += "**\(passed) passed, \(failed) failed**"
        let xfail = cases.filter { $0.outcome == "xfail" }.count, na = cases.filter { $0.outcome == "n/a" }.count
        if xfail > 0 { out += ", \(xfail) known deviations" }
        if na > 0 { out += ", \(na) not applicable" }
        out += "\n\n| role | case | outcome | rule | where |\n|---|---|---|---|---|\n"
        for c in cases {
            out += "| \(c.role) | \(c.id) | \(c.outcome) | \(c.divergence.map { "`\($0.rule)`" } ?? "") | \(c.divergence?.citation ?? "") |\n"
        }
        for c in cases where c.outcome == "fail" || c.outcome == "error" {
            let d = c.divergence!
            out += "\n## \(c.role) / \(c.id): `\(d.rule)`\n\n\(d.statement)\n\n- where: \(d.citation)\n- at line \(d.step), \(d.time)\n"
            out += "- expected: \(d.expected)\n- observed: \(d.observed)\n\n```\n\(c.transcript)```\n"
        }
        if !unusedExpectations.isEmpty {
            out += "\n## Expectations that matched no failure\n\n" + unusedExpectations.map { "- `\($0)`\n" }.joined()
        }
        return out
    }

    private func count(_ outcome: String) -> Int { cases.filter { $0.outcome == outcome }.count }
    private func secs(_ s: Double) -> String { String(Double(Int(s * 1000)) / 1000) }
    private func q(_ s: Any) -> String { "\"" + esc("\(s)") + "\"" }
    private func esc(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\n", "\t": out.unicodeScalars.append(scalar)
            default:
                // XML 1.0 cannot carry other control characters.
                if scalar.value < 0x20 { out += "?" } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }
}

/// Known deviations (--expect FILE): one per line, `ROLE CASE RULE  # reason`. A vendor gates on "no new
/// failures": a failure listed here is reported, not counted. The reason is required.
public struct Expectations: Sendable {
    public struct Entry: Sendable {
        public var role: String
        public var caseID: String
        public var rule: String
        public var reason: String
        public var text: String
    }

    public var entries: [Entry] = []

    public init() {}

    public init(parsing text: String) throws(CaseError) {
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let hash = line.firstIndex(of: "#") else {
                throw CaseError(line: i + 1, "a known deviation needs a reason after '#': ROLE CASE RULE  # why")
            }
            let fields = line[..<hash].split(separator: " ").map(String.init)
            let reason = line[line.index(after: hash)...].trimmingCharacters(in: .whitespaces)
            guard fields.count == 3 else { throw CaseError(line: i + 1, "expected ROLE CASE RULE before '#', found \(fields.count) words") }
            guard !reason.isEmpty else { throw CaseError(line: i + 1, "the reason after '#' is empty") }
            guard Role(rawValue: fields[0]) != nil else { throw CaseError(line: i + 1, "unknown role '\(fields[0])'") }
            entries.append(Entry(role: fields[0], caseID: fields[1], rule: fields[2], reason: reason, text: String(line)))
        }
    }

    /// The entry for a failure, nil when none. `*` matches any case.
    public func match(role: String, caseID: String, rule: String) -> Int? {
        entries.firstIndex { $0.role == role && ($0.caseID == caseID || $0.caseID == "*") && $0.rule == rule }
    }
}
