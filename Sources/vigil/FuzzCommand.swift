import ArgumentParser
import Foundation
import Synchronization
import VigilAdapters
import VigilConformance
import VigilCore
import VigilEvidence
import VigilFuzz

struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Run generated and mutated cases against an IUT; shrink and keep every distinct divergence.",
        discussion: """
            Each run is one case. Fresh cases come from the role's generator: for san-responder a stream of \
            packets with sequence numbers at the expected one, just ahead, at the window's edges and across \
            the wrap, resends, malformed packets and supervisory messages; for san-requestor descriptors of \
            every kind with losses, corruption, stale answers, cut paths and time-outs; for failover-node \
            the peer's status messages on the three channels, cuts, silence, reboots and operator commands. \
            The model reports which rules, states and arithmetic features each run reached; a run that \
            reaches something new joins the corpus and is mutated further (lines deleted, duplicated, \
            reordered, spliced; numbers moved to the window's edges and the wrap; packets damaged byte by \
            byte with the CRC left wrong or recomputed; gaps stretched across the time-outs).

            The first divergence of each rule is shrunk to the smallest script that still breaks the same \
            rule, replayed once more (a script that does not replay is reported as flaky), and written to \
            --out/ROLE/ at once: RULE.vgl (replay with `vigil replay`), RULE.pcap (open with `vigil pcap` \
            or tshark and specs/vigil.lua) and RULE.md; findings an earlier campaign left there are removed \
            first. Ctrl-C stops after the runs in flight; whatever \
            was found is already on disk. Same seed, same IUT, same --runs: the same findings and corpus, \
            byte for byte, whatever --jobs is.

            Exit status: 0 nothing diverged; 1 something did; 2 usage or input error; 3 the IUT could not \
            be started; 130 interrupted before anything diverged.

            Examples:
              vigil fuzz --role san-responder --iut builtin:rsp-skip-crc --runs 5000
              vigil fuzz --role san-requestor --iut-cmd ./my-adapter --time 10m --jobs 2 --corpus corpus/fuzz/san-requestor
              vigil fuzz --role san-responder --merge new-corpus --corpus corpus/fuzz/san-responder
            """
    )

    @Option(name: .long, help: "The role: san-responder, san-requestor or failover-node.")
    var role: String

    @OptionGroup var target: IUTOptions

    @Option(name: .long, help: "The seed.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "How many runs (cases) at most.")
    var runs: Int = 10_000

    @Option(name: .long, help: "Stop after this long (wall time), e.g. 90s, 10m, 2h. The run count then depends on speed.")
    var time: String?

    @Option(name: .long, help: "Stop after this many distinct divergences (default: no limit).")
    var maxFailures: Int?

    @Option(name: .long, help: "Stimuli per generated case.")
    var events: Int = 24

    @Option(name: .long, help: "IUT instances run at once (results do not depend on it).")
    var jobs: Int = 1

    @Option(name: .long, help: "Corpus folder: its cases seed the campaign and new coverage is saved into it.")
    var corpus: String?

    @Option(name: .long, parsing: .upToNextOption, help: "Merge mode: run the cases of these folders and add to --corpus those that bring new coverage; no fuzzing.")
    var merge: [String] = []

    @Option(name: .long, help: "Runs allowed to each shrink.")
    var shrinkBudget: Int = 600

    @Option(name: .long, help: "Folder for the findings.")
    var out = "reports/fuzz"

    func validate() throws {
        guard Role(rawValue: role) != nil else {
            throw ValidationError("Unknown role '\(role)'. Roles: \(Role.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        guard (1...100_000_000).contains(runs) else { throw ValidationError("--runs must be 1-100000000.") }
        guard (2...10_000).contains(events) else { throw ValidationError("--events must be 2-10000.") }
        guard (maxFailures ?? 1) > 0 else { throw ValidationError("--max-failures must be at least 1.") }
        guard (1...64).contains(jobs) else { throw ValidationError("--jobs must be 1-64.") }
        guard (1...1_000_000).contains(shrinkBudget) else { throw ValidationError("--shrink-budget must be 1-1000000.") }
        if let time { _ = try Self.parseDuration(time) }
        guard merge.isEmpty || corpus != nil else { throw ValidationError("--merge needs --corpus (the folder to merge into).") }
    }

    /// `90`, `90s`, `1500ms`, `10m`, `2h`.
    static func parseDuration(_ text: String) throws -> Duration {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if suffix == "s", text.hasSuffix("ms") { continue }
            if let v = Double(text.dropLast(suffix.count)), v > 0, v * scale <= 30 * 86_400 {
                return .milliseconds(Int64(v * scale * 1000))
            }
            throw ValidationError("--time '\(text)': expected a positive number with s, ms, m or h (at most 30 days), e.g. 90s or 10m.")
        }
        if let v = Double(text), v > 0, v <= 30 * 86_400 { return .milliseconds(Int64(v * 1000)) }
        throw ValidationError("--time '\(text)': expected a positive number with s, ms, m or h, e.g. 90s or 10m.")
    }

    func run() throws {
        let role = Role(rawValue: self.role)!
        try target.requireModel(for: role)
        let makeOracle = try oracle(for: role)
        let runners = (0..<jobs).map { _ in
            ConformanceRunner(role: role, limits: target.limits, transport: target.transport(for: role), oracle: makeOracle)
        }
        defer { runners.forEach { $0.closeSession() } }

        var campaign = Campaign(role: role, seed: seed, eventsPerCase: events)
        campaign.shrinkBudget = shrinkBudget
        if let corpus {
            let sources = merge.isEmpty ? [corpus] : [corpus] + merge
            var seeds: [(name: String, script: Script)] = []
            for folder in sources {
                do {
                    seeds += try FuzzCorpus.load(folder: folder)
                } catch {
                    throw ValidationError("corpus: \(error)")
                }
            }
            let before = seeds.count
            let kept = campaign.seedCorpus(seeds, runner: runners[0])
            try startFailure(runners)
            if !merge.isEmpty {
                let existing = Set((try? FuzzCorpus.load(folder: corpus))?.map(\.name) ?? [])
                let written = try save(campaign.corpus.entries.filter { !existing.contains($0.name) }, into: corpus)
                print("merge: \(before) cases read, \(kept) bring coverage (\(campaign.corpus.coverage.count) features), \(written) new in \(corpus)")
                return
            }
            print("corpus \(corpus): \(before) cases, \(kept) kept, \(campaign.corpus.coverage.count) features")
        }

        let deadline = try time.map { ContinuousClock.now + (try Self.parseDuration($0)) }
        let clock = ContinuousClock()
        let start = clock.now
        let progress = ProgressLine(total: runs, deadline: deadline, start: start)
        Interrupt.install()
        defer { Interrupt.uninstall() }
        let writer = FindingWriter(folder: (out as NSString).appendingPathComponent(role.rawValue), role: role, seed: seed,
                                   iut: target.label)
        // The folder shows this campaign's findings: those an earlier run left there are removed first.
        writer.removeEarlierFindings()
        var writeError: Error?
        let summary = campaign.run(
            runs: runs, maxFindings: maxFailures ?? .max, runners: runners,
            shouldStop: {
                if Interrupt.requested { return "interrupted" }
                if let deadline, clock.now >= deadline { return "time" }
                return nil
            },
            progress: { progress.update($0) },
            found: { f in
                progress.clear()
                do {
                    let paths = try writer.write(f)
                    Self.report(f, paths: paths)
                } catch {
                    writeError = error
                }
            })
        progress.clear()
        if let writeError { throw ValidationError("Cannot write the findings under '\(out)': \(writeError)") }
        try startFailure(runners)
        for f in summary.flaky {
            print("FLAKY \(f.rule) at run \(f.run): the minimized script replayed to \(f.replayed), not the same rule; not kept")
        }
        if let corpus {
            let saved = try save(campaign.corpus.entries.filter { $0.name.hasPrefix("run-") }, into: corpus)
            print("corpus \(corpus): \(saved) new cases saved")
        }
        let seconds = (clock.now - start).seconds
        let ruleCount = summary.coverage.filter { $0.hasPrefix("SAN-") || $0.hasPrefix("FO-") }.count
        print("""
            \(summary.runs) runs in \(String(format: "%.2f", seconds)) s (\(Int(Double(summary.runs) / max(seconds, 0.001))) runs/s, \(jobs) job\(jobs == 1 ? "" : "s")); \
            coverage \(summary.coverage.count) features (\(ruleCount) rules); corpus \(campaign.corpus.entries.count); \
            \(summary.invalid) mutated inputs unreadable; \(summary.inconclusive) inconclusive (past the per-case budget); \
            \(summary.findings.count) distinct divergence\(summary.findings.count == 1 ? "" : "s"); stopped by \(summary.stoppedBy) \
            (\(role), seed \(seed), IUT \(runners[0].identity?.name ?? target.label))
            """)
        if !summary.findings.isEmpty {
            print("findings: \(writer.folder)/")
            throw ExitCode(1)
        }
        if summary.stoppedBy == "interrupted" { throw ExitCode(130) }
    }

    /// Saves corpus entries into a folder; returns how many.
    func save(_ entries: [FuzzCorpus.Entry], into folder: String) throws -> Int {
        for entry in entries {
            do {
                try FuzzCorpus.save(entry.script, into: folder)
            } catch {
                throw ValidationError("corpus: \(error)")
            }
        }
        return entries.count
    }

    func startFailure(_ runners: [ConformanceRunner]) throws {
        if let failure = runners[0].startFailure, runners[0].identity == nil {
            FileHandle.standardError.write(Data("vigil: the IUT could not be started: \(failure)\n".utf8))
            throw ExitCode(3)
        }
    }

    static func report(_ f: Campaign.Finding, paths: FindingWriter.Paths) {
        report(f.divergence, at: "run \(f.run)", minimized: "\(f.minimized.lines.count) stimuli", shrinkRuns: f.shrinkRuns, shrinkTime: f.shrinkTime,
               script: paths.script)
    }

    /// A finding as the campaign prints it (fuzz and race).
    static func report(_ d: Divergence, at place: String, minimized: String, shrinkRuns: Int, shrinkTime: Duration, script: String) {
        print("FOUND \(d.rule) at \(place): \(d.statement)")
        if !d.citation.isEmpty { print("      where: \(d.citation)") }
        print("      expected \(d.expected)")
        print("      observed \(d.observed)")
        print("      minimized to \(minimized) in \(shrinkRuns) runs (\(String(format: "%.2f", shrinkTime.seconds)) s): \(script)")
    }
}

extension Campaign {
    /// Runs corpus cases once each and keeps those that bring coverage; returns how many were kept.
    mutating func seedCorpus(_ seeds: [(name: String, script: Script)], runner: ConformanceRunner) -> Int {
        var kept = 0
        for (name, script) in seeds {
            let r = runner.run(script, recording: false)
            if r.verdict.divergence == nil, !r.budgetExhausted, addToCorpus(script, name: name, coverage: r.coverage) { kept += 1 }
        }
        return kept
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// Writes each finding's evidence as soon as it is known: the minimized script, its capture, a report.
/// Nothing in them depends on the wall clock, so that the same campaign writes the same bytes.
struct FindingWriter {
    struct Paths {
        var script: String
        var capture: String
        var report: String
    }

    let folder: String
    let role: Role
    let seed: UInt64
    let iut: String

    /// Removes RULE.vgl / .pcap / .md files an earlier campaign wrote here (nothing else).
    func removeEarlierFindings() {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: folder) else { return }
        for name in names where [".vgl", ".pcap", ".md"].contains(where: { name.hasSuffix($0) }) {
            let rule = name.prefix { $0 != "." }
            guard rule.allSatisfy({ $0.isUppercase || $0.isNumber || $0 == "-" }), rule.contains("-") else { continue }
            try? fm.removeItem(atPath: (folder as NSString).appendingPathComponent(name))
        }
    }

    func write(_ f: Campaign.Finding) throws -> Paths {
        try Self.write(rule: f.rule, in: folder, script: f.minimized, capture: CaptureConversion.records(from: f.replay.transcript, divergence: f.divergence),
                       report: markdown(f))
    }

    /// RULE.vgl, RULE.pcap and RULE.md in `folder`.
    static func write(rule: String, in folder: String, script: Script, capture: [CaptureRecord], report: String) throws -> Paths {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let base = (folder as NSString).appendingPathComponent(rule)
        let paths = Paths(script: base + ".vgl", capture: base + ".pcap", report: base + ".md")
        try script.text.write(toFile: paths.script, atomically: true, encoding: .utf8)
        try VigilPcap.write(capture, to: paths.capture)
        try report.write(toFile: paths.report, atomically: true, encoding: .utf8)
        return paths
    }

    func markdown(_ f: Campaign.Finding) -> String {
        let d = f.divergence
        return """
            # \(f.rule) (\(role.rawValue))

            \(d.statement)

            - **Where the patent says so:** \(d.citation.isEmpty ? "specs/adapter.md" : d.citation)
            - **Expected:** \(d.expected)
            - **Observed:** \(d.observed)
            - **At:** line \(d.step) of the minimized script, virtual time \(d.time)
            - **Found by:** `vigil fuzz --role \(role.rawValue) --iut \(iut) --seed \(seed)`, run \(f.run)
            - **Shrunk:** from \(f.original.lines.filter { $0.direction == .stimulus }.count) to \(f.minimized.lines.count) stimuli in \(f.shrinkRuns) runs

            Replay: `vigil replay \(f.rule).vgl --iut \(iut)`; capture: `vigil pcap \(f.rule).pcap` or
            `tshark -X lua_script:specs/vigil.lua -r \(f.rule).pcap -V`.

            ## Minimized script

            ```
            \(f.minimized.text.trimmingCharacters(in: .newlines))
            ```

            ## Transcript of the replay

            ```
            \(f.replay.transcript.text.trimmingCharacters(in: .newlines))
            ```

            """
    }
}

/// The progress line: rewritten in place on a terminal, a plain line every 10 s otherwise.
final class ProgressLine {
    let total: Int
    let deadline: ContinuousClock.Instant?
    let start: ContinuousClock.Instant
    let terminal = isatty(STDOUT_FILENO) != 0
    var last: ContinuousClock.Instant
    var shown = false

    init(total: Int, deadline: ContinuousClock.Instant?, start: ContinuousClock.Instant) {
        self.total = total
        self.deadline = deadline
        self.start = start
        self.last = start
    }

    func update(_ p: Campaign.Progress) {
        update(runs: p.runs, noun: "runs", detail: "coverage \(p.coverage), corpus \(p.corpus), \(p.findings) divergences")
    }

    func update(runs: Int, noun: String, detail: String) {
        let now = ContinuousClock.now
        guard now - last >= (terminal ? .milliseconds(250) : .seconds(10)) else { return }
        last = now
        let elapsed = (now - start).seconds
        let rate = Double(runs) / max(elapsed, 0.001)
        var left = "\(total - runs) \(noun) left"
        if let deadline { left = String(format: "%.0f s left", max(0, (deadline - now).seconds)) }
        let text = "\(noun == "runs" ? "fuzz" : "race"): \(runs) \(noun), \(Int(rate)) \(noun)/s, \(detail), \(left)"
        if terminal {
            print("\r\u{1B}[K" + text, terminator: "")
            fflush(nil)
            shown = true
        } else {
            print(text)
            fflush(nil)
        }
    }

    func clear() {
        if shown {
            print("\r\u{1B}[K", terminator: "")
            fflush(nil)
            shown = false
        }
    }
}

/// Ctrl-C during a campaign: the first asks it to stop after the runs in flight; the second kills.
enum Interrupt {
    static let flag = Atomic<Bool>(false)

    static var requested: Bool { flag.load(ordering: .relaxed) }

    static func install() {
        flag.store(false, ordering: .relaxed)
        // A parent may have started us with SIGINT blocked (some process launchers do): unblock it.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        signal(SIGINT) { _ in
            Interrupt.flag.store(true, ordering: .relaxed)
            signal(SIGINT, SIG_DFL)
        }
    }

    static func uninstall() { signal(SIGINT, SIG_DFL) }
}
