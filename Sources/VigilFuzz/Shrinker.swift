import VigilConformance
import VigilCore

/// Reduces a failing script to a small one that still fails with the same rule, by re-running it: first
/// whole chunks of stimulus lines are deleted (halves, then quarters, … then single lines, in the manner
/// of delta debugging), then each remaining gap in time is shortened. The result is a script the runner
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

    func stimuli(_ s: Script) -> Int { s.lines.filter { $0.direction == .stimulus && !derived($0) }.count }
}
