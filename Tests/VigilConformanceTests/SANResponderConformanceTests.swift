import Foundation
import Testing
import VigilAdapters
import VigilCore
@testable import VigilConformance
import VigilSAN

@Suite struct SANResponderConformanceTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func runner(distort: @escaping (KitFrame, [IUTFrame]) -> [IUTFrame] = { $1 }) -> ConformanceRunner {
        ConformanceRunner(role: .sanResponder, transport: { InProcessTransport { ModelSANResponderIUT(distort: distort) } },
                          oracle: { SANResponderOracle() })
    }

    static func result(_ id: String, distort: @escaping (KitFrame, [IUTFrame]) -> [IUTFrame]) -> CaseResult {
        runner(distort: distort).run(SANResponderSuite.cases.first { $0[header: "case"] == id }!)
    }

    @Test func everyCasePassesAgainstTheModelItself() {
        let r = Self.runner()
        for script in SANResponderSuite.cases {
            let result = r.run(script)
            #expect(result.verdict == .pass, "\(result.id): \(result.verdict)")
        }
    }

    @Test func everyResponderMustRuleHasACase() {
        let covered = Set(SANResponderSuite.cases.flatMap { ($0[header: "rules"] ?? "").split(separator: " ").map(String.init) })
        let responderRules = SANRule.allCases.filter { $0.rawValue.hasPrefix("SAN-RSP-") && $0.rule.level == .must }
        #expect(responderRules.allSatisfy { covered.contains($0.rawValue) }, "\(responderRules.filter { !covered.contains($0.rawValue) })")
    }

    @Test(arguments: Suites.roles)
    func committedCorpusMatchesTheSuite(role: Role) throws {
        for script in Suites.cases(for: role) {
            let url = Self.root.appendingPathComponent("corpus/conformance/\(role)/\(Suites.fileName(script))")
            #expect(try String(contentsOf: url, encoding: .utf8) == script.text, "regenerate with: swift run vigil corpus --write")
            #expect(try Script.parse(script.text) == script)
        }
    }

    @Test func everyRequestorCasePassesAgainstTheModelAndTheLinkedRefnode() {
        for make in [{ () -> any InProcessIUT in ModelSANRequestorIUT() }, { () -> any InProcessIUT in LinkedRefNodeIUT()! }] {
            let runner = ConformanceRunner(role: .sanRequestor, transport: { InProcessTransport(make) }, oracle: { SANRequestorOracle() })
            for script in SANRequestorSuite.cases {
                let result = runner.run(script)
                #expect(result.verdict == .pass, "\(result.id): \(result.verdict)")
            }
        }
    }

    @Test func everyRequestorMustRuleHasACase() {
        let covered = Set(SANRequestorSuite.cases.flatMap { ($0[header: "rules"] ?? "").split(separator: " ").map(String.init) })
        let rules = SANRule.allCases.filter { $0.rawValue.hasPrefix("SAN-REQ-") && $0.rule.level == .must }
        #expect(rules.allSatisfy { covered.contains($0.rawValue) }, "\(rules.filter { !covered.contains($0.rawValue) })")
    }

    /// A responder that NACKs duplicates is caught by the duplicate case, naming SAN-RSP-DUP-ACK.
    @Test func nackingDuplicatesIsCaught() {
        let r = Self.result("rsp-duplicate-ack") { frame, out in
            out.map { f in
                guard case .packet(let port, let bytes) = f, var p = try? SANPacket.decode(bytes), case .ack(let fields, _) = p.body,
                    case .packet(_, let inBytes) = frame, let incoming = try? SANPacket.decode(inBytes), incoming.tsn == 4,
                    fields.sequence == 1 else { return f }
                // TSN 4 is the resent SEQ 1: a duplicate.
                p.body = .nack(fields, reason: .sequenceError)
                return .packet(port: port, bytes: p.encode())
            }
        }
        #expect(r.verdict.divergence?.rule == "SAN-RSP-DUP-ACK", "\(r.verdict)")
    }

    @Test func wrongSequenceNumberInTheAnswerIsCaught() {
        let r = Self.result("rsp-ordered-sends") { _, out in
            out.map { f in
                guard case .packet(let port, let bytes) = f, var p = try? SANPacket.decode(bytes), case .ack(var fields, let d) = p.body else { return f }
                fields.sequence &+= 1
                p.body = .ack(fields, data: d)
                return .packet(port: port, bytes: p.encode())
            }
        }
        #expect(r.verdict.divergence?.rule == "SAN-RSP-RESP-COPY-SEQ", "\(r.verdict)")
        #expect(r.verdict.divergence?.citation.contains("US 6,545,981") == true)
    }

    @Test func answeringAPacketWithABadCRCIsCaught() {
        let r = Self.result("rsp-invalid-crc") { frame, out in
            // Skipping the CRC check: answer as if the packet were good.
            guard case .packet(let port, var bytes) = frame, bytes.count > 4, (try? SANPacket.decode(bytes)) == nil else { return out }
            let crc = CRC32C.checksum(bytes, range: 0..<(bytes.count - 4))
            for k in 0..<4 { bytes[bytes.count - 4 + k] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * k)) }
            var model = SANResponder()
            _ = model.step(.createVI(1))
            return model.step(.packet(bytes, port: port)).packets.map { .packet(port: port, bytes: $0.encode()) }
        }
        #expect(r.verdict.divergence?.rule == "SAN-RSP-VALID-CRC", "\(r.verdict)")
    }

    @Test func storingADuplicateAgainIsCaught() {
        let r = Self.result("rsp-duplicate-ack") { frame, out in
            guard case .packet(_, let bytes) = frame, let incoming = try? SANPacket.decode(bytes), incoming.tsn == 4 else { return out }
            return out + [.event(.deliver(vi: 1, flags: 3, immediate: 0, data: [1, 0x5A]))]
        }
        #expect(r.verdict.divergence?.rule == "SAN-RSP-DUP-ACK", "\(r.verdict)")
    }

    @Test func omittingTheOptionalNackIsAllowed() {
        let r = Self.result("rsp-ahead-nack") { _, out in
            out.filter { f in
                guard case .packet(_, let bytes) = f, case .nack? = (try? SANPacket.decode(bytes))?.body else { return true }
                return false
            }
        }
        #expect(r.verdict == .pass, "\(r.verdict)")
    }

    @Test func theTranscriptIsAReplayableScript() throws {
        let r = Self.runner().run(SANResponderSuite.cases[0])
        let parsed = try Script.parse(r.transcript.text)
        #expect(parsed.lines.filter { $0.direction == .observation }.count >= 8)
        #expect(parsed.lines.filter { $0.direction == .stimulus } == SANResponderSuite.cases[0].lines)
    }
}
