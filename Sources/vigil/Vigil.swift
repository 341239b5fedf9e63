import ArgumentParser
import Foundation

@main
struct Vigil: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Conformance and fuzzing kit for the SAN transport (US 6,545,981) and failover (US 6,119,244) protocols.",
        subcommands: [CheckCommand.self, ReplayCommand.self, SimulateCommand.self, ExploreCommand.self, RulesCommand.self, BenchCommand.self, CorpusCommand.self, MutantsCommand.self, MinimizeCommand.self, FuzzCommand.self, RaceCommand.self, PcapCommand.self]
    )

    /// Exit statuses: 0 conformant, 1 a divergence, 2 a usage or input error (ArgumentParser's 64 is
    /// mapped to 2, so that scripts and CI see one code for "you asked wrongly"), 3 the IUT could not be
    /// started.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
