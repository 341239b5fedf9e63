/// A patent's text as we carry it in `specs/patents/`, with the means to find a quote and estimate the
/// printed column and line it stands at.
///
/// The OCR text keeps only some of the printed column numbers, as lines of their own ("5", or "## 5").
/// Between two known column starts the columns are taken to be of equal length, and a printed column to
/// have 67 lines; the estimate is good to a few lines, which is why every citation also quotes.
public struct PatentText: Sendable {
    /// Whitespace-folded text with the column-marker lines removed.
    public let folded: String
    private let foldedScalars: [Unicode.Scalar]
    /// (offset in `folded`, column that starts there), ascending.
    private let columnStarts: [(offset: Int, column: Int)]
    private static let linesPerColumn = 67

    public init(markdown: String) {
        var folded: [Unicode.Scalar] = []
        var starts: [(Int, Int)] = []
        var sawDescription = false
        for rawLine in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = rawLine.trimmingWhitespace()
            if let column = Self.columnMarker(line) {
                starts.append((folded.count, column))
                continue
            }
            // The description proper begins column 1 when the text has no "1" marker of its own.
            if !sawDescription, line.hasPrefix("# "), line.uppercased() == line {
                sawDescription = true
                if !starts.contains(where: { $0.1 == 1 }) { starts.append((folded.count, 1)) }
            }
            for scalar in line.unicodeScalars {
                let isSpace = scalar == " " || scalar == "\t" || scalar == "\r" || scalar == "\u{00A0}"
                if isSpace {
                    if let last = folded.last, last != " " { folded.append(" ") }
                } else {
                    folded.append(scalar)
                }
            }
            if let last = folded.last, last != " " { folded.append(" ") }
        }
        self.foldedScalars = folded
        var text = String.UnicodeScalarView()
        text.append(contentsOf: folded)
        self.folded = String(text)
        self.columnStarts = starts.sorted { $0.0 < $1.0 }.map { (offset: $0.0, column: $0.1) }
    }

    /// Folds whitespace the same way the text was folded, so quotes can be compared.
    public static func fold(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in s.unicodeScalars {
            if scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar == "\u{00A0}" {
                if let last = out.last, last != " " { out.append(" ") }
            } else {
                out.append(scalar)
            }
        }
        while out.last == " " { out.removeLast() }
        return String(out)
    }

    /// The offset of `quote` (folded) in the text, or nil when it does not occur.
    public func offset(of quote: String) -> Int? {
        let needle = Array(Self.fold(quote).unicodeScalars)
        guard !needle.isEmpty, needle.count <= foldedScalars.count else { return nil }
        var i = 0
        while i + needle.count <= foldedScalars.count {
            if foldedScalars[i] == needle[0], Array(foldedScalars[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }

    /// Estimated printed (column, line) at a folded-text offset; nil before the description starts.
    public func location(atOffset offset: Int) -> (column: Int, line: Int)? {
        guard let index = columnStarts.lastIndex(where: { $0.offset <= offset }) else { return nil }
        let here = columnStarts[index]
        let width: Double
        if index + 1 < columnStarts.count {
            let next = columnStarts[index + 1]
            width = Double(next.offset - here.offset) / Double(max(1, next.column - here.column))
        } else {
            width = averageColumnWidth
        }
        let columnsIn = Double(offset - here.offset) / width
        let column = here.column + Int(columnsIn)
        let fraction = columnsIn - Double(Int(columnsIn))
        return (column, 1 + Int(fraction * Double(Self.linesPerColumn - 1)))
    }

    /// Where a quote stands, or nil when it does not occur.
    public func locate(_ quote: String) -> (column: Int, line: Int)? {
        offset(of: quote).flatMap { location(atOffset: $0) }
    }

    private var averageColumnWidth: Double {
        guard let first = columnStarts.first, let last = columnStarts.last, last.column > first.column else {
            return 3400
        }
        return Double(last.offset - first.offset) / Double(last.column - first.column)
    }

    private static func columnMarker(_ line: Substring) -> Int? {
        var body = line
        if body.hasPrefix("## ") { body = body.dropFirst(3) }
        guard (1...2).contains(body.count), body.allSatisfy(\.isASCII), let n = Int(body), n > 0 else { return nil }
        return n
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" || c == "\r" || c == "\u{00A0}" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" || c == "\u{00A0}" { s = s.dropLast() }
        return s
    }
}
