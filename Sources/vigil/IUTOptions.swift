import ArgumentParser
import Foundation
import VigilAdapters
import VigilConformance
import VigilCore

/// How to reach the implementation under test; shared by check and replay.
struct IUTOptions: ParsableArguments {
    @Option(name: .long, help: "builtin (the bundled refnode), builtin:MUTANT, linked[:MUTANT] (refnode's C core in-process), or model (the kit's Swift model, in-process).")
    var iut: String = "builtin"

    @Option(name: .customLong("iut-cmd"), help: "A command line that starts an external IUT speaking specs/adapter.md.")
    var iutCommand: String?

    @Flag(name: .long, help: "UDP mode: the IUT's packets travel as UDP datagrams on 127.0.0.1; control stays on stdio.")
    var udp = false

    @Option(name: .long, help: "Seconds the IUT has to answer each stimulus.")
    var stepTimeout: Double = 2

    @Option(name: .long, help: "Largest frame (bytes after the length field) the kit accepts from the IUT.")
    var maxFrame: Int = AdapterProtocol.defaultMaxFrame

    func validate() throws {
        guard iutCommand == nil || iut == "builtin" else { throw ValidationError("Give --iut or --iut-cmd, not both.") }
        guard !udp || iutCommand != nil || iut == "builtin" || iut.hasPrefix("builtin:") else {
            throw ValidationError("--udp needs a process IUT (builtin, builtin:MUTANT or --iut-cmd), not \(iut).")
        }
        guard stepTimeout > 0, stepTimeout <= 600 else { throw ValidationError("--step-timeout must be above 0 and at most 600 seconds.") }
        guard (64...(64 << 20)).contains(maxFrame) else { throw ValidationError("--max-frame must be 64 bytes to 64 MiB.") }
        guard iutCommand != nil || iut == "model" || iut == "builtin" || iut.hasPrefix("builtin:") || iut == "linked" || iut.hasPrefix("linked:") else {
            throw ValidationError("--iut takes builtin, builtin:MUTANT, linked, linked:MUTANT or model; use --iut-cmd for a command line.")
        }
        for prefix in ["builtin:", "linked:"] where iut.hasPrefix(prefix) {
            let name = String(iut.dropFirst(prefix.count))
            guard LinkedRefNodeIUT.mutants.contains(where: { $0.name == name }) else {
                throw ValidationError("refnode has no mutant '\(name)'; `vigil mutants` lists them.")
            }
        }
    }

    var limits: AdapterLimits { AdapterLimits(stepTimeout: .milliseconds(Int64(stepTimeout * 1000)), maxFrame: maxFrame) }

    var label: String { (iutCommand ?? iut) + (udp ? " (UDP)" : "") }

    func transport(for role: Role) -> () -> any FrameTransport {
        let udp = self.udp
        if let iutCommand {
            let maxFrame = self.maxFrame
            return {
                let control = StdioTransport(shellCommand: iutCommand, maxFrame: maxFrame)
                return udp ? UDPTransport(control: control) : control
            }
        }
        if iut == "model" {
            // validate() has checked that the kit has a model IUT for every role asked for.
            let make = Suites.model(for: role)!
            return { InProcessTransport(make) }
        }
        if iut == "linked" || iut.hasPrefix("linked:") {
            let mutant = iut.hasPrefix("linked:") ? String(iut.dropFirst("linked:".count)) : nil
            return { InProcessTransport { LinkedRefNodeIUT(mutant: mutant)! } }
        }
        let refnode = Self.builtinPath()
        let mutant = iut.hasPrefix("builtin:") ? String(iut.dropFirst("builtin:".count)) : nil
        let argv = [refnode] + (mutant.map { ["--mutant", $0] } ?? [])
        let maxFrame = self.maxFrame
        return {
            let control = StdioTransport(argv: argv, maxFrame: maxFrame)
            return udp ? UDPTransport(control: control) : control
        }
    }

    /// refnode next to the running vigil.
    static func builtinPath() -> String {
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        return me.deletingLastPathComponent().appendingPathComponent("refnode").path
    }
}

/// The oracle for a role, or a usage error when its suite is not built yet.
func oracle(for role: Role) throws -> () -> any RoleOracle {
    guard let make = Suites.oracle(for: role) else {
        throw ValidationError("The \(role) oracle is not available yet; available: \(Suites.roles.map(\.rawValue).joined(separator: ", ")).")
    }
    return make
}

extension IUTOptions {
    /// `--iut model` needs an in-process model of the role.
    func requireModel(for role: Role) throws {
        if iut == "model", iutCommand == nil, Suites.model(for: role) == nil {
            throw ValidationError("The kit has no in-process model IUT for \(role) yet; use --iut builtin.")
        }
    }
}

/// Reads and parses a script file, and names its role (the @role header, unless `role` is given).
func loadScript(_ path: String, role: String?) throws -> (Script, Role) {
    let parsed = try readScript(path)
    return (parsed, try scriptRole(parsed, path: path, role: role))
}

/// Reads and parses a script file.
func readScript(_ path: String) throws -> Script {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        throw ValidationError("Cannot read the script '\(path)'.")
    }
    do {
        return try Script.parse(text)
    } catch {
        throw ValidationError("\(path): \(error)")
    }
}

/// The role a script is for: `role` when given, else its @role header.
func scriptRole(_ parsed: Script, path: String, role: String?) throws -> Role {
    guard let name = role ?? parsed[header: "role"] else { throw ValidationError("\(path) has no @role header; give --role.") }
    guard let r = Role(rawValue: name) else {
        throw ValidationError("Unknown role '\(name)'. Roles: \(Role.allCases.map(\.rawValue).joined(separator: ", ")).")
    }
    return r
}
