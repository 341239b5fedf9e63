import ArgumentParser
import Foundation
import VigilCore
import VigilFailover
import VigilSAN

/// The protocols the kit knows, as the command line names them.
enum ProtocolName: String, ExpressibleByArgument, CaseIterable {
    case san
    case failover

    var rules: [Rule] {
        switch self {
        case .san: return SANRule.catalog
        case .failover: return FailoverRule.catalog
        }
    }

    var idPrefix: String { self == .san ? "SAN-" : "FO-" }

    var title: String {
        switch self {
        case .san: return SANCatalog.title
        case .failover: return FailoverCatalog.title
        }
    }

    var preface: String {
        switch self {
        case .san: return SANCatalog.preface
        case .failover: return FailoverCatalog.preface
        }
    }
}

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Print the rule catalog: every rule the kit checks, with its id and where the patent states it.",
        discussion: """
            Each rule has a stable id (SAN-… for US 6,545,981, FO-… for US 6,119,244), a level (MUST, MAY, \
            or MODEL-CHOICE where the patent is silent and the kit decided), a statement and citations \
            (column, estimated lines, figure or claim, and the patent's own words). Divergence reports name \
            these ids.

            Examples:
              vigil rules                         every rule, both protocols
              vigil rules --protocol san --json   the SAN catalog for machines
              vigil rules --id SAN-RSP-DUP-ACK    one rule
              vigil rules --audit                 check every quote against the patent texts
            """
    )

    @Option(name: .long, help: "Only this protocol's rules (san or failover).")
    var `protocol`: ProtocolName?

    @Option(name: .long, help: "Only the rule with this id.")
    var id: String?

    @Flag(name: .long, help: "JSON for machines (the format of specs/rules/*-rules.json).")
    var json = false

    @Flag(name: .long, help: "Markdown (the format of specs/rules/*-rules.md); needs --protocol.")
    var markdown = false

    @Flag(name: .long, help: "Check each citation's quote and column against the patent texts; exit 1 on a problem.")
    var audit = false

    @Flag(name: .long, help: .hidden)
    var locate = false

    @Option(name: .long, help: "Folder holding the patent texts for --audit.")
    var patents = "specs/patents"

    func validate() throws {
        if json && markdown { throw ValidationError("Choose one of --json and --markdown.") }
        if markdown && `protocol` == nil { throw ValidationError("--markdown renders one catalog; add --protocol san or --protocol failover.") }
    }

    func run() throws {
        let protocols = `protocol`.map { [$0] } ?? ProtocolName.allCases
        if audit {
            try runAudit(protocols)
            return
        }
        var rules = protocols.flatMap(\.rules)
        if let id {
            rules = rules.filter { $0.id == id }
            if rules.isEmpty {
                let known = protocols.flatMap(\.rules).map(\.id)
                let near = known.filter { $0.contains(id.uppercased()) || id.uppercased().contains($0) }
                throw ValidationError("No rule has the id '\(id)'." + (near.isEmpty ? " `vigil rules` lists them." : " Did you mean \(near.joined(separator: ", "))?"))
            }
        }
        if json {
            print(RuleCatalogRendering.json(rules), terminator: "")
        } else if markdown, let only = `protocol` {
            print(RuleCatalogRendering.markdown(rules, title: only.title, preface: only.preface), terminator: "")
        } else {
            print(RuleCatalogRendering.text(rules), terminator: "")
            if id == nil { print("\(rules.count) rules.") }
        }
    }

    private func runAudit(_ protocols: [ProtocolName]) throws {
        var texts: [String: PatentText] = [:]
        for (number, file) in [("US 6,545,981", "US6545981-san-error-detection-and-recovery.md"),
                               ("US 6,119,244", "US6119244-coordinating-persistent-status.md")] {
            let path = (patents as NSString).appendingPathComponent(file)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("Cannot read \(path); run from the repository's top folder or pass --patents DIR.")
            }
            texts[number] = PatentText(markdown: String(decoding: data, as: UTF8.self))
        }
        if locate {
            for p in protocols {
                for rule in p.rules {
                    for c in rule.citations where !c.quote.isEmpty {
                        let found = texts[c.patent].flatMap { $0.locate(c.quote) }
                        print("\(rule.id)\t\(found.map { "\($0.column)\t\($0.line)" } ?? "-\t-")\t\(PatentText.fold(c.quote))")
                    }
                }
            }
            return
        }
        var total = 0
        for p in protocols {
            let problems = CatalogAudit.problems(in: p.rules, idPrefix: p.idPrefix, texts: texts)
            for problem in problems { print(problem) }
            total += problems.count
            print("\(p.rawValue): \(p.rules.count) rules, \(problems.count) problems")
        }
        if total > 0 { throw ExitCode(1) }
    }
}
