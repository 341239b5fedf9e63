/// The one script format of the kit (specs/script.md): conformance cases, fuzz findings, minimized repros
/// and the regression corpus are all scripts. A script is headers (`@key value`) and timed lines:
///
///     # a comment
///     @case rsp-dup-ack
///     @role san-responder
///     @rules SAN-RSP-DUP-ACK SAN-RSP-SEQ-PARTITION
///     0.000000 > command create-vi vi=1
///     0.000010 > packet port=0 req send ord first last seq=0 vi=1 tsn=1 data=07   # the first copy
///     0.000010 < packet port=0 ack send ord first last seq=0 vi=1 tsn=1
///
/// `>` is a stimulus to the IUT, `<` an observation from it. What follows the verb is the protocol's own
/// notation, parsed by the protocol module. `Script.parse` and `Script.text` are inverses: parsing what
/// was written gives the same script, and writing a parsed canonical script gives the same text.
public struct Script: Hashable, Sendable {
    public struct Header: Hashable, Sendable {
        public var key: String
        public var value: String
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    public enum Direction: String, Hashable, Sendable {
        case stimulus = ">"
        case observation = "<"
    }

    public struct Line: Hashable, Sendable {
        public var time: VirtualTime
        public var direction: Direction
        /// `packet`, `command`, `event`, `time`, `disk`, …
        public var verb: String
        /// The rest, in the protocol's notation (whitespace-separated tokens).
        public var argument: String {
            get { writtenArgument ?? prepared?.argument ?? "" }
            set {
                writtenArgument = newValue
                prepared = nil
            }
        }
        private var writtenArgument: String?
        public var comment: String?
        /// 1-based line number in the text it was parsed from (0 when built in code).
        public var lineNumber: Int
        /// What the line stands for, already built by whoever wrote it (a generator's frame), so that an
        /// oracle need not parse `argument`, and a generator need not write the argument until someone
        /// reads it (most fuzz runs are never read). Setting `argument` drops it.
        public var prepared: (any PreparedLine)?

        public init(time: VirtualTime, direction: Direction, verb: String, argument: String, comment: String? = nil, lineNumber: Int = 0,
                    prepared: (any PreparedLine)? = nil) {
            self.prepared = prepared
            self.time = time
            self.direction = direction
            self.verb = verb
            self.writtenArgument = argument
            self.comment = comment
            self.lineNumber = lineNumber
        }

        /// A line whose argument is written from `prepared` when first read.
        public init(time: VirtualTime, direction: Direction, verb: String, prepared: any PreparedLine) {
            self.init(time: time, direction: direction, verb: verb, argument: "", prepared: prepared)
            writtenArgument = nil
        }

        public static func == (a: Line, b: Line) -> Bool {
            a.time == b.time && a.direction == b.direction && a.verb == b.verb && a.argument == b.argument && a.comment == b.comment
        }

        public func hash(into h: inout Hasher) {
            h.combine(time)
            h.combine(verb)
            h.combine(argument)
        }
    }

    /// Comment lines before the first header, kept so that a written script keeps its preface.
    public var preface: [String]
    public var headers: [Header]
    public var lines: [Line]

    public init(preface: [String] = [], headers: [Header] = [], lines: [Line] = []) {
        self.preface = preface
        self.headers = headers
        self.lines = lines
    }

    /// The first value of a header, nil when absent.
    public subscript(header key: String) -> String? { headers.first { $0.key == key }?.value }

    /// A parse error: where and what.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public var line: Int
        public var column: Int
        public var message: String
        public init(line: Int, column: Int, _ message: String) {
            self.line = line
            self.column = column
            self.message = message
        }
        public var description: String { "line \(line), column \(column): \(message)" }
    }

    public static func parse(_ text: String) throws(ParseError) -> Script {
        // Read as Unicode scalars, not Characters: "\r\n" is one Character (so a split on "\n" never ended
        // such a line), and a tab or space followed by a combining mark is one Character that is no longer
        // a separator. Either way the text a parsed script writes parsed differently (found by the libFuzzer
        // script target; regressions in corpus/libfuzzer/script/). Columns count scalars.
        typealias Scalars = Substring.UnicodeScalarView
        func isBlank(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" }
        func isWordScalar(_ c: Unicode.Scalar) -> Bool {
            switch c.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark: return true
            default: return c.properties.isAlphabetic
            }
        }
        func string(_ s: Scalars) -> String { String(Substring(s)) }
        /// Blanks and carriage returns at the end go: a field that ended in "\r" would, written before
        /// the line's "\n", end the line differently.
        func trimmedEnd(_ s: Scalars) -> Scalars {
            var s = s
            while let c = s.last, isBlank(c) || c == "\r" { s = s.dropLast() }
            return s
        }
        var script = Script()
        var lastTime = VirtualTime.zero
        for (index, raw) in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            var line = raw
            while line.last == "\r" { line = line.dropLast() }
            let trimmed = line.drop(while: isBlank)
            if trimmed.isEmpty { continue }
            if trimmed.first == "#" {
                if script.headers.isEmpty && script.lines.isEmpty { script.preface.append(string(trimmed.dropFirst().drop { $0 == " " })) }
                continue
            }
            let column = line.count - trimmed.count + 1
            if trimmed.first == "@" {
                let body = trimmed.dropFirst()
                let key = body.prefix { !isBlank($0) }
                guard !key.isEmpty, key.allSatisfy({ isWordScalar($0) || $0.properties.numericType != nil || $0 == "-" }) else {
                    throw ParseError(line: number, column: column + 1, "a header is @name value; the name may hold letters, digits and '-'")
                }
                let value = body.dropFirst(key.count).drop(while: isBlank)
                script.headers.append(Header(key: string(key), value: string(trimmedEnd(value))))
                continue
            }
            // time direction verb argument [# comment]
            var rest = trimmed
            let timeText = Substring(rest.prefix { !isBlank($0) })
            guard let time = parseTime(timeText) else {
                throw ParseError(line: number, column: column, "expected a time in seconds such as 0.000250, found '\(timeText)'")
            }
            guard time >= lastTime else {
                throw ParseError(line: number, column: column, "time \(time) is earlier than the line before (\(lastTime)); time never goes back")
            }
            lastTime = time
            rest = rest.dropFirst(timeText.unicodeScalars.count).drop(while: isBlank)
            let directionColumn = line.count - rest.count + 1
            guard let d = rest.first, let direction = Direction(rawValue: String(d)) else {
                throw ParseError(line: number, column: directionColumn, "expected '>' (stimulus) or '<' (observation) after the time")
            }
            rest = rest.dropFirst().drop(while: isBlank)
            let verbColumn = line.count - rest.count + 1
            let verb = rest.prefix { !isBlank($0) && $0 != "#" }
            guard !verb.isEmpty, verb.allSatisfy({ isWordScalar($0) || $0 == "-" }) else {
                throw ParseError(line: number, column: verbColumn, "expected a verb (packet, command, event, …) after the direction")
            }
            rest = rest.dropFirst(verb.count)
            var comment: String? = nil
            if let hash = rest.firstIndex(of: "#") {
                comment = string(trimmedEnd(rest[rest.index(after: hash)...].drop(while: isBlank)))
                rest = rest[..<hash]
            }
            let argument = rest.split(whereSeparator: { isBlank($0) || $0 == "\r" }).map(string).joined(separator: " ")
            script.lines.append(Line(time: time, direction: direction, verb: string(verb), argument: argument, comment: comment,
                                     lineNumber: number))
        }
        return script
    }

    /// The script as text, in canonical form: preface comments, headers, then one line per step.
    public var text: String {
        var out = ""
        for p in preface { out += p.isEmpty ? "#\n" : "# \(p)\n" }
        for h in headers { out += h.value.isEmpty ? "@\(h.key)\n" : "@\(h.key) \(h.value)\n" }
        for l in lines {
            out += "\(l.time.scriptText) \(l.direction.rawValue) \(l.verb)"
            if !l.argument.isEmpty { out += " \(l.argument)" }
            if let c = l.comment { out += c.isEmpty ? "  #" : "  # \(c)" }
            out += "\n"
        }
        return out
    }

    static func parseTime(_ s: Substring) -> VirtualTime? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = UInt64(parts[0]), parts[0].allSatisfy(\.isASCII) else { return nil }
        var nanos: UInt64 = 0
        if parts.count == 2 {
            let frac = parts[1]
            guard (1...9).contains(frac.count), frac.allSatisfy({ $0.isASCII && $0.isNumber }), let f = UInt64(frac) else { return nil }
            nanos = f * UInt64(pow10(9 - frac.count))
        }
        let (w, overflow) = whole.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        // 18446744073.709551616 and above do not fit in 64-bit nanoseconds either (the sum used to trap;
        // corpus/libfuzzer/script/regress-time-overflow).
        let (total, carry) = w.addingReportingOverflow(nanos)
        guard !carry else { return nil }
        return VirtualTime(nanoseconds: total)
    }

    static func pow10(_ n: Int) -> Int { (0..<n).reduce(1) { r, _ in r * 10 } }
}

extension VirtualTime {
    /// Seconds with nine decimals, trailing zeros beyond the sixth dropped: 0.000250, 1.500000, 0.000000001.
    public var scriptText: String {
        let whole = nanoseconds / 1_000_000_000
        var frac = String(nanoseconds % 1_000_000_000)
        frac = String(repeating: "0", count: 9 - frac.count) + frac
        while frac.count > 6, frac.hasSuffix("0") { frac.removeLast() }
        return "\(whole).\(frac)"
    }
}

extension StringProtocol {
    func trimmedTrailing() -> String {
        var s = Substring(self)
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return String(s)
    }

    func trimmingLeading() -> Substring {
        Substring(self).drop { $0 == " " || $0 == "\t" }
    }
}

/// A line's stimulus built ahead of its text (see `Script.Line.prepared`).
public protocol PreparedLine: Sendable {
    /// The line's argument in the role's notation: what `Script.text` writes for it.
    var argument: String { get }
}
