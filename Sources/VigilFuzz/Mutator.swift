import VigilAdapters
import VigilConformance
import VigilCore
import VigilSAN

/// Mutates a corpus case into a new input, aware of the script notation (`key=value` tokens) and, for
/// SAN packets, of the wire format:
///
/// - lines: delete a few, duplicate one (a resend), swap two neighbours (a reorder), splice with another
///   corpus case, insert lines of a freshly generated case;
/// - numbers: a `key=value` number moved to a boundary the protocol's arithmetic cares about (±1, the
///   window's edges 127/128/129 away, the wrap at 255/256, zero, the field's maximum);
/// - bytes: a SAN packet rewritten as raw bytes with a bit flipped, a byte set, the packet truncated or
///   extended, then either the CRC left wrong or recomputed (so that the damage reaches the checks after
///   the CRC);
/// - time: a gap stretched across the time-outs (1 ms to 1 s for SAN, 0.1 s to 10 s for failover).
///
/// Everything comes from `rng`: same state, same mutation.
public struct Mutator {
    public let role: Role
    public var rng: SplitMix64
    /// A generated case to take lines from (argument: which donor).
    public let donor: (Int) -> Script?
    public let corpus: [Script]

    public init(role: Role, rng: SplitMix64, donor: @escaping (Int) -> Script?, corpus: [Script]) {
        self.role = role
        self.rng = rng
        self.donor = donor
        self.corpus = corpus
    }

    /// A stimulus line with the gap since the line before it.
    struct Step {
        var line: Script.Line
        var gap: UInt64
    }

    static func steps(_ script: Script) -> [Step] {
        var last: UInt64 = 0
        return script.lines.filter { $0.direction == .stimulus }.map { line in
            defer { last = line.time.nanoseconds }
            return Step(line: line, gap: line.time.nanoseconds >= last ? line.time.nanoseconds - last : 0)
        }
    }

    static func script(_ steps: [Step], like original: Script) -> Script {
        var s = Script(preface: [], headers: original.headers)
        var t: UInt64 = 0
        for var step in steps {
            t += step.gap
            if step.line.time.nanoseconds != t, step.line.verb == "time" {
                // A prepared frame is never made for a time line, but be safe: its text is the truth.
                let argument = step.line.argument
                step.line.argument = argument
            }
            step.line.time = VirtualTime(nanoseconds: t)
            step.line.lineNumber = 0
            s.lines.append(step.line)
        }
        return s
    }

    public mutating func mutate(_ script: Script) -> Script {
        var steps = Self.steps(script)
        let rounds = 1 + Int(rng.below(3))
        for _ in 0..<rounds { mutateOnce(&steps) }
        if steps.isEmpty { steps = Self.steps(script) }
        return Self.script(steps, like: script)
    }

    mutating func index(_ steps: [Step]) -> Int { Int(rng.below(UInt64(max(1, steps.count)))) }

    mutating func mutateOnce(_ steps: inout [Step]) {
        guard !steps.isEmpty else { return }
        switch rng.below(16) {
        case 0, 1:
            // Delete one to three lines.
            let i = index(steps)
            let n = min(steps.count - i, 1 + Int(rng.below(3)))
            if steps.count > n { steps.removeSubrange(i..<i + n) }
        case 2:
            // Duplicate a line (a resend, or the same command twice).
            let i = index(steps)
            var copy = steps[i]
            copy.gap = [0, 1_000, 1_000_000][Int(rng.below(3))]
            steps.insert(copy, at: i + 1)
        case 3:
            // Swap neighbours (a reorder).
            guard steps.count > 1 else { return }
            let i = Int(rng.below(UInt64(steps.count - 1)))
            steps.swapAt(i, i + 1)
        case 4:
            // Splice: this case's beginning, another corpus case's end.
            guard let other = corpus.isEmpty ? nil : corpus[Int(rng.below(UInt64(corpus.count)))] else { return }
            let tail = Self.steps(other)
            guard !tail.isEmpty else { return }
            let cut = index(steps) + 1
            let from = Int(rng.below(UInt64(tail.count)))
            steps = Array(steps[..<cut]) + tail[from...]
        case 5, 6:
            // Insert a few lines of a freshly generated case.
            guard let d = donor(Int(rng.below(1 << 20))) else { return }
            let fresh = Self.steps(d)
            guard !fresh.isEmpty else { return }
            let from = Int(rng.below(UInt64(fresh.count)))
            let n = min(fresh.count - from, 1 + Int(rng.below(4)))
            steps.insert(contentsOf: fresh[from..<from + n], at: Int(rng.below(UInt64(steps.count + 1))))
        case 7, 8, 9, 10:
            let i = index(steps)
            if let tweaked = tweakNumber(steps[i].line.argument) { steps[i].line.argument = tweaked }
        case 11, 12, 13:
            let i = index(steps)
            if role != .sanRequestor, steps[i].line.verb == "packet", let damaged = damagePacket(steps[i].line.argument) {
                steps[i].line.argument = damaged
            } else if let tweaked = tweakNumber(steps[i].line.argument) {
                steps[i].line.argument = tweaked
            }
        default:
            // Stretch a gap across the time-outs.
            let i = index(steps)
            // The SAN time-outs are milliseconds, the failover ones seconds.
            let stretches: [UInt64] = role == .failoverNode
                ? [100_000_000, 1_000_000_000, 2_000_000_000, 5_000_000_000, 10_000_000_000]
                : [1_000_000, 10_000_000, 50_000_000, 100_000_000, 200_000_000, 1_000_000_000]
            steps[i].gap += stretches[Int(rng.below(UInt64(stretches.count)))]
        }
    }

    /// One `key=number` token of `argument` moved to a boundary; nil when there is none.
    mutating func tweakNumber(_ argument: String) -> String? {
        var tokens = argument.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let numeric = tokens.indices.filter { i in
            guard let eq = tokens[i].firstIndex(of: "="), tokens[i][..<eq] != "data", tokens[i][..<eq] != "hex" else { return false }
            return Self.number(tokens[i][tokens[i].index(after: eq)...]) != nil
        }
        guard !numeric.isEmpty else { return nil }
        let i = numeric[Int(rng.below(UInt64(numeric.count)))]
        let eq = tokens[i].firstIndex(of: "=")!
        let key = tokens[i][..<eq]
        let text = tokens[i][tokens[i].index(after: eq)...]
        let value = Self.number(text)!
        let candidates: [UInt64] = [
            value &+ 1, value &- 1, value &+ 2, value &+ 127, value &+ 128, value &+ 129, value &- 127, value &- 128, value &- 129,
            0, 1, 127, 128, 129, 254, 255, 256, 4_095, 4_096, 65_535, 65_536, UInt64(UInt32.max),
        ]
        var v = candidates[Int(rng.below(UInt64(candidates.count)))]
        if v > 1 << 40 { v = value &+ 1 }
        let written = text.hasPrefix("0x") ? "0x" + String(v, radix: 16, uppercase: true) : String(v)
        tokens[i] = "\(key)=\(written)"
        return tokens.joined(separator: " ")
    }

    static func number(_ s: Substring) -> UInt64? {
        if s.hasPrefix("0x") { return UInt64(s.dropFirst(2), radix: 16) }
        return UInt64(s)
    }

    /// A SAN packet line (`port=P notation`) rewritten as raw bytes with damage; nil when the line does
    /// not hold a packet.
    mutating func damagePacket(_ argument: String) -> String? {
        guard let space = argument.firstIndex(of: " "), argument.hasPrefix("port="),
              let packet = try? SANWirePacket(notation: String(argument[argument.index(after: space)...])) else { return nil }
        var bytes = packet.bytes
        guard !bytes.isEmpty else { return nil }
        switch rng.below(5) {
        case 0: bytes[Int(rng.below(UInt64(bytes.count)))] ^= UInt8(1) << UInt8(rng.below(8))
        case 1: bytes[Int(rng.below(UInt64(bytes.count)))] = [0, 0x7F, 0x80, 0xFF][Int(rng.below(4))]
        case 2: bytes.removeLast(min(bytes.count, 1 + Int(rng.below(8))))
        case 3: bytes.append(contentsOf: (0..<1 + Int(rng.below(8))).map { _ in UInt8(rng.below(256)) })
        default:
            // Damage in the header or body with the CRC made right again: the later checks must catch it.
            guard bytes.count > 8 else { return nil }
            bytes[Int(rng.below(UInt64(bytes.count - 4)))] ^= UInt8(1) << UInt8(rng.below(8))
        }
        if rng.below(2) == 0, bytes.count > 4 {
            let crc = CRC32C.checksum(bytes, range: 0..<bytes.count - 4)
            for k in 0..<4 { bytes[bytes.count - 4 + k] = UInt8(truncatingIfNeeded: crc >> UInt32(24 - 8 * k)) }
        }
        return String(argument[..<space]) + " " + SANWirePacket.raw(bytes).notation
    }
}
