import Foundation
import Testing
import VigilCore
@testable import VigilSAN

/// The SAN rule catalog: sound citations, committed renderings in step with the code, and every rule
/// applied by the model in at least one scenario.
@Suite struct CatalogTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func file(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    @Test func everyQuoteStandsInThePatentWhereItIsCited() throws {
        let text = PatentText(markdown: try Self.file("specs/patents/US6545981-san-error-detection-and-recovery.md"))
        let problems = CatalogAudit.problems(in: SANRule.catalog, idPrefix: "SAN-", texts: ["US 6,545,981": text])
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    @Test func auditCatchesAMisquoteAndAWrongColumn() {
        let text = PatentText(markdown: "# TITLE\n\nsome words here\n\n5\n\nmore words there\n")
        var rule = SANRule.seqInit.rule
        rule.citations = [Citation(patent: "US 6,545,981", column: 5, quote: "some words here")]
        #expect(CatalogAudit.problems(in: [rule], idPrefix: "SAN-", texts: ["US 6,545,981": text]).count == 1)
        rule.citations = [Citation(patent: "US 6,545,981", column: 5, quote: "words not there")]
        #expect(CatalogAudit.problems(in: [rule], idPrefix: "SAN-", texts: ["US 6,545,981": text]).count == 1)
        rule.citations = [Citation(patent: "US 6,545,981", column: 5, quote: "more words there")]
        #expect(CatalogAudit.problems(in: [rule], idPrefix: "SAN-", texts: ["US 6,545,981": text]).isEmpty)
    }

    @Test func committedRenderingsMatchTheCatalog() throws {
        #expect(try Self.file("specs/rules/san-rules.json") == RuleCatalogRendering.json(SANRule.catalog),
                "regenerate with: swift run vigil rules --protocol san --json > specs/rules/san-rules.json")
        #expect(try Self.file("specs/rules/san-rules.md")
                    == RuleCatalogRendering.markdown(SANRule.catalog, title: SANCatalog.title, preface: SANCatalog.preface),
                "regenerate with: swift run vigil rules --protocol san --markdown > specs/rules/san-rules.md")
    }

    @Test func everyRuleIsAppliedByTheModelInSomeScenario() throws {
        let applied = Set(try CoverageScenarios.all())
        let missing = SANRule.allCases.filter { !applied.contains($0) }
        #expect(missing.isEmpty, "never applied: \(missing.map(\.rawValue))")
    }
}

/// Scenarios that together apply every rule: the patent's figures, path failures, the responder's
/// refusals and the requestor's divergences.
enum CoverageScenarios {
    static func all() throws -> [SANRule] {
        var rules: [SANRule] = []
        rules += Figure6Tests.run().rules
        for scenario in SANScenario.allCases { rules += scenario.simulate().rules }
        var healed = PathStateTests.permanentFailure(healAt: .milliseconds(150))
        healed.run(until: .milliseconds(400))
        rules += healed.rules
        // Data on a path the requestor holds bad, and a corrupted response.
        var failed = PathStateTests.permanentFailure()
        failed.run(until: .milliseconds(50))
        var afterFailure = failed.requestor
        _ = afterFailure.step(.post(vi: 1, .send([1])))
        let onBad = SANRequestor().config.packet(fromPort: 0, toPeerPort: 0, acb: .lane(0), tsn: 4242,
            body: .request(Request(kind: .send(data: [1], immediate: nil), ordered: true, sequence: 4, vi: 1)))
        rules += afterFailure.step(.transmit(onBad.encode(), port: 0)).rules
        rules += afterFailure.step(.packet(onBad.encode(.init(crcXor: 1)), port: 0)).rules
        var dead = SANPairSimulation()
        dead.createVI(1)
        dead.post(1, .send([1]))
        dead.loses = { _ in true }
        dead.run(until: .seconds(1))
        rules += dead.rules

        // Responder refusals and answers.
        let good = ResponderTests.send(seq: 0)
        var wrongDID = good
        wrongDID.destination = SNID(0x123)!
        var wrongFabric = good
        wrongFabric.fabric = true
        var stranger = good
        stranger.source = SNID(0x777)!
        let inputs: [[UInt8]] = [
            wrongDID.encode(), wrongFabric.encode(), stranger.encode(), good.encode(.init(crcXor: 1)),
            good.encode(.init(length: 2)), good.encode(.init(length: 600)), good.encode(.init(setReservedBit: true)),
            good.encode(.init(transactionTypeCode: 7)), ResponderTests.send(seq: 0, vi: 9).encode(),
            ResponderTests.request(.rdmaWrite(address: 0, data: [1]), seq: 0).encode(),
            ResponderTests.request(.rdmaRead(address: 0x1000, length: 4), seq: 0).encode(),
            ResponderTests.request(.rdmaRead(address: 0x1000, length: 4), seq: 0).encode(),
        ]
        var responder = ResponderTests.responder()
        for bytes in inputs { rules += responder.step(.packet(bytes, port: 0)).rules }
        rules += responder.step(.packet(ResponderTests.send(seq: 0).encode(), port: 0)).rules
        rules += responder.step(.packet(ResponderTests.send(seq: 1).encode(), port: 0)).rules
        rules += responder.step(.packet(ResponderTests.send(seq: 9).encode(), port: 0)).rules

        // Requestor divergences.
        var r = RequestorTests.requestor([.send(bytes(1024, seed: 1)), .rdmaWrite([1], to: 0, ordered: false), .send([1])])
        rules += try RequestorTests.tamper(r) { $0.setSequence(9) }.rules
        rules += try RequestorTests.tamper(r) { $0.acb = .adaptive }.rules
        try RequestorTests.launch(&r, 3)
        let early = SANRequestor().config.packet(fromPort: 0, toPeerPort: 0, acb: .lane(0), tsn: 77,
            body: .request(Request(kind: .send(data: [1], immediate: nil), ordered: true, sequence: 2, vi: 1)))
        rules += r.step(.transmit(early.encode(), port: 0)).rules  // NDAA
        var t = try RequestorTests.timedOut()
        rules += try RequestorTests.tamper(t) { _ in }.rules
        _ = try RequestorTests.barrier(&t, readBack: { $0 ^ 1 }, log: { rules += $0.rules })
        rules += try RequestorTests.tamper(t) { p in
            p.body = .request(Request(kind: .rdmaWrite(address: 0xB000_0000, data: [0, 0, 0xA, 0, 0, 0, 0, 1]), ordered: false, sequence: 0, vi: 0xFFFF))
        }.rules
        var window = RequestorTests.requestor([.send(bytes(130 * 512, seed: 1))])
        try RequestorTests.launch(&window, 128)
        let extra = SANRequestor().config.packet(fromPort: 0, toPeerPort: 0, acb: .lane(0), tsn: 999,
            body: .request(Request(kind: .send(data: Array(bytes(130 * 512, seed: 1)[(128 * 512)..<(129 * 512)]), immediate: nil),
                                   ordered: true, first: false, last: false, sequence: 128, vi: 1)))
        rules += window.step(.transmit(extra.encode(), port: 0)).rules
        var nacked = RequestorTests.requestor([.rdmaWrite([1], to: 0xDEAD, ordered: true)])
        let (p, _) = try RequestorTests.next(nacked)
        try RequestorTests.launch(&nacked, 1)
        if case .request(let q) = p.body {
            let nack = SANPacket(destination: p.source, acb: p.acb, fabric: p.fabric, source: p.destination, tsn: p.tsn,
                                 body: .nack(ResponseFields(control: q.control, sequence: q.sequence, vi: 1), reason: .accessViolation))
            rules += nacked.step(.packet(nack.encode(), port: 0)).rules
        }
        return rules
    }
}

@Suite struct CatalogIdsTests {
    /// Model code names rules through `SANRule`, so an unknown case does not compile; this catches the
    /// other way in: an id written as a string somewhere in the sources.
    @Test func noRuleIdStringOutsideTheCatalog() throws {
        let known = Set(SANRule.allCases.map(\.rawValue))
        let folder = CatalogTests.root.appendingPathComponent("Sources/VigilSAN")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".swift") }
        #expect(files.count > 5)
        let pattern = try Regex("\"SAN-[A-Z0-9-]+\"")
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for match in text.matches(of: pattern) {
                let id = String(text[match.range].dropFirst().dropLast())
                #expect(known.contains(id), "\(file) names \(id), which is not in the catalog")
            }
        }
    }
}
