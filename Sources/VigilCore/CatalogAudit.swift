/// Checks a rule catalog against the patent texts it cites. Used by each protocol's catalog test and by
/// `vigil rules --audit`; returns the problems found, one line each, empty when the catalog is sound.
public enum CatalogAudit {
    /// - Parameters:
    ///   - rules: the catalog.
    ///   - idPrefix: every id must start with it ("SAN-", "FO-").
    ///   - texts: patent number as cited ("US 6,545,981") to its text.
    public static func problems(in rules: [Rule], idPrefix: String, texts: [String: PatentText]) -> [String] {
        var problems: [String] = []
        var seen: Set<String> = []
        for rule in rules {
            let id = rule.id
            if !seen.insert(id).inserted { problems.append("\(id): id appears twice") }
            if !id.hasPrefix(idPrefix) { problems.append("\(id): id does not start with \(idPrefix)") }
            if id.contains(where: { !($0.isUppercase || $0.isNumber || $0 == "-") }) {
                problems.append("\(id): id may hold only A-Z, 0-9 and '-'")
            }
            if rule.statement.isEmpty { problems.append("\(id): empty statement") }
            switch rule.level {
            case .modelChoice:
                if (rule.rationale ?? "").isEmpty { problems.append("\(id): a model choice needs a rationale") }
            case .must, .may:
                if !rule.citations.contains(where: { !$0.quote.isEmpty }) {
                    problems.append("\(id): a \(rule.level.rawValue) rule needs at least one quoted citation")
                }
            }
            for citation in rule.citations where !citation.quote.isEmpty {
                guard let text = texts[citation.patent] else {
                    problems.append("\(id): cites \(citation.patent), whose text is not available")
                    continue
                }
                guard let offset = text.offset(of: citation.quote) else {
                    problems.append("\(id): quote not found in \(citation.patent): \"\(citation.quote.prefix(60))…\"")
                    continue
                }
                guard let column = citation.column else { continue }
                guard let found = text.location(atOffset: offset) else {
                    problems.append("\(id): quote stands before the description; cite a figure or claim instead")
                    continue
                }
                if found.column != column {
                    problems.append("\(id): quote stands at col. \(found.column) l. \(found.line), cited as col. \(column)")
                } else if let lines = citation.lines, let range = parseLines(lines),
                    !(range.lowerBound - 4...range.upperBound + 4).contains(found.line)
                {
                    problems.append("\(id): quote starts near l. \(found.line) of col. \(column), cited as ll. \(lines)")
                }
            }
        }
        return problems
    }

    static func parseLines(_ s: String) -> ClosedRange<Int>? {
        let parts = s.split(separator: "-").compactMap { Int($0) }
        switch parts.count {
        case 1: return parts[0]...parts[0]
        case 2 where parts[0] <= parts[1]: return parts[0]...parts[1]
        default: return nil
        }
    }
}
