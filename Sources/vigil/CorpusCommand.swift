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
        let folder = (corpus as NSString).appendingPathComponent("conformance/san-responder")
        let cases = SANResponderSuite.cases
        if write {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for script in cases {
                let path = (folder as NSString).appendingPathComponent(SANResponderSuite.fileName(script))
                try script.text.write(toFile: path, atomically: true, encoding: .utf8)
            }
            print("wrote \(cases.count) san-responder cases to \(folder)")
        } else {
            for script in cases {
                print("san-responder  \(script[header: "case"] ?? "?")  \(script[header: "rules"] ?? "")")
            }
        }
    }
}
