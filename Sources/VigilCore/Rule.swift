/// How binding a rule is.
///
/// `must` and `may` restate the patent; `modelChoice` marks a decision the kit made where the patent is
/// silent (a bit position, a code value, a time-out). A model choice is never passed off as the patent.
public enum RuleLevel: String, Sendable, Codable, CaseIterable {
    case must = "MUST"
    case may = "MAY"
    case modelChoice = "MODEL-CHOICE"
}

/// Where a patent says something.
///
/// `column` and `lines` follow the printed patent. The text we carry (`specs/patents/`) marks only some
/// column starts, so the line numbers are estimated from those markers; `quote` is verbatim (whitespace
/// folded) and is what a reader should search for. A test checks that every quote occurs in the text and
/// that the cited column agrees with where the quote stands.
public struct Citation: Sendable, Hashable, Codable {
    /// e.g. "US 6,545,981".
    public var patent: String
    /// Printed column, or nil when the citation is to a figure description or a claim only.
    public var column: Int?
    /// Printed lines within the column, e.g. "12-20" (estimated; see above).
    public var lines: String?
    /// Section heading of the description, when there is one.
    public var section: String?
    /// "FIG. 6" and the like.
    public var figure: String?
    /// Claim numbers, when a claim states the rule.
    public var claims: [Int]
    /// Verbatim words of the patent; empty for a pure model choice.
    public var quote: String

    public init(
        patent: String, column: Int? = nil, lines: String? = nil, section: String? = nil,
        figure: String? = nil, claims: [Int] = [], quote: String
    ) {
        self.patent = patent
        self.column = column
        self.lines = lines
        self.section = section
        self.figure = figure
        self.claims = claims
        self.quote = quote
    }

    /// A short human form: "US 6,545,981 col. 8 ll. 3-9, FIG. 6, claim 7".
    public var short: String {
        var parts = [patent]
        if let column {
            parts.append(lines.map { "col. \(column) ll. \($0)" } ?? "col. \(column)")
        }
        if let figure { parts.append(figure) }
        if !claims.isEmpty {
            parts.append((claims.count == 1 ? "claim " : "claims ") + claims.map(String.init).joined(separator: ", "))
        }
        return parts.joined(separator: ", ")
    }
}

/// One rule of a protocol, stated once, with its stable id.
public struct Rule: Sendable, Hashable, Codable, Identifiable {
    /// Stable id such as `SAN-RSP-DUP-ACK`; never reused for another meaning.
    public var id: String
    /// "san" or "failover".
    public var protocolName: String
    public var level: RuleLevel
    /// One sentence in the imperative, in the protocol's words.
    public var statement: String
    /// Where the patent says so. A model choice cites the passage it fills in, or nothing.
    public var citations: [Citation]
    /// For a model choice: why this choice, and what the patent leaves open.
    public var rationale: String?

    public init(
        id: String, protocolName: String, level: RuleLevel, statement: String, citations: [Citation],
        rationale: String? = nil
    ) {
        self.id = id
        self.protocolName = protocolName
        self.level = level
        self.statement = statement
        self.citations = citations
        self.rationale = rationale
    }

    enum CodingKeys: String, CodingKey {
        case id, protocolName = "protocol", level, statement, citations, rationale
    }
}

/// A protocol's rule ids. Model code names rules through this type, so an id outside the catalog does
/// not compile; the catalog supplies the text for each id.
public protocol RuleIdentifier: RawRepresentable, CaseIterable, Hashable, Sendable, Comparable
where RawValue == String {
    /// The catalog entry for this id.
    var rule: Rule { get }
}

extension RuleIdentifier {
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    /// Every rule of the protocol, in id order.
    public static var catalog: [Rule] { allCases.sorted().map(\.rule) }
}
