import Foundation
import Testing
import VigilCore
import VigilFailover

@Suite("Rule catalog")
struct CatalogTests {
    @Test("every quote occurs in the patent where the catalog says")
    func audit() {
        let problems = CatalogAudit.problems(
            in: FailoverRule.catalog, idPrefix: "FO-", texts: [FailoverCatalog.patent: Repo.patent])
        #expect(problems == [], "\(problems.joined(separator: "\n"))")
    }

    @Test("the committed catalog files are the renderings of the code")
    func committedFilesMatch() {
        let json = RuleCatalogRendering.json(FailoverRule.catalog)
        let markdown = RuleCatalogRendering.markdown(
            FailoverRule.catalog, title: FailoverCatalog.title, preface: FailoverCatalog.preface)
        if ProcessInfo.processInfo.environment["VIGIL_WRITE_CATALOG"] == "1" {
            try? json.write(to: Repo.root.appendingPathComponent("specs/rules/failover-rules.json"), atomically: true, encoding: .utf8)
            try? markdown.write(to: Repo.root.appendingPathComponent("specs/rules/failover-rules.md"), atomically: true, encoding: .utf8)
        }
        #expect(Repo.read("specs/rules/failover-rules.json") == json, "regenerate with VIGIL_WRITE_CATALOG=1")
        #expect(Repo.read("specs/rules/failover-rules.md") == markdown, "regenerate with VIGIL_WRITE_CATALOG=1")
    }
}
