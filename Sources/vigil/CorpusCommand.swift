import ArgumentParser
import Foundation
import VigilConformance
import VigilCore

struct CorpusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus",
        abstract: "List the conformance cases stored under corpus/, or write them anew from the suites.",
        discussion: """
            The conformance cases are scripts (specs/script.md) under corpus/conformance/ROLE/. They are \
            built by the suites in the kit's sources and written here so that a person can read, copy and \
            replay them; a test keeps the files in step with the suites.
            """
    )

    @Flag(name: .long, help: "Write corpus/conformance/ from the suites (run from the repository's top folder).")
    var write = false

    @Option(name: .long, help: "The corpus folder.")
    var corpus = "corpus"

    func run() throws {
        for role in Suites.roles {
            let folder = (corpus as NSString).appendingPathComponent("conformance/\(role)")
            let cases = Suites.cases(for: role)
            if write {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                for script in cases {
                    try script.text.write(toFile: (folder as NSString).appendingPathComponent(Suites.fileName(script)), atomically: true, encoding: .utf8)
                }
                print("wrote \(cases.count) \(role) cases to \(folder)")
            } else {
                for script in cases { print("\(role)  \(script[header: "case"] ?? "?")  \(script[header: "rules"] ?? "")") }
            }
        }
    }
}
