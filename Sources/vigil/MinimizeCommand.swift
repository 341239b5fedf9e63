import ArgumentParser
import Foundation
import VigilAdapters
import VigilConformance
import VigilCore
import VigilFuzz

struct MinimizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "minimize",
        abstract: "Shrink a failing script to a small one that still fails with the same rule.",
        discussion: """
            Re-runs the script against the IUT, deleting stimulus lines (large chunks first, then single \
            lines) and shortening the time between them, keeping every change after which the IUT still \
            diverges with the same rule. Prints the minimized script (or writes it with --out); it replays \
            with `vigil replay`.

            Example:
              vigil minimize reports/repros/san-responder/rsp-duplicate-ack.vgl --iut builtin:rsp-nack-duplicates

            Exit status: 0 minimized; 1 the script does not fail against this IUT (nothing to shrink); 2 usage \
            or input error; 3 the IUT could not be started.
            """
    )

    @Argument(help: "The failing script.")
    var script: String

    @Option(name: .long, help: "The role, when the script has no @role header.")
    var role: String?

    @OptionGroup var target: IUTOptions

    @Option(name: .long, help: "Write the minimized script here instead of printing it.")
    var out: String?

    @Option(name: .long, help: "At most this many re-runs.")
    var budget: Int = 2_000

    func run() throws {
        let (parsed, role) = try loadScript(script, role: self.role)
        guard budget > 0 else { throw ValidationError("--budget must be at least 1.") }
        try target.requireModel(for: role)
        let runner = ConformanceRunner(role: role, limits: target.limits, transport: target.transport(for: role), oracle: try oracle(for: role))
        defer { runner.closeSession() }
        let failing = runner.run(parsed, recording: false)
        let shrinker = Shrinker(budget: budget, derived: { role != .sanResponder && ($0.verb == "packet" || $0.verb == "disk-result") },
                                runner: runner, failing: failing)
        guard failing.verdict.divergence != nil, let outcome = shrinker.shrink(parsed) else {
            if let failure = runner.startFailure, runner.identity == nil {
                FileHandle.standardError.write(Data("vigil: the IUT could not be started: \(failure)\n".utf8))
                throw ExitCode(3)
            }
            print("The script does not fail against \(target.label): nothing to minimize.")
            throw ExitCode(1)
        }
        let d = outcome.divergence
        let minimized = outcome.script.text
        if let out {
            do {
                try minimized.write(toFile: out, atomically: true, encoding: .utf8)
            } catch {
                throw ValidationError("Cannot write '\(out)': \(error.localizedDescription)")
            }
        } else {
            print(minimized, terminator: "")
        }
        print("# \(d.rule): \(d.statement)")
        print("# minimized from \(outcome.before) to \(outcome.after) stimuli in \(outcome.runs) runs")
    }
}
