import ArgumentParser
import Foundation
import VigilAdapters
import VigilConformance
import VigilCore

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Run the conformance suites against an implementation under test.",
        discussion: """
            Drives the IUT through the wire adapter (specs/adapter.md) in virtual time, checks every \
            output against the reference model the moment it appears, and prints a verdict per case. A \
            failing case names the rule it breaks and where the patent says so.

            --iut builtin            the bundled sample implementation (refnode, next to vigil)
            --iut builtin:MUTANT     refnode with one deliberate bug
            --iut model              the kit's own Swift model, in-process (a self-check)
            --iut-cmd 'CMD ARGS'     any implementation: a command line speaking the adapter protocol

            Roles available now: san-responder. (san-requestor and failover-node suites are being built.)

            Exit status: 0 conformant; 1 at least one divergence; 2 usage or input error; 3 the IUT \
            could not be started or failed the handshake.
            """
    )

    @Option(name: .long, help: "The role to check (san-responder).")
    var role: String = Role.sanResponder.rawValue

    @Option(name: .long, help: "builtin, builtin:MUTANT, or model.")
    var iut: String = "builtin"

    @Option(name: .customLong("iut-cmd"), help: "A command line that starts an external IUT.")
    var iutCommand: String?

    @Option(name: .long, help: "Only cases whose id or rule ids contain this text.")
    var filter: String?

    @Option(name: .long, help: "Seconds the IUT has to answer each stimulus.")
    var stepTimeout: Double = 2

    @Flag(name: .long, help: "Print every case's transcript, not only the failing ones'.")
    var verbose = false

    func validate() throws {
        guard let r = Role(rawValue: role) else {
            throw ValidationError("Unknown role '\(role)'. Roles: \(Role.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        guard r == .sanResponder else { throw ValidationError("The \(role) suite is not available yet; san-responder is.") }
        guard iutCommand == nil || iut == "builtin" else { throw ValidationError("Give --iut or --iut-cmd, not both.") }
        guard stepTimeout > 0, stepTimeout <= 600 else { throw ValidationError("--step-timeout must be above 0 and at most 600 seconds.") }
    }

    func run() throws {
        let role = Role(rawValue: self.role)!
        let transport: () -> any FrameTransport
        if let iutCommand {
            transport = { StdioTransport(shellCommand: iutCommand) }
        } else if iut == "model" {
            transport = { InProcessTransport { ModelSANResponderIUT() } }
        } else if iut == "builtin" || iut.hasPrefix("builtin:") {
            let refnode = Self.builtinPath()
            let mutant = iut.hasPrefix("builtin:") ? String(iut.dropFirst("builtin:".count)) : nil
            transport = { StdioTransport(argv: [refnode] + (mutant.map { ["--mutant", $0] } ?? [])) }
        } else {
            throw ValidationError("--iut takes builtin, builtin:MUTANT or model; use --iut-cmd for a command line.")
        }
        var cases = SANResponderSuite.cases
        if let filter {
            cases = cases.filter { ($0[header: "case"] ?? "").contains(filter) || ($0[header: "rules"] ?? "").contains(filter) }
            if cases.isEmpty { throw ValidationError("No case matches --filter '\(filter)'.") }
        }
        let millis = Int64(stepTimeout * 1000)
        let runner = ConformanceRunner(role: role, limits: AdapterLimits(stepTimeout: .milliseconds(millis)), transport: transport,
                                       oracle: { SANResponderOracle() })
        defer { runner.closeSession() }
        var failures = 0
        var results: [CaseResult] = []
        for script in cases {
            let result = runner.run(script)
            if let failure = runner.startFailure, results.isEmpty {
                FileHandle.standardError.write(Data("vigil: the IUT could not be started: \(failure)\n".utf8))
                if !failure.stderrTail.isEmpty { FileHandle.standardError.write(Data("IUT stderr:\n\(failure.stderrTail)\n".utf8)) }
                throw ExitCode(3)
            }
            results.append(result)
            print("\(result.verdict.label.padding(toLength: 5, withPad: " ", startingAt: 0)) \(role)  \(result.id)")
            if let d = result.verdict.divergence {
                failures += 1
                print("      \(d.rule): \(d.statement)")
                if !d.citation.isEmpty { print("      where: \(d.citation)") }
                print("      at line \(d.step), \(d.time): expected \(d.expected)")
                print("      observed \(d.observed)")
            }
            if verbose || result.verdict.isFailure {
                for line in result.transcript.text.split(separator: "\n") { print("      | \(line)") }
            }
        }
        let passed = results.filter { $0.verdict == .pass }.count
        let na = results.filter { if case .notApplicable = $0.verdict { return true } else { return false } }.count
        print("\(passed) passed, \(failures) failed" + (na > 0 ? ", \(na) not applicable" : "") + " (\(role), IUT \(runner.identity?.name ?? "?"))")
        if failures > 0 { throw ExitCode(1) }
    }

    /// refnode next to the running vigil.
    static func builtinPath() -> String {
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        return me.deletingLastPathComponent().appendingPathComponent("refnode").path
    }
}
