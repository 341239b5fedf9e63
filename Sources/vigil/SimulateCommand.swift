import ArgumentParser
import VigilCore
import VigilSAN

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run the reference requestor against the reference responder and print the exchange.",
        discussion: """
            Replays the patent's own examples in virtual time and prints each packet as a row of a \
            ladder diagram: time, direction (-> request toward the responder, <- response), path, the \
            packet, and FIG. 6's Rqst. SN and Rsp. SN columns. Then the descriptors completed, the rules \
            the models applied, and any divergence (there should be none: both sides are the model).

            Scenarios:
            \(SANScenario.allCases.map { "  \($0.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)) \($0.summary)" }.joined(separator: "\n"))
              all            every scenario above, one after another
            """
    )

    @Argument(help: "Scenario name (see below), or 'all'.")
    var scenario: String = "all"

    @Flag(name: .long, help: "Print only the summary of each scenario, not every packet.")
    var quiet = false

    func validate() throws {
        guard scenario == "all" || SANScenario(rawValue: scenario) != nil else {
            throw ValidationError("Unknown scenario '\(scenario)'. Known: \(SANScenario.allCases.map(\.rawValue).joined(separator: ", ")), all.")
        }
    }

    func run() throws {
        let chosen = SANScenario(rawValue: scenario).map { [$0] } ?? SANScenario.allCases
        var diverged = false
        for s in chosen {
            let sim = s.simulate()
            print("== \(s.rawValue): \(s.summary)")
            if !quiet {
                for transit in sim.log.sorted(by: { $0.order < $1.order }) { print("  \(transit)") }
            }
            print("  packets: \(sim.log.count) (\(sim.log.filter { !$0.delivered }.count) lost, \(sim.log.filter(\.corrupted).count) corrupted); virtual time \(sim.now)")
            for c in sim.completions { print("  \(c)") }
            let rules = Set(sim.rules.map(\.rawValue)).sorted()
            print("  rules applied (\(rules.count)): \(rules.joined(separator: " "))")
            for d in sim.divergences {
                diverged = true
                print("  DIVERGENCE \(d)")
            }
            print()
        }
        if diverged { throw ExitCode(1) }
    }
}
