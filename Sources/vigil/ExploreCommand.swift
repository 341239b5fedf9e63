import ArgumentParser
import VigilCore
import VigilFailover

struct ExploreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explore",
        abstract: "Hunt takeover races: run two failover model nodes through many fault schedules and check the pair.",
        discussion: """
            Two model nodes of US 6,119,244 share disks, mailbox regions, persistent memory reached over \
            the SAN, and a UDP network, in virtual time. Every schedule is checked continuously against \
            the pair's safety and liveness invariants (no split brain, silence before takeover, \
            generations only grow, stale messages change nothing, bounded takeover, no cycling). A \
            violation is shrunk to the shortest schedule that still breaks the same rule and printed.

            Modes:
              exhaustive   every non-empty subset of the six channel directions cut, at each protocol \
            step of a takeover and of a reboot (--bounds small), and healed again (--bounds standard)
              random       --schedules seeded random schedules of --events faults each

            --variant runs a deliberately broken node design on both sides, to see the checker catch it: \
            \(NodeVariant.allCases.map(\.rawValue).joined(separator: ", ")).

            Exit status: 0 no violation, 1 a violation was found, 64 usage error.
            """
    )

    enum Mode: String, ExpressibleByArgument, CaseIterable { case exhaustive, random }
    enum Bounds: String, ExpressibleByArgument, CaseIterable { case small, standard }

    @Option(name: .long, help: "exhaustive or random.")
    var mode: Mode = .exhaustive

    @Option(name: .long, help: "Exhaustive bounds: small or standard.")
    var bounds: Bounds = .small

    @Option(name: .long, help: "Random mode: the seed (same seed, same schedules, same report).")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Random mode: how many schedules.")
    var schedules: Int = 200

    @Option(name: .long, help: "Random mode: faults and commands per schedule.")
    var events: Int = 16

    @Option(name: .long, help: "Node design on both sides (reference, or a broken variant).")
    var variant: String = NodeVariant.reference.rawValue

    @Option(name: .long, help: "Stop after this many distinct findings are shrunk and reported.")
    var maxFindings: Int = 3

    func validate() throws {
        guard NodeVariant(rawValue: variant) != nil else {
            throw ValidationError("Unknown variant '\(variant)'. Known: \(NodeVariant.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        guard schedules > 0, schedules <= 10_000_000 else { throw ValidationError("--schedules must be 1-10000000.") }
        guard events > 0, events <= 1_000 else { throw ValidationError("--events must be 1-1000.") }
        guard maxFindings > 0 else { throw ValidationError("--max-findings must be at least 1.") }
    }

    func run() throws {
        let configuration = PairConfiguration(variant: NodeVariant(rawValue: variant)!)
        let report: ExplorationReport
        switch mode {
        case .exhaustive:
            report = FailoverExploration.exhaustive(configuration: configuration, bounds: bounds == .small ? .small : .standard,
                                                    maximumFindings: maxFindings)
        case .random:
            report = FailoverExploration.random(configuration: configuration, seed: seed, schedules: schedules,
                                                eventsPerSchedule: events, maximumFindings: maxFindings)
        }
        print(report.description)
        if report.violatingSchedules > 0 { throw ExitCode(1) }
    }
}
