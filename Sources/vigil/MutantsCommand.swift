import ArgumentParser
import Foundation
import VigilConformance

struct MutantsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mutants",
        abstract: "List the deliberate bugs of the bundled refnode, each with its role and the rule the kit reports against it.",
        discussion: """
            Each mutant is a small realistic deviation in refnode's normal code path. Check one with \
            `vigil check --role ROLE --iut builtin:NAME`: the run fails, naming the rule listed here.
            """
    )

    @Flag(name: .long, help: "JSON for machines.")
    var json = false

    func run() throws {
        let mutants = LinkedRefNodeIUT.mutants
        if json {
            let rows = mutants.map { ["name": $0.name, "role": $0.role, "rule": $0.rule, "description": $0.description] }
            let data = try JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for m in mutants {
                print("\(m.name.padding(toLength: 30, withPad: " ", startingAt: 0)) \(m.role.padding(toLength: 14, withPad: " ", startingAt: 0)) \(m.rule)")
                print("    \(m.description)")
            }
            print("\(mutants.count) mutants")
        }
    }
}
