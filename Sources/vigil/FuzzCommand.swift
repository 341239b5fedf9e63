import ArgumentParser
import Foundation
import VigilAdapters
import VigilConformance
import VigilCore
import VigilEvidence
import VigilFuzz

struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Run generated cases against an IUT; shrink and keep every distinct divergence.",
        discussion: """
            Each run is a case the generator builds from the seed and the run number: for san-responder a \
            stream of packets with sequence numbers at the expected one, just ahead, at the window's edges and \
            across the wrap, resends, malformed packets and supervisory messages; for san-requestor \
            descriptors of every kind and size with losses, corruption, stale answers and cut paths. The \
            model checks every output; the first divergence of each rule is shrunk and written to --out as \
            a script that `vigil replay` replays. Same seed, same IUT: the same findings, byte for byte.

            Exit status: 0 nothing diverged; 1 something did; 2 usage or input error; 3 the IUT could not \
            be started.
            """
    )

    @Option(name: .long, help: "The role (san-responder, san-requestor).")
    var role: String

    @OptionGroup var target: IUTOptions

    @Option(name: .long, help: "The seed.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "How many generated cases to run.")
    var runs: Int = 1_000

    @Option(name: .long, help: "Stop after this many distinct divergences.")
    var maxFailures: Int = .max

    @Option(name: .long, help: "Stimuli per generated case.")
    var events: Int = 24

    @Option(name: .long, help: "Folder for the findings.")
    var out = "reports/fuzz"

    func validate() throws {
        guard let r = Role(rawValue: role), r != .failoverNode else {
            throw ValidationError("fuzz covers san-responder and san-requestor so far; '\(role)' is not one of them.")
        }
        guard (1...10_000_000).contains(runs) else { throw ValidationError("--runs must be 1-10000000.") }
        guard (2...10_000).contains(events) else { throw ValidationError("--events must be 2-10000.") }
        guard maxFailures > 0 else { throw ValidationError("--max-failures must be at least 1.") }
    }

    func run() throws {
        let role = Role(rawValue: self.role)!
        try target.requireModel(for: role)
        let runner = ConformanceRunner(role: role, limits: target.limits, transport: target.transport(for: role), oracle: try oracle(for: role))
        defer { runner.closeSession() }
        let campaign = Campaign(role: role, seed: seed, eventsPerCase: events)
        let clock = ContinuousClock()
        let start = clock.now
        var lastReport = start
        let (findings, done) = campaign.run(runs: runs, maxFindings: maxFailures, runner: runner) { n, found in
            if clock.now - lastReport > .seconds(2) {
                lastReport = clock.now
                let elapsed = clock.now - start
                let rate = Double(n) / max(0.001, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
                print("fuzz \(role) seed \(seed): \(n)/\(runs) runs, \(Int(rate)) runs/s, \(found.count) divergences")
            }
            return true
        }
        if let failure = runner.startFailure, runner.identity == nil {
            FileHandle.standardError.write(Data("vigil: the IUT could not be started: \(failure)\n".utf8))
            throw ExitCode(3)
        }
        let fm = FileManager.default
        var reported = 0
        for f in findings {
            // Determinism self-check: the minimized script must replay to the same rule before it is kept.
            let replay = runner.run(f.minimized)
            guard replay.verdict.divergence?.rule == f.rule else {
                print("FLAKY \(f.rule) at run \(f.run): the minimized script did not replay to the same divergence; not kept")
                continue
            }
            reported += 1
            let dir = (out as NSString).appendingPathComponent(role.rawValue)
            do {
                try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
                try f.minimized.text.write(toFile: (dir as NSString).appendingPathComponent("\(f.rule).vgl"), atomically: true, encoding: .utf8)
                try VigilPcap.write(CaptureConversion.records(from: replay.transcript, divergence: replay.verdict.divergence),
                                    to: (dir as NSString).appendingPathComponent("\(f.rule).pcap"))
            } catch {
                throw ValidationError("Cannot write the findings under '\(out)': \(error)")
            }
            let d = f.divergence
            print("FOUND \(f.rule) at run \(f.run): \(d.statement)")
            if !d.citation.isEmpty { print("      where: \(d.citation)") }
            print("      expected \(d.expected)")
            print("      observed \(d.observed)")
            print("      minimized to \(f.minimized.lines.count) stimuli in \(f.shrinkRuns) runs: \(dir)/\(f.rule).vgl")
        }
        let elapsed = clock.now - start
        let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("\(done) runs in \(String(format: "%.2f", secs)) s, \(findings.count) distinct divergences (\(role), seed \(seed), IUT \(runner.identity?.name ?? "?"))")
        if reported > 0 { throw ExitCode(1) }
    }
}
