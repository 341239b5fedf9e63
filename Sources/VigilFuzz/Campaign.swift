import Dispatch
import Synchronization
import VigilAdapters
import VigilConformance
import VigilCore

/// A fuzz campaign: generated and mutated cases run against an IUT, guided by model coverage; every
/// distinct divergence (by rule) is shrunk, replayed and kept.
///
/// Inputs are made in batches of `batchSize`: input `n` is a fresh case from the generator or a mutation
/// of a corpus entry, chosen from the seed and `n` alone and the corpus as it stood after the batches
/// before. Results are taken in input order, so the outcome (findings, corpus, run count) depends on the
/// seed, the IUT and the budget in runs, never on `jobs` or timing.
public struct Campaign {
    public struct Finding: Sendable {
        public var rule: String
        /// The input that first showed it.
        public var run: Int
        public var original: Script
        public var minimized: Script
        public var divergence: Divergence
        public var shrinkRuns: Int
        public var shrinkTime: Duration
        /// The minimized script's replay (transcript with recording on), for the evidence.
        public var replay: CaseResult
    }

    /// A divergence whose minimized script did not replay to the same rule: reported, not kept.
    public struct Flaky: Sendable {
        public var rule: String
        public var run: Int
        public var replayed: String
    }

    public struct Progress: Sendable {
        public var runs: Int
        public var coverage: Int
        public var corpus: Int
        public var findings: Int
        /// Generated or mutated inputs the oracle could not read (a mutation made a line invalid).
        public var invalid: Int
    }

    public struct Summary: Sendable {
        public var runs: Int
        public var findings: [Finding]
        public var flaky: [Flaky]
        public var coverage: Set<String>
        public var corpusAdded: Int
        /// Inputs the oracle could not read (a mutation made a line invalid): not run, not findings.
        public var invalid: Int
        /// Runs cut short at the per-case stimulus budget (`CaseIO.budget`): inconclusive, not findings.
        public var inconclusive: Int
        /// Why it stopped: "budget", "max-failures", "time", "interrupted", "iut".
        public var stoppedBy: String
    }

    public let role: Role
    public let seed: UInt64
    public var eventsPerCase: Int
    /// Inputs per batch; fixed, so that results do not depend on the number of jobs.
    public var batchSize = 64
    /// Runs allowed to each shrink.
    public var shrinkBudget = 600
    /// Of every 8 inputs, how many are mutations of the corpus (when it has entries).
    public var mutationShare: UInt64 = 5
    public private(set) var corpus: FuzzCorpus

    public init(role: Role, seed: UInt64, eventsPerCase: Int = 24, corpus: FuzzCorpus = FuzzCorpus()) {
        self.role = role
        self.seed = seed
        self.eventsPerCase = eventsPerCase
        self.corpus = corpus
    }

    func rng(_ n: Int, _ stream: UInt64) -> SplitMix64 {
        SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(n) &+ stream &* 0xD1B5_4A32_D192_ED03)
    }

    /// The `n`th freshly generated case of this campaign (independent of the others).
    public func generate(_ n: Int) -> Script? {
        var rng = rng(n, 0)
        guard var script = Generators.generate(role, &rng, events: eventsPerCase) else { return nil }
        script.headers = headers(n, origin: "generated")
        return script
    }

    func headers(_ n: Int, origin: String) -> [Script.Header] {
        [.init(key: "case", value: "fuzz-\(seed)-\(n)"), .init(key: "role", value: role.rawValue), .init(key: "seed", value: "\(seed)"),
         .init(key: "input", value: "\(n)"), .init(key: "origin", value: origin)]
    }

    /// Input `n`: a fresh case, or (when the corpus has entries) a mutation of one of them.
    public func input(_ n: Int) -> Script? {
        var choice = rng(n, 1)
        guard !corpus.entries.isEmpty, choice.below(8) < mutationShare else { return generate(n) }
        let i = Int(choice.below(UInt64(corpus.entries.count)))
        var mutator = Mutator(role: role, rng: rng(n, 2), donor: { k in
            // Fresh material for insertions: a generated case of its own stream.
            var r = self.rng(n &+ k &* 7919, 3)
            return Generators.generate(self.role, &r, events: self.eventsPerCase)
        }, corpus: corpus.scripts)
        var script = mutator.mutate(corpus.entries[i].script)
        script.headers = headers(n, origin: "mutated from \(corpus.entries[i].name)")
        return script
    }

    /// Adds a case to the corpus when `coverage` brings something new (a corpus file read at start).
    @discardableResult
    public mutating func addToCorpus(_ script: Script, name: String, coverage: Set<String>) -> Bool {
        corpus.add(script, name: name, coverage: coverage)
    }

    /// Runs inputs until the budget is spent. `runners` are one per job (one IUT each); `shouldStop` is
    /// asked between batches (Ctrl-C, the time budget); `progress` after every batch; `found` as soon as
    /// a finding is shrunk and replayed, so that it can be written before the campaign goes on.
    public mutating func run(runs: Int, maxFindings: Int = .max, runners: [ConformanceRunner],
                             shouldStop: () -> String? = { nil },
                             progress: (Progress) -> Void = { _ in },
                             found: (Finding) -> Void = { _ in }) -> Summary {
        precondition(!runners.isEmpty)
        var findings: [Finding] = []
        var flaky: [Flaky] = []
        var seenRules: Set<String> = []
        var done = 0
        var invalid = 0
        var inconclusive = 0
        var added = 0
        var stoppedBy = "budget"
        batches: while done < runs {
            if let why = shouldStop() {
                stoppedBy = why
                break
            }
            let first = done
            let count = min(batchSize, runs - done)
            let inputs = (first..<first + count).map { input($0) }
            if inputs.contains(where: { $0 == nil }) {
                stoppedBy = "no generator"
                break
            }
            let results = Self.execute(inputs.map { $0! }, on: runners)
            for (k, result) in results.enumerated() {
                let n = first + k
                done = n + 1
                if let failure = runners[0].startFailure, runners[0].identity == nil {
                    _ = failure
                    stoppedBy = "iut"
                    break batches
                }
                guard let d = result.verdict.divergence else {
                    // A case cut short is not kept: its mutants would be cut short too.
                    if result.budgetExhausted {
                        inconclusive += 1
                    } else if corpus.add(inputs[k]!, name: "run-\(n)", coverage: result.coverage) {
                        added += 1
                    }
                    continue
                }
                if d.rule == "SCRIPT" {
                    invalid += 1
                    continue
                }
                guard !seenRules.contains(d.rule) else { continue }
                seenRules.insert(d.rule)
                let script = inputs[k]!
                let clock = ContinuousClock()
                let start = clock.now
                let shrinker = Shrinker(budget: shrinkBudget, runner: runners[0], failing: result)
                let outcome = shrinker.shrink(script)
                let shrinkTime = clock.now - start
                let minimized = outcome?.script ?? script
                // Determinism self-check: the minimized script, written out and read back, must replay to
                // the same rule before it is kept.
                let replay = runners[0].run((try? Script.parse(minimized.text)) ?? minimized)
                guard replay.verdict.divergence?.rule == d.rule else {
                    flaky.append(Flaky(rule: d.rule, run: n, replayed: replay.verdict.divergence?.rule ?? "pass"))
                    continue
                }
                let finding = Finding(rule: d.rule, run: n, original: script, minimized: minimized,
                                      divergence: replay.verdict.divergence!, shrinkRuns: outcome?.runs ?? 0, shrinkTime: shrinkTime,
                                      replay: replay)
                findings.append(finding)
                found(finding)
                if findings.count >= maxFindings {
                    stoppedBy = "max-failures"
                    break batches
                }
            }
            progress(Progress(runs: done, coverage: corpus.coverage.count, corpus: corpus.entries.count, findings: findings.count,
                              invalid: invalid))
        }
        return Summary(runs: done, findings: findings, flaky: flaky, coverage: corpus.coverage, corpusAdded: added, invalid: invalid,
                       inconclusive: inconclusive, stoppedBy: stoppedBy)
    }

    /// Runs `inputs` on the runners (one thread each, inputs dealt round-robin); results in input order.
    static func execute(_ inputs: [Script], on runners: [ConformanceRunner]) -> [CaseResult] {
        if runners.count == 1 { return inputs.map { runners[0].run($0, recording: false) } }
        let slots = Mutex<[Int: CaseResult]>([:])
        let shared = UncheckedSendable((inputs, runners))
        DispatchQueue.concurrentPerform(iterations: runners.count) { job in
            let (inputs, runners) = shared.value
            var mine: [(Int, CaseResult)] = []
            for i in stride(from: job, to: inputs.count, by: runners.count) {
                mine.append((i, runners[job].run(inputs[i], recording: false)))
            }
            slots.withLock { for (i, r) in mine { $0[i] = r } }
        }
        return slots.withLock { s in inputs.indices.map { s[$0]! } }
    }
}

/// Hands values to concurrent jobs that each use their own part of them.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
