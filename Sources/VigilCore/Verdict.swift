/// An output of an implementation under test outside what the model allows, or a required output missing
/// at its deadline: the rule it breaks, where the patent says so, and the evidence.
public struct Divergence: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The rule id, e.g. SAN-RSP-DUP-ACK, or an ADAPTER-* id.
    public var rule: String
    /// Where the patent states the rule ("US 6,545,981, col. 10 ll. 3-5"), empty for adapter rules.
    public var citation: String
    /// The rule's statement.
    public var statement: String
    /// Index of the script line whose stimulus the IUT was answering (1-based line number when parsed).
    public var step: Int
    public var time: VirtualTime
    /// What the model allowed, in words.
    public var expected: String
    /// What the IUT did.
    public var observed: String

    public init(rule: String, citation: String, statement: String, step: Int, time: VirtualTime, expected: String, observed: String) {
        self.rule = rule
        self.citation = citation
        self.statement = statement
        self.step = step
        self.time = time
        self.expected = expected
        self.observed = observed
    }

    public init(rule: Rule, step: Int, time: VirtualTime, expected: String, observed: String) {
        self.init(rule: rule.id, citation: rule.citations.map(\.short).joined(separator: "; "), statement: rule.statement,
                  step: step, time: time, expected: expected, observed: observed)
    }

    public var description: String {
        "\(rule) at \(time) (line \(step)): expected \(expected); observed \(observed)"
            + (citation.isEmpty ? "" : " [\(citation)]")
    }
}

/// How one conformance case ended.
public enum Verdict: Hashable, Sendable, Codable {
    case pass
    case fail(Divergence)
    /// The IUT could not take part (it refused a command it does not support).
    case notApplicable(String)
    /// The conversation broke down (crash, hang, garbage): an ADAPTER-* rule.
    case error(Divergence)

    public var isFailure: Bool {
        switch self {
        case .fail, .error: return true
        default: return false
        }
    }

    public var divergence: Divergence? {
        switch self {
        case .fail(let d), .error(let d): return d
        default: return nil
        }
    }

    public var label: String {
        switch self {
        case .pass: return "pass"
        case .fail: return "FAIL"
        case .notApplicable: return "n/a"
        case .error: return "ERROR"
        }
    }
}
