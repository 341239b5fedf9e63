import ArgumentParser

@main
struct Vigil: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Conformance and fuzzing kit for the SAN transport (US 6,545,981) and failover (US 6,119,244) protocols.",
        subcommands: [CheckCommand.self, SimulateCommand.self, ExploreCommand.self, RulesCommand.self, BenchCommand.self, CorpusCommand.self]
    )
}
