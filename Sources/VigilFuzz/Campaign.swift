import VigilAdapters
import VigilConformance
import VigilCore

/// A fuzz campaign: seeded generated cases run against an IUT; every distinct divergence (by role and
/// rule) is shrunk and kept. Deterministic for a seed and an IUT.
public struct Campaign {
    public struct Finding: Sendable {
        public var rule: String
        public var run: Int
        public var original: Script
        public var minimized: Script
        public var divergence: Divergence
        public var shrinkRuns: Int
    }

    public let role: Role
    public let seed: UInt64
    public var eventsPerCase: Int

    public init(role: Role, seed: UInt64, eventsPerCase: Int = 24) {
        self.role = role
        self.seed = seed
        self.eventsPerCase = eventsPerCase
    }

    /// The `n`th generated case of this campaign (independent of the others, so that a finding replays
    /// from its number alone).
    public func generate(_ n: Int) -> Script? {
        var rng = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(n))
        guard var script = Generators.generate(role, &rng, events: eventsPerCase) else { return nil }
        script.headers = [.init(key: "case", value: "fuzz-\(seed)-\(n)"), .init(key: "role", value: role.rawValue),
                          .init(key: "seed", value: "\(seed)"), .init(key: "run", value: "\(n)")]
        return script
    }

    /// Runs up to `runs` cases; stops early after `maxFindings` distinct rules. `progress` is told after
    /// every case (runs done, findings so far).
    public func run(runs: Int, maxFindings: Int = .max, runner: ConformanceRunner, shrinkBudget: Int = 500,
                    progress: (Int, [Finding]) -> Bool = { _, _ in true }) -> (findings: [Finding], runs: Int) {
        var findings: [Finding] = []
        var done = 0
        for n in 0..<runs {
            guard let script = generate(n) else { break }
            let result = runner.run(script)
            done += 1
            if let d = result.verdict.divergence, !findings.contains(where: { $0.rule == d.rule }) {
                let shrinker = Shrinker(budget: shrinkBudget) { runner.run($0).verdict.divergence }
                let outcome = shrinker.shrink(script)
                findings.append(Finding(rule: d.rule, run: n, original: script, minimized: outcome?.script ?? script,
                                        divergence: outcome?.divergence ?? d, shrinkRuns: outcome?.runs ?? 0))
            }
            if findings.count >= maxFindings || !progress(done, findings) { break }
        }
        return (findings, done)
    }
}
