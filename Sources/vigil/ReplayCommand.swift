import ArgumentParser
import Foundation
import VigilAdapters
import VigilConformance
import VigilCore
import VigilFailover

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run one script (a case, a repro, a fuzz finding) against an IUT and print what happened.",
        discussion: """
            The script's stimuli drive the IUT; the model checks every output. Prints the transcript \
            (stimuli and observations, itself a script) and the verdict. The role comes from the \
            script's @role header unless --role is given.

            A race schedule (`@role race`, written by `vigil race`) runs two failover-node IUTs: node A is \
            --iut / --iut-cmd, node B --iut-b / --iut-b-cmd (default: the same); both transcripts are \
            printed, then the two nodes' states over virtual time.

            Examples:
              vigil replay corpus/conformance/san-responder/rsp-duplicate-ack.vgl --iut builtin:responder-nacks-duplicates
              vigil replay reports/race/FO-NO-SPLIT-BRAIN.vgl --iut builtin --iut-b builtin:fo-write-after-takeover

            Exit status: 0 conformant; 1 divergence; 2 usage or input error (an unreadable or malformed \
            script); 3 the IUT could not be started.
            """
    )

    @Argument(help: "The script file.")
    var script: String

    @Option(name: .long, help: "The role, when the script has no @role header.")
    var role: String?

    @OptionGroup var target: IUTOptions

    @Option(name: .customLong("iut-b"), help: "Node B of a race schedule: builtin, builtin:MUTANT, linked[:MUTANT] or model (default: the same as --iut).")
    var iutB: String?

    @Option(name: .customLong("iut-b-cmd"), help: "Node B of a race schedule: a command line speaking specs/adapter.md.")
    var iutBCommand: String?

    func run() throws {
        let parsed = try readScript(script)
        if (self.role ?? parsed[header: "role"]) == RaceRunner.role {
            try replayRace(parsed)
            return
        }
        guard iutB == nil, iutBCommand == nil else { throw ValidationError("--iut-b and --iut-b-cmd belong to race schedules (@role race).") }
        let role = try scriptRole(parsed, path: script, role: self.role)
        try target.requireModel(for: role)
        let runner = ConformanceRunner(role: role, limits: target.limits, transport: target.transport(for: role), oracle: try oracle(for: role))
        defer { runner.closeSession() }
        let result = runner.run(parsed)
        if let failure = runner.startFailure, runner.identity == nil {
            FileHandle.standardError.write(Data("vigil: the IUT could not be started: \(failure)\n".utf8))
            throw ExitCode(3)
        }
        print(result.transcript.text, terminator: "")
        try Self.printVerdict(result.verdict)
    }

    /// The verdict as the transcript's last comment lines; a divergence exits 1.
    static func printVerdict(_ verdict: Verdict) throws {
        switch verdict {
        case .pass:
            print("# verdict: pass")
        case .notApplicable(let why):
            print("# verdict: not applicable: \(why)")
        case .fail(let d), .error(let d):
            print("# verdict: \(verdict.label) \(d.rule): \(d.statement)")
            if !d.citation.isEmpty { print("# where: \(d.citation)") }
            print("# at line \(d.step), \(d.time): expected \(d.expected)")
            print("# observed \(d.observed)")
            throw ExitCode(1)
        }
    }

    func replayRace(_ parsed: Script) throws {
        let b = try RaceCommand.nodeB(target, iutB: iutB, iutBCommand: iutBCommand)
        for t in [target, b] { try t.requireModel(for: .failoverNode) }
        let runner = RaceRunner(limits: target.limits, a: target.transport(for: .failoverNode), b: b.transport(for: .failoverNode))
        defer { runner.closeSessions() }
        let result = runner.run(parsed)
        try RaceCommand.startFailure(runner, labels: [target.label, b.label])
        for (node, transcript) in zip(NodeID.allCases, result.transcripts) {
            print("# node \(node) (\(runner.identities[Int(node.rawValue)]?.name ?? "?"))")
            print(transcript.text, terminator: "")
        }
        print("# states over virtual time")
        for e in result.timeline { print("#   \(e.time)  node \(e.node)  \(e.state)") }
        try Self.printVerdict(result.verdict)
    }
}
