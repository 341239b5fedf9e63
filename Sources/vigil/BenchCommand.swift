import ArgumentParser
import VigilAdapters
import VigilConformance
import VigilCore
import VigilFailover
import VigilFuzz
import VigilSAN

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the kit's own throughput and print the figures.",
        discussion: """
            Figures depend on the machine and the build: measure a release build \
            (swift build -c release, then .build/release/vigil bench). Nothing here is asserted; \
            the numbers are printed for people and for the closing notes of changes that affect them.

            Benchmarks:
              san        decode of 512-byte SAN packets (CRC-32C included), and decode plus the \
            responder model's check of each packet (sequence classification, ACK built)
              failover   virtual seconds of a takeover simulated per wall second (time compression), and \
            exhaustive-mode schedules explored and checked per second
              fuzz       fuzz runs per second against refnode for every role, in-process (its C core linked \
            into the kit) and through the stdio adapter (refnode next to vigil), with one and two jobs; \
            then the median time to shrink a finding, over every refnode mutant (seed 1)
              race       `vigil race` schedules per second and time compression (virtual seconds per wall \
            second) for a pair of refnodes through the stdio adapter and in-process: a takeover-length \
            scenario (node B stops at 1 s; node A takes over; the run ends 8 s later), and random schedules
            """
    )

    @Argument(help: "Which benchmark: san, failover, fuzz or race.")
    var which: String = "san"

    @Option(name: .long, help: "Seconds to spend on each measurement.")
    var seconds: Double = 2

    @Option(name: .long, help: "Payload bytes per packet (0-512).")
    var payload: Int = 512

    func validate() throws {
        guard ["san", "failover", "fuzz", "race"].contains(which) else {
            throw ValidationError("Unknown benchmark '\(which)'. Known: san, failover, fuzz, race.")
        }
        guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be above 0 and at most 600.") }
        guard (0...SANPacket.maxPayload).contains(payload) else { throw ValidationError("--payload must be 0-512.") }
    }

    func run() throws {
        if which == "failover" {
            print(FailoverBenchmark.run(seconds: seconds), terminator: "")
        } else if which == "fuzz" {
            runFuzz()
        } else if which == "race" {
            runRace()
        } else {
            runSAN()
        }
        #if DEBUG
        print("note: this is a debug build; measure with `swift build -c release` and .build/release/vigil bench")
        #endif
    }

    private func runSAN() {
        // 256 ordered Sends numbered 0-255: cycling through them keeps every packet the expected one.
        let node = SANNodeConfig.requestorA
        let packets: [[UInt8]] = (0..<256).map { seq in
            node.packet(fromPort: 0, toPeerPort: 0, acb: .lane(0), tsn: UInt16(seq),
                        body: .request(Request(kind: .send(data: (0..<payload).map { UInt8(truncatingIfNeeded: $0 &+ seq) }, immediate: nil),
                                               ordered: true, sequence: UInt8(seq), vi: 1))).encode()
        }
        let decode = measure(seconds: seconds) { i in
            if (try? SANPacket.decode(packets[i & 255])) == nil { fatalError("benchmark packet did not decode") }
        }
        var responder = SANResponder()
        _ = responder.step(.createVI(1))
        let check = measure(seconds: seconds) { i in
            let step = responder.step(.packet(packets[i & 255], port: 0))
            if step.rules.first != .rspSeqExpected { fatalError("benchmark packet was not the expected one: \(step.rules)") }
        }
        let size = packets[0].count
        print("san codec decode (\(payload)-byte payload, \(size)-byte packet, CRC-32C): \(format(decode.rate)) packets/s (\(decode.count) in \(fixed(decode.elapsed)) s)")
        print("san responder check (decode + model step + ACK built): \(format(check.rate)) packets/s (\(check.count) in \(fixed(check.elapsed)) s)")
    }

    private func runFuzz() {
        let stdio = IUTOptions.builtinPath()
        for role in Role.allCases {
            guard let oracle = Suites.oracle(for: role), Campaign(role: role, seed: 1).generate(0) != nil else { continue }
            for (label, transport) in [("in-process (linked refnode)", { () -> any FrameTransport in InProcessTransport { LinkedRefNodeIUT(mutant: nil)! } }),
                                       ("stdio (refnode process)", { () -> any FrameTransport in StdioTransport(argv: [stdio]) })] {
                for jobs in [1, 2] {
                    let runners = (0..<jobs).map { _ in ConformanceRunner(role: role, transport: transport, oracle: oracle) }
                    defer { runners.forEach { $0.closeSession() } }
                    var campaign = Campaign(role: role, seed: 1)
                    let clock = ContinuousClock()
                    let start = clock.now
                    let summary = campaign.run(runs: 100_000_000, runners: runners, shouldStop: { clock.now - start >= .milliseconds(Int64(seconds * 1000)) ? "time" : nil })
                    let elapsed = (clock.now - start).seconds
                    if let failure = runners[0].startFailure {
                        print("fuzz \(role) \(label): the IUT could not be started: \(failure)")
                        break
                    }
                    print("fuzz \(role) \(label), \(jobs) job\(jobs == 1 ? "" : "s"): \(format(Double(summary.runs) / elapsed)) runs/s (\(summary.runs) runs in \(fixed(elapsed)) s, coverage \(summary.coverage.count) features, \(summary.findings.count) findings)")
                }
            }
        }
        var times: [Double] = []
        var sizes: [Int] = []
        for mutant in LinkedRefNodeIUT.mutants {
            guard let role = Role(rawValue: mutant.role), let oracle = Suites.oracle(for: role), Campaign(role: role, seed: 1).generate(0) != nil else { continue }
            let runner = ConformanceRunner(role: role, transport: { InProcessTransport { LinkedRefNodeIUT(mutant: mutant.name)! } }, oracle: oracle)
            defer { runner.closeSession() }
            var campaign = Campaign(role: role, seed: 1)
            var hit: Campaign.Finding?
            _ = campaign.run(runs: 20_000, runners: [runner], shouldStop: { hit == nil ? nil : "found" }, found: { if $0.rule == mutant.rule { hit = $0 } })
            if let hit {
                times.append(hit.shrinkTime.seconds)
                sizes.append(hit.minimized.lines.count)
            }
        }
        times.sort()
        sizes.sort()
        if !times.isEmpty {
            let median = times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
            print("shrink (in-process, \(times.count) mutants found): median \(String(format: "%.3f", median)) s, slowest \(String(format: "%.3f", times.last!)) s; minimized sizes median \(sizes[sizes.count / 2]), largest \(sizes.last!) stimuli")
        }
    }

    private func runRace() {
        let stdio = IUTOptions.builtinPath()
        let scenario = try! Script.parse("@role race\n@run 8\n1.000000 > command b stop\n")
        for (label, transport) in [("stdio (two refnode processes)", { () -> any FrameTransport in StdioTransport(argv: [stdio]) }),
                                   ("in-process (two linked refnodes)", { () -> any FrameTransport in InProcessTransport { LinkedRefNodeIUT(mutant: nil)! } })] {
            let runner = RaceRunner(a: transport, b: transport)
            defer { runner.closeSessions() }
            let first = runner.run(scenario, recording: false)
            if let (node, failure) = runner.startFailure {
                print("race \(label): node \(node)'s IUT could not be started: \(failure)")
                continue
            }
            guard first.verdict == .pass, first.timeline.contains(where: { $0.node == .a && $0.state.hasPrefix("TAKEOVER") }) else {
                print("race \(label): the takeover scenario did not end in a takeover: \(first.verdict)")
                continue
            }
            let explorer = RaceExplorer(seed: 1)
            for (kind, schedule) in [("takeover scenario", { (_: Int) in scenario }), ("random schedules", explorer.randomSchedule)] {
                var virtual = 0.0
                let run = measure(seconds: seconds, batch: 1) { i in virtual += Double(runner.run(schedule(i), recording: false).virtualTime.nanoseconds) / 1e9 }
                print("race \(label), \(kind) (\(fixed(virtual / Double(run.count))) virtual s each): \(format(run.rate)) schedules/s, \(format(virtual / run.elapsed))x time compression (\(run.count) in \(fixed(run.elapsed)) s)")
            }
        }
    }

    /// Runs `body` in batches until `seconds` have passed; one core, wall-clock time.
    private func measure(seconds: Double, batch: Int = 4096, _ body: (Int) -> Void) -> (count: Int, elapsed: Double, rate: Double) {
        let clock = ContinuousClock()
        let start = clock.now
        var count = 0
        var elapsed = 0.0
        repeat {
            for _ in 0..<batch {
                body(count)
                count += 1
            }
            let d = clock.now - start
            elapsed = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        } while elapsed < seconds
        return (count, elapsed, Double(count) / elapsed)
    }

    private func format(_ rate: Double) -> String {
        let n = Int(rate.rounded())
        var digits = Array(String(n))
        var i = digits.count - 3
        while i > 0 {
            digits.insert(",", at: i)
            i -= 3
        }
        return String(digits)
    }

    private func fixed(_ x: Double) -> String {
        let scaled = Int((x * 100).rounded())
        return "\(scaled / 100).\(String(format2: scaled % 100))"
    }
}

extension String {
    init(format2 n: Int) { self = n < 10 ? "0\(n)" : "\(n)" }
}
