import ArgumentParser
import Foundation
import VigilAdapters
import VigilConformance
import VigilCore
import VigilEvidence

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

            Roles: san-responder, san-requestor, failover-node (the kit plays the peer node, the disks, the \
            persistent memories, the three channels, the operator and the clock).

            Exit status: 0 conformant; 1 at least one divergence; 2 usage or input error; 3 the IUT \
            could not be started or failed the handshake.
            """
    )

    @Option(name: .long, help: "The role to check; every role with a suite when omitted.")
    var role: String?

    @OptionGroup var target: IUTOptions

    @Option(name: .long, help: "Only cases whose id or rule ids contain this text.")
    var filter: String?

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
        if let role {
            guard let r = Role(rawValue: role) else {
                throw ValidationError("Unknown role '\(role)'. Roles: \(Role.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            guard Suites.roles.contains(r) else {
                throw ValidationError("The \(role) suite is not available yet; available: \(Suites.roles.map(\.rawValue).joined(separator: ", ")).")
            }
        }
        guard (1...64).contains(jobs) else { throw ValidationError("--jobs must be 1-64.") }
        if target.iut == "model", target.iutCommand == nil {
            let roles = role.flatMap(Role.init(rawValue:)).map { [$0] } ?? Suites.roles
            for r in roles where Suites.model(for: r) == nil {
                throw ValidationError("The kit has no in-process model IUT for \(r) yet; use --iut builtin or --role.")
            }
        }
    }

    func run() throws {
        let roles = role.map { [Role(rawValue: $0)!] } ?? Suites.roles
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
        var results: [CaseResult] = []
        var names: Set<String> = []
        var lastFailure: AdapterFailure?
        for role in roles {
            var cases = Suites.cases(for: role)
            if let filter {
                cases = cases.filter { ($0[header: "case"] ?? "").contains(filter) || ($0[header: "rules"] ?? "").contains(filter) }
            }
            if cases.isEmpty { continue }
            let limits = target.limits
            let oracleMaker = UncheckedSendable(try oracle(for: role))
            let make = UncheckedSendable(target.transport(for: role))
            let run = ConformanceRunner.runAll(cases, jobs: jobs) {
                ConformanceRunner(role: role, limits: limits, transport: make.value, oracle: oracleMaker.value)
            }
            results += run.results
            if let id = run.identity { names.insert(id.name) }
            if let f = run.startFailure, run.identity == nil { lastFailure = f }
        }
        if results.isEmpty, let filter { throw ValidationError("No case matches --filter '\(filter)'.") }
        // Exit 3 when the IUT never got through a handshake: no case could really run.
        if let failure = lastFailure, names.isEmpty {
            FileHandle.standardError.write(Data("vigil: the IUT could not be started: \(failure)\n".utf8))
            if !failure.stderrTail.isEmpty { FileHandle.standardError.write(Data("IUT stderr:\n\(failure.stderrTail)\n".utf8)) }
            throw ExitCode(3)
        }
        let identityName = names.sorted().joined(separator: ", ")
        let report = RunReport(kitVersion: Vigil.version, iut: "\(target.label) (\(identityName))", seed: 0, results: results,
                               expectations: expectations)
        for (result, c) in zip(results, report.cases) {
            print("\(c.outcome.padding(toLength: 5, withPad: " ", startingAt: 0)) \(result.role)  \(result.id)")
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
              + (na > 0 ? ", \(na) not applicable" : "") + " (\(Set(results.map(\.role.rawValue)).sorted().joined(separator: ", ")); IUT \(identityName)); reports in \(out)/")
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
                // Evidence (specs/pcap.md): the same transcript as a capture, with a marker at the divergence.
                let pcap = (dir as NSString).appendingPathComponent("\(r.id).pcap")
                do {
                    try VigilPcap.write(CaptureConversion.records(from: r.transcript, divergence: r.verdict.divergence), to: pcap)
                } catch {
                    throw ValidationError("Cannot write \(pcap): \(error)")
                }
            }
            if let junit { try report.junit().write(toFile: junit, atomically: true, encoding: .utf8) }
            if let json { try report.json().write(toFile: json, atomically: true, encoding: .utf8) }
        } catch let e as ValidationError {
            throw e  // already says which file (the capture)
        } catch {
            throw ValidationError("Cannot write the reports: \(error.localizedDescription)")
        }
    }

}

/// Carries a closure the compiler cannot prove Sendable into concurrent jobs; each job calls it to make
/// its own transport, and the transports share nothing.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
