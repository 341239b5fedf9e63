import ArgumentParser
import Foundation
import VigilAdapters
import VigilConformance
import VigilCore
import VigilEvidence
import VigilFailover
import VigilFuzz

struct RaceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "race",
        abstract: "Run two failover-node IUTs against each other in a simulated world; check each node and the pair.",
        discussion: """
            Node A is --iut (or --iut-cmd), node B is --iut-b (or --iut-b-cmd; default: the same as node A). \
            The kit plays everything between them, in virtual time: the four shared disks with their \
            reservations and the mailbox regions on disks 0 and 2, each node's persistent memory (reached by \
            the other over the SAN), the network, the operator, and faults on each channel in each direction \
            (cut, heal, drop, duplicate, reorder, corrupt, delay), fenced disks, stops and reboots. Both \
            nodes boot at time 0.

            Every output of each node is judged by the failover-node model (the same rules as `vigil check \
            --role failover-node`, with the other IUT as its peer), and the pair is watched as a whole: no \
            disk served by both nodes (FO-NO-SPLIT-BRAIN, judged while some channel direction works), a node \
            whose peer stopped takes over in bounded time (FO-LIVENESS-TAKEOVER), no second takeover without \
            an operator command or a reboot (FO-NO-CYCLING).

            --mode exhaustive runs every non-empty subset of the six channel directions cut just after each \
            protocol step of four base scenarios (quiet pair; node B stopped; node A stopped; takeover then \
            giveback), never healed, or also healed --heal seconds later; it says how many schedules it \
            covered. --mode random runs seeded random schedules of up to --events situations (operator \
            commands, faults, or a few events that belong together) in the first 20 s.

            The first violation of each rule is shrunk to a small schedule (a script, `@role race`, \
            replayable with `vigil replay`), replayed once more, and written to --out at once: RULE.vgl, \
            RULE.pcap (both nodes' traffic; `vigil pcap`, or tshark with specs/vigil.lua) and RULE.md (the \
            two nodes' states side by side over virtual time). Ctrl-C stops after the schedule in flight.

            Exit status: 0 no violation; 1 a violation; 2 usage or input error; 3 an IUT could not be \
            started; 130 interrupted before anything was found.

            Examples:
              vigil race --iut builtin --mode exhaustive
              vigil race --iut builtin --iut-b builtin:fo-takeover-no-wait --runs 500
              vigil race --iut-cmd ./vendor-a-adapter --iut-b-cmd ./vendor-b-adapter --time 10m
            """
    )

    @OptionGroup var target: IUTOptions

    @Option(name: .customLong("iut-b"), help: "Node B: builtin, builtin:MUTANT, linked[:MUTANT] or model (default: the same as node A).")
    var iutB: String?

    @Option(name: .customLong("iut-b-cmd"), help: "Node B: a command line that starts an external IUT speaking specs/adapter.md.")
    var iutBCommand: String?

    @Option(name: .long, help: "exhaustive or random.")
    var mode: String = "random"

    @Option(name: .long, help: "The seed (random mode).")
    var seed: UInt64 = 1

    @Option(name: .long, help: "How many schedules at most (default: 500 random; every schedule of the bounds in exhaustive mode).")
    var runs: Int?

    @Option(name: .long, help: "Stop after this long (wall time), e.g. 90s, 10m, 2h.")
    var time: String?

    @Option(name: .long, help: "Stop after this many distinct violations (default: no limit).")
    var maxFailures: Int?

    @Option(name: .long, help: "At most this many situations per random schedule (an event, or a few that belong together: a node cut off on all three channels; a stop, its reboot and the giveback).")
    var events: Int = 8

    @Option(name: .long, help: "Exhaustive mode: also heal each cut this many seconds later (default: cuts are never healed).")
    var heal: Double?

    @Option(name: .long, help: "Runs allowed to each shrink.")
    var shrinkBudget: Int = 600

    @Option(name: .long, help: "Folder for the findings.")
    var out = "reports/race"

    func validate() throws {
        guard RaceExplorer.Mode(rawValue: mode) != nil else { throw ValidationError("--mode is exhaustive or random, not '\(mode)'.") }
        guard (runs ?? 1) >= 1, (runs ?? 1) <= 100_000_000 else { throw ValidationError("--runs must be 1-100000000.") }
        guard (1...1_000).contains(events) else { throw ValidationError("--events must be 1-1000.") }
        guard (maxFailures ?? 1) > 0 else { throw ValidationError("--max-failures must be at least 1.") }
        guard (1...1_000_000).contains(shrinkBudget) else { throw ValidationError("--shrink-budget must be 1-1000000.") }
        guard heal.map({ $0 > 0 && $0 <= 60 }) ?? true else { throw ValidationError("--heal must be above 0 and at most 60 seconds.") }
        guard heal == nil || mode == "exhaustive" else { throw ValidationError("--heal belongs to --mode exhaustive.") }
        if let time { _ = try FuzzCommand.parseDuration(time) }
        _ = try nodeB()
    }

    /// Node B's options: --iut-b / --iut-b-cmd, or node A's.
    func nodeB() throws -> IUTOptions { try Self.nodeB(target, iutB: iutB, iutBCommand: iutBCommand) }

    static func nodeB(_ target: IUTOptions, iutB: String?, iutBCommand: String?) throws -> IUTOptions {
        guard iutB != nil || iutBCommand != nil else { return target }
        guard iutB == nil || iutBCommand == nil else { throw ValidationError("Give --iut-b or --iut-b-cmd, not both.") }
        var args = ["--step-timeout", String(target.stepTimeout), "--max-frame", String(target.maxFrame)]
        if let iutB { args += ["--iut", iutB] }
        if let iutBCommand { args += ["--iut-cmd", iutBCommand] }
        if target.udp { args.append("--udp") }
        do {
            return try IUTOptions.parse(args)
        } catch {
            throw ValidationError("node B: " + IUTOptions.message(for: error).replacingOccurrences(of: "--iut-cmd", with: "--iut-b-cmd")
                .replacingOccurrences(of: "--iut ", with: "--iut-b "))
        }
    }

    func run() throws {
        let b = try nodeB()
        for t in [target, b] { try t.requireModel(for: .failoverNode) }
        let runner = RaceRunner(limits: target.limits, a: target.transport(for: .failoverNode), b: b.transport(for: .failoverNode))
        defer { runner.closeSessions() }
        let labels = [target.label, b.label]
        let explorer = RaceExplorer(seed: seed, events: events)
        let mode = RaceExplorer.Mode(rawValue: self.mode)!
        let schedules: [Script]? = mode == .exhaustive ? RaceExplorer.exhaustiveSchedules(runner: runner, heal: [nil] + (heal.map { [$0] } ?? [])) : nil
        try Self.startFailure(runner, labels: labels)
        let total = runs ?? schedules?.count ?? 500
        let count = min(total, schedules?.count ?? total)

        let deadline = try time.map { ContinuousClock.now + (try FuzzCommand.parseDuration($0)) }
        let clock = ContinuousClock()
        let start = clock.now
        let progress = ProgressLine(total: count, deadline: deadline, start: start)
        Interrupt.install()
        defer { Interrupt.uninstall() }
        let writer = RaceFindingWriter(folder: out, labels: labels, command: commandLine(b))
        writer.removeEarlierFindings()
        var writeError: Error?
        let summary = explorer.run(
            count: count, runner: runner, maxFindings: maxFailures ?? .max, shrinkBudget: shrinkBudget,
            schedule: { n in schedules.map { n < $0.count ? $0[n] : nil } ?? explorer.randomSchedule(n) },
            shouldStop: {
                if Interrupt.requested { return "interrupted" }
                if let deadline, clock.now >= deadline { return "time" }
                return nil
            },
            progress: { runs, found, coverage in
                progress.update(runs: runs, noun: "schedules", detail: "coverage \(coverage), \(found) violations")
            },
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
        try Self.startFailure(runner, labels: labels)
        for f in summary.flaky {
            print("FLAKY \(f.rule) at schedule \(f.schedule): the minimized schedule replayed to \(f.replayed), not the same rule; not kept")
        }
        let seconds = (clock.now - start).seconds
        let virtual = Double(summary.virtualTime.nanoseconds) / 1e9
        let covered = mode == .exhaustive ? "\(summary.schedules) of \(schedules!.count) schedules of the bounds covered" : "\(summary.schedules) schedules"
        let stoppedBy = mode == .exhaustive && summary.stoppedBy == "budget" && summary.schedules == schedules!.count ? "the end of the bounds" : summary.stoppedBy
        print("""
            race (\(mode.rawValue)): \(covered) in \(String(format: "%.2f", seconds)) s \
            (\(Int(Double(summary.schedules) / max(seconds, 0.001))) schedules/s, \(String(format: "%.0f", virtual)) virtual s, \
            \(Int(virtual / max(seconds, 0.001)))x time compression); \(summary.outsideFaultHypothesis) outside the fault hypothesis; \
            \(summary.inconclusive) inconclusive; coverage \(summary.coverage.count) features; \
            \(summary.findings.count) distinct violation\(summary.findings.count == 1 ? "" : "s"); stopped by \(stoppedBy) \
            (node A \(runner.identities[0]?.name ?? labels[0]), node B \(runner.identities[1]?.name ?? labels[1])\(mode == .random ? ", seed \(seed)" : ""))
            """)
        if !summary.findings.isEmpty {
            print("findings: \(out)/")
            throw ExitCode(1)
        }
        if summary.stoppedBy == "interrupted" { throw ExitCode(130) }
    }

    func commandLine(_ b: IUTOptions) -> String {
        var words = ["vigil race"]
        words.append(target.iutCommand.map { "--iut-cmd '\($0)'" } ?? "--iut \(target.iut)")
        if iutB != nil || iutBCommand != nil { words.append(b.iutCommand.map { "--iut-b-cmd '\($0)'" } ?? "--iut-b \(b.iut)") }
        words.append("--mode \(mode)")
        if mode == "random" { words.append("--seed \(seed)") }
        return words.joined(separator: " ")
    }

    static func startFailure(_ runner: RaceRunner, labels: [String]) throws {
        if let (node, failure) = runner.startFailure, runner.identities[Int(node.rawValue)] == nil {
            FileHandle.standardError.write(Data("vigil: node \(node)'s IUT (\(labels[Int(node.rawValue)])) could not be started: \(failure)\n".utf8))
            throw ExitCode(3)
        }
    }

    static func report(_ f: RaceExplorer.Finding, paths: RaceFindingWriter.Paths) {
        FuzzCommand.report(f.divergence, at: "schedule \(f.schedule)", minimized: "\(f.minimized.lines.count) events", shrinkRuns: f.shrinkRuns,
                           shrinkTime: f.shrinkTime, script: paths.script)
    }
}

/// Writes each race finding's evidence the moment it is known: the minimized schedule, a capture of both
/// nodes' traffic, and a report with the two nodes' states side by side.
struct RaceFindingWriter {
    typealias Paths = FindingWriter.Paths

    let folder: String
    let labels: [String]
    let command: String

    func removeEarlierFindings() {
        FindingWriter(folder: folder, role: .failoverNode, seed: 0, iut: "").removeEarlierFindings()
    }

    func write(_ f: RaceExplorer.Finding) throws -> Paths {
        try FindingWriter.write(rule: f.rule, in: folder, script: f.minimized,
                                capture: CaptureConversion.records(race: f.replay.transcripts, divergence: f.divergence), report: markdown(f))
    }

    func markdown(_ f: RaceExplorer.Finding) -> String {
        let d = f.divergence
        let who = f.replay.node.map { "node \($0) (\(labels[Int($0.rawValue)]))" } ?? "the pair"
        return """
            # \(f.rule) (race: node A \(labels[0]), node B \(labels[1]))

            \(d.statement)

            - **Broken by:** \(who)
            - **Where the patent says so:** \(d.citation.isEmpty ? "specs/adapter.md" : d.citation)
            - **Expected:** \(d.expected)
            - **Observed:** \(d.observed)
            - **At:** line \(d.step) of the minimized schedule, virtual time \(d.time)
            - **Found by:** `\(command)`, schedule \(f.schedule)
            - **Shrunk:** from \(f.original.lines.count) to \(f.minimized.lines.count) events in \(f.shrinkRuns) runs

            Replay: `vigil replay \(f.rule).vgl --iut \(labels[0])\(labels[1] == labels[0] ? "" : " --iut-b \(labels[1])")`; capture:
            `vigil pcap \(f.rule).pcap` or `tshark -X lua_script:specs/vigil.lua -r \(f.rule).pcap -V`.

            ## Minimized schedule

            ```
            \(f.minimized.text.trimmingCharacters(in: .newlines))
            ```

            ## The two nodes over virtual time

            \(RaceFindingWriter.timelineTable(f.replay.timeline, events: f.minimized))
            """
    }

    /// A Markdown table: one row per instant at which a node changed state or the schedule acted.
    static func timelineTable(_ timeline: [RaceTimelineEntry], events: Script) -> String {
        var rows: [(VirtualTime, Int, String, String, String)] = []
        var k = 0
        for e in timeline {
            rows.append((e.time, k, e.node == .a ? e.state : "", e.node == .b ? e.state : "", ""))
            k += 1
        }
        for line in events.lines where line.direction == .stimulus {
            rows.append((line.time, k, "", "", "\(line.verb) \(line.argument)"))
            k += 1
        }
        rows.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        var out = "| virtual time | node A | node B | schedule |\n|---:|---|---|---|\n"
        for r in rows { out += "| \(r.0) | \(r.2) | \(r.3) | \(r.4) |\n" }
        return out
    }
}
