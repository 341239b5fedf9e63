import ArgumentParser
import Foundation
import VigilAdapters
import VigilConformance
import VigilCore

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run one script (a case, a repro, a fuzz finding) against an IUT and print what happened.",
        discussion: """
            The script's stimuli drive the IUT; the model checks every output. Prints the transcript \
            (stimuli and observations, itself a script) and the verdict. The role comes from the \
            script's @role header unless --role is given.

            Example:
              vigil replay corpus/conformance/san-responder/rsp-duplicate-ack.vgl --iut builtin:responder-nacks-duplicates

            Exit status: 0 conformant; 1 divergence; 2 usage or input error (an unreadable or malformed \
            script); 3 the IUT could not be started.
            """
    )

    @Argument(help: "The script file.")
    var script: String

    @Option(name: .long, help: "The role, when the script has no @role header.")
    var role: String?

    @OptionGroup var target: IUTOptions

    func run() throws {
        let (parsed, role) = try loadScript(script, role: self.role)
        try target.requireModel(for: role)
        let runner = ConformanceRunner(role: role, limits: target.limits, transport: target.transport(for: role), oracle: try oracle(for: role))
        defer { runner.closeSession() }
        let result = runner.run(parsed)
        if let failure = runner.startFailure, runner.identity == nil {
            FileHandle.standardError.write(Data("vigil: the IUT could not be started: \(failure)\n".utf8))
            throw ExitCode(3)
        }
        print(result.transcript.text, terminator: "")
        switch result.verdict {
        case .pass:
            print("# verdict: pass")
        case .notApplicable(let why):
            print("# verdict: not applicable: \(why)")
        case .fail(let d), .error(let d):
            print("# verdict: \(result.verdict.label) \(d.rule): \(d.statement)")
            if !d.citation.isEmpty { print("# where: \(d.citation)") }
            print("# at line \(d.step), \(d.time): expected \(d.expected)")
            print("# observed \(d.observed)")
            throw ExitCode(1)
        }
    }
}
