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

    @Option(name: .long, help: "Folder for the reports (junit.xml, report.json, summary.md, repros/).")
    var out = "reports"

    @Option(name: .long, help: "Also write the JUnit XML here.")
    var junit: String?

    @Option(name: .long, help: "Also write the JSON report here.")
    var json: String?

    @Option(name: .long, help: "Known deviations, one per line: ROLE CASE RULE  # reason. Listed failures do not fail the run.")
    var expect: String?

    @Option(name: .long, help: "How many IUT instances run cases at once.")
    var jobs: Int = 1

    func validate() throws {
        guard let r = Role(rawValue: role) else {
            throw ValidationError("Unknown role '\(role)'. Roles: \(Role.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        guard r == .sanResponder else { throw ValidationError("The \(role) suite is not available yet; san-responder is.") }
        guard iutCommand == nil || iut == "builtin" else { throw ValidationError("Give --iut or --iut-cmd, not both.") }
        guard stepTimeout > 0, stepTimeout <= 600 else { throw ValidationError("--step-timeout must be above 0 and at most 600 seconds.") }
        guard (1...64).contains(jobs) else { throw ValidationError("--jobs must be 1-64.") }
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
        var expectations = Expectations()
        if let expect {
            guard let text = try? String(contentsOfFile: expect, encoding: .utf8) else {
                throw ValidationError("Cannot read --expect file '\(expect)'.")
            }
            do {
                expectations = try Expectations(parsing: text)
            } catch {
                throw ValidationError("\(expect): \(error)")
            }
        }
        let limits = AdapterLimits(stepTimeout: .milliseconds(Int64(stepTimeout * 1000)))
        let make = UncheckedSendable(transport)
        let (results, startFailure, identity) = ConformanceRunner.runAll(cases, jobs: jobs) {
            ConformanceRunner(role: role, limits: limits, transport: make.value, oracle: { SANResponderOracle() })
        }
        // Exit 3 when the IUT never got through a handshake: no case could really run.
        if let failure = startFailure, identity == nil {
            FileHandle.standardError.write(Data("vigil: the IUT could not be started: \(failure)\n".utf8))
            if !failure.stderrTail.isEmpty { FileHandle.standardError.write(Data("IUT stderr:\n\(failure.stderrTail)\n".utf8)) }
            throw ExitCode(3)
        }
        let iutName = iutCommand ?? iut
        let report = RunReport(kitVersion: Vigil.version, iut: "\(iutName) (\(identity?.name ?? "?"))", seed: 0, results: results,
                               expectations: expectations)
        for (result, c) in zip(results, report.cases) {
            print("\(c.outcome.padding(toLength: 5, withPad: " ", startingAt: 0)) \(role)  \(result.id)")
            if let d = result.verdict.divergence {
                print("      \(d.rule): \(d.statement)")
                if !d.citation.isEmpty { print("      where: \(d.citation)") }
                print("      at line \(d.step), \(d.time): expected \(d.expected)")
                print("      observed \(d.observed)")
                if let note = c.note { print("      \(note)") }
            }
            if verbose || result.verdict.isFailure {
                for line in result.transcript.text.split(separator: "\n") { print("      | \(line)") }
            }
        }
        try writeReports(report, results: results)
        let xfail = report.cases.filter { $0.outcome == "xfail" }.count
        let na = report.cases.filter { $0.outcome == "n/a" }.count
        print("\(report.passed) passed, \(report.failed) failed" + (xfail > 0 ? ", \(xfail) known deviations" : "")
              + (na > 0 ? ", \(na) not applicable" : "") + " (\(role), IUT \(identity?.name ?? "?")); reports in \(out)/")
        for unused in report.unusedExpectations { print("note: expectation matched no failure: \(unused)") }
        if report.failed > 0 { throw ExitCode(1) }
    }

    private func writeReports(_ report: RunReport, results: [CaseResult]) throws {
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: out, withIntermediateDirectories: true)
            try report.junit().write(toFile: (out as NSString).appendingPathComponent("junit.xml"), atomically: true, encoding: .utf8)
            try report.json().write(toFile: (out as NSString).appendingPathComponent("report.json"), atomically: true, encoding: .utf8)
            try report.markdown().write(toFile: (out as NSString).appendingPathComponent("summary.md"), atomically: true, encoding: .utf8)
            for r in results where r.verdict.isFailure {
                let dir = (out as NSString).appendingPathComponent("repros/\(r.role)")
                try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
                try r.transcript.text.write(toFile: (dir as NSString).appendingPathComponent("\(r.id).vgl"), atomically: true, encoding: .utf8)
            }
            if let junit { try report.junit().write(toFile: junit, atomically: true, encoding: .utf8) }
            if let json { try report.json().write(toFile: json, atomically: true, encoding: .utf8) }
        } catch {
            throw ValidationError("Cannot write the reports: \(error.localizedDescription)")
        }
    }

    /// refnode next to the running vigil.
    static func builtinPath() -> String {
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        return me.deletingLastPathComponent().appendingPathComponent("refnode").path
    }
}

/// Carries a closure the compiler cannot prove Sendable into concurrent jobs; each job calls it to make
/// its own transport, and the transports share nothing.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
