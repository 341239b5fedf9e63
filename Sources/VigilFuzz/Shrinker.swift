import VigilConformance
import VigilCore

/// Reduces a failing script to a small one that still fails with the same rule, by re-running it: first
/// whole chunks of stimulus lines are deleted (halves, then quarters, … then single lines, in the manner
/// of delta debugging), then the numbers and byte strings of what is left are simplified (toward zero,
/// shorter), then each remaining gap in time is shortened. The result is a script the runner
/// replays to the same divergence.
public struct Shrinker {
    /// Runs a script and returns the divergence it ends with, nil when it passes.
    public typealias Oracle = (Script) -> Divergence?

    public let run: Oracle
    /// At most this many runs (each is one case against the IUT).
    public var budget: Int

    /// Lines a runner derives itself (deliveries it wrote into a transcript): dropped before shrinking.
    public let derived: (Script.Line) -> Bool

    public init(budget: Int = 2_000, derived: @escaping (Script.Line) -> Bool = { _ in false }, run: @escaping Oracle) {
        self.budget = budget
        self.derived = derived
        self.run = run
    }

    /// A shrinker whose candidates run on `runner` without a transcript, each within a stimulus budget
    /// scaled to the failing run's: a candidate is a smaller script, so one that needs many times the
    /// failing run's stimuli is chasing something else (typically a retry that its loosened faults now
    /// defeat for ever) and is cut short as inconclusive, which keeps a shrink to seconds.
    public init(budget: Int = 2_000, derived: @escaping (Script.Line) -> Bool = { _ in false }, runner: ConformanceRunner,
                failing: CaseResult) {
        let stimuli = Self.candidateBudget(failing: failing.stimuli)
        self.init(budget: budget, derived: derived) { runner.run($0, recording: false, budget: stimuli).verdict.divergence }
    }

    /// The stimuli a shrink candidate may send: four times the failing run's, at least 20,000, at most the
    /// kit's per-case budget.
    public static func candidateBudget(failing stimuli: Int) -> Int { min(CaseIO.defaultBudget, max(20_000, 4 * stimuli)) }

    public struct Outcome: Sendable {
        public var script: Script
        public var divergence: Divergence
        public var runs: Int
        /// Stimulus lines before and after.
        public var before: Int
        public var after: Int
    }

    /// nil when `script` does not fail to begin with.
    public func shrink(_ script: Script) -> Outcome? {
        var runs = 1
        guard let first = run(script) else { return nil }
        let rule = first.rule
        var best = script
        best.lines = script.lines.filter { $0.direction == .stimulus && !derived($0) }
        var bestDivergence = first
        func stillFails(_ candidate: Script) -> Divergence? {
            guard runs < budget else { return nil }
            runs += 1
            guard let d = run(candidate), d.rule == rule else { return nil }
            return d
        }
        // The transcript's own observations are not needed to replay: drop them first.
        if best != script, let d = stillFails(best) { bestDivergence = d } else if best != script { best = script }

        // Delete chunks of lines, from large to single.
        func deleteChunks() {
            var chunk = max(1, best.lines.count / 2)
            while chunk >= 1 {
                var start = 0
                var progressed = false
                while start < best.lines.count {
                    var candidate = best
                    candidate.lines.removeSubrange(start..<min(best.lines.count, start + chunk))
                    if !candidate.lines.isEmpty, let d = stillFails(candidate) {
                        best = candidate
                        bestDivergence = d
                        progressed = true
                    } else {
                        start += chunk
                    }
                }
                if !progressed { chunk /= 2 }
            }
        }

        // Simplify what is left: each `key=number` token toward zero (0, 1, half), each `data=`/`hex=`
        // byte string shorter, as far as the failure allows.
        func simplifyTokens() {
            for i in best.lines.indices {
                var tokens = best.lines[i].argument.split(separator: " ").map(String.init)
                for k in tokens.indices {
                    for simpler in Self.simpler(tokens[k]) {
                        var candidateTokens = tokens
                        candidateTokens[k] = simpler
                        var candidate = best
                        candidate.lines[i].argument = candidateTokens.joined(separator: " ")
                        if let d = stillFails(candidate) {
                            best = candidate
                            bestDivergence = d
                            tokens = candidateTokens
                            break
                        }
                    }
                }
            }
        }

        // A simpler number can make lines removable that were not (a sequence number no longer needs the
        // packets before it): go round until neither step changes anything.
        var previous: Script
        repeat {
            previous = best
            deleteChunks()
            simplifyTokens()
        } while best != previous && runs < budget

        // Shorten the gaps: move each line (and all after it) earlier, as far as the failure allows.
        var i = 1
        while i < best.lines.count {
            let gap = best.lines[i].time.nanoseconds - best.lines[i - 1].time.nanoseconds
            var step = gap
            while step > 0 {
                var candidate = best
                for j in i..<candidate.lines.count { candidate.lines[j].time.nanoseconds -= step }
                if let d = stillFails(candidate) {
                    best = candidate
                    bestDivergence = d
                    break
                }
                step /= 2
            }
            i += 1
        }
        best.headers.removeAll { $0.key == "shrunk" }
        best.headers.append(.init(key: "shrunk", value: "from \(stimuli(script)) to \(stimuli(best)) stimuli in \(runs) runs"))
        return Outcome(script: best, divergence: bestDivergence, runs: runs, before: stimuli(script), after: stimuli(best))
    }

    /// Simpler spellings of one token, simplest first: a number toward zero, a byte string shorter.
    static func simpler(_ token: String) -> [String] {
        guard let eq = token.firstIndex(of: "=") else { return [] }
        let key = token[..<eq], value = token[token.index(after: eq)...]
        if key == "data" || key == "hex" {
            guard value.count > 2 else { return [] }
            // Keep whole bytes: the first byte alone, then the first half.
            let half = (value.count / 4) * 2
            return [String(value.prefix(2)), String(value.prefix(half))].filter { $0.count < value.count && !$0.isEmpty }
                .map { "\(key)=\($0)" }
        }
        let hex = value.hasPrefix("0x")
        guard let v = hex ? UInt64(value.dropFirst(2), radix: 16) : UInt64(value), v > 0 else { return [] }
        var out: [UInt64] = [0]
        if v > 1 { out.append(1) }
        if v > 3 { out.append(v / 2) }
        return out.map { "\(key)=" + (hex ? "0x" + String($0, radix: 16, uppercase: true) : String($0)) }
    }

    func stimuli(_ s: Script) -> Int { s.lines.filter { $0.direction == .stimulus && !derived($0) }.count }
}
