import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import VigilAdapters
import VigilCore
@testable import VigilConformance

/// An IUT that crashes, hangs, writes garbage or oversized frames, or floods: each is a clean verdict
/// with a reason, the remaining cases still run, and the reports are complete and well formed.
@Suite(.serialized) struct RobustnessTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/misbehaving_iut.py").path
    static let cases = Array(SANResponderSuite.cases.prefix(4))

    static func run(_ mode: String, _ n: Int = 1) -> (RunReport, [CaseResult]) {
        let command = "python3 \(fixture) \(mode) \(n)"
        let (results, _, _) = ConformanceRunner.runAll(cases, jobs: 1) {
            ConformanceRunner(role: .sanResponder, limits: AdapterLimits(stepTimeout: .milliseconds(500)),
                              transport: { StdioTransport(shellCommand: command) }, oracle: { SANResponderOracle() })
        }
        return (RunReport(kitVersion: "test", iut: mode, seed: 0, results: results), results)
    }

    @Test(arguments: [("crash", "ADAPTER-ALIVE", "exit status 9"), ("hang", "ADAPTER-QUIESCE", "no IDLE"),
                      ("garbage", "ADAPTER-FRAME", "unknown IUT frame type"), ("oversized", "ADAPTER-FRAME", "over the"),
                      ("flood", "ADAPTER-QUIESCE", "flood")])
    func misbehaviourIsAVerdictAndTheRunGoesOn(mode: String, rule: String, mention: String) throws {
        let (report, results) = Self.run(mode)
        #expect(results.count == Self.cases.count, "every case has a result")
        let first = try #require(results.first?.verdict.divergence)
        #expect(first.rule == rule && first.observed.contains(mention), "\(first)")
        if mode == "crash" { #expect(first.observed.contains("crashing on purpose"), "stderr is kept") }
        // The IUT was restarted: every later case ran again from a handshake and got its own verdict.
        #expect(results.dropFirst().allSatisfy { $0.verdict.divergence != nil })
        let parsed = try JSONDecoder().decode(RunReport.self, from: Data(report.json().utf8))
        #expect(parsed.cases.count == Self.cases.count && parsed.failed == Self.cases.count)
        #expect(JUnitCheck.parse(report.junit())?.testcases == Self.cases.count)
    }
}

@Suite struct ReportTests {
    static func report() -> RunReport {
        let runner = ConformanceRunner(role: .sanResponder, transport: {
            InProcessTransport {
                ModelSANResponderIUT { frame, out in
                    // A wrong IUT: every answer's sequence number is off by one.
                    out.map { f in
                        guard case .packet(let port, var bytes) = f, bytes.count > 12 else { return f }
                        bytes[12] &+= 1
                        let crc = CRC32C.checksum(bytes, range: 0..<(bytes.count - 4))
                        for k in 0..<4 { bytes[bytes.count - 4 + k] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * k)) }
                        return .packet(port: port, bytes: bytes)
                    }
                }
            }
        }, oracle: { SANResponderOracle() })
        let results = Array(SANResponderSuite.cases.prefix(3)).map { runner.run($0) }
        let expectations = try! Expectations(parsing: "san-responder rsp-ahead-nack SAN-RSP-RESP-COPY-SEQ  # known: off by one, fix in 2.1\n")
        return RunReport(kitVersion: "test", iut: "off-by-one <&\">", seed: 7, results: results, expectations: expectations)
    }

    @Test func junitParsesAndNamesRuleCitationExpectedObserved() throws {
        let xml = Self.report().junit()
        let parsed = try #require(JUnitCheck.parse(xml))
        #expect(parsed.testcases == 3 && parsed.failures == 2 && parsed.skipped == 1)
        #expect(parsed.failureMessages.allSatisfy { $0.hasPrefix("SAN-RSP-RESP-COPY-SEQ") })
        #expect(xml.contains("US 6,545,981") && xml.contains("expected: ") && xml.contains("observed: "))
        #expect(parsed.properties["iut"] == "off-by-one <&\">" && parsed.properties["seed"] == "7")
    }

    @Test func jsonDecodesWithTheSameContent() throws {
        let report = Self.report()
        let decoded = try JSONDecoder().decode(RunReport.self, from: Data(report.json().utf8))
        #expect(decoded.cases.map(\.outcome) == ["fail", "fail", "xfail"])
        #expect(decoded.cases[0].divergence?.rule == "SAN-RSP-RESP-COPY-SEQ")
        #expect(decoded.failed == 2 && decoded.unusedExpectations.isEmpty)
        #expect(report.markdown().contains("known deviations"))
    }

    @Test func expectationsNeedAReasonAndAKnownRole() {
        #expect(throws: CaseError.self) { try Expectations(parsing: "san-responder rsp-x SAN-RSP-DUP-ACK\n") }
        #expect(throws: CaseError.self) { try Expectations(parsing: "tcp rsp-x SAN-RSP-DUP-ACK # why\n") }
        #expect(throws: CaseError.self) { try Expectations(parsing: "san-responder SAN-RSP-DUP-ACK # why\n") }
        #expect((try? Expectations(parsing: "# comment\n\nsan-responder * SAN-RSP-DUP-ACK  # vendor bug 12\n"))?.entries.count == 1)
    }
}

/// Reads a JUnit file with Foundation's XML parser, as a CI system would.
final class JUnitCheck: NSObject, XMLParserDelegate {
    var testcases = 0, failures = 0, skipped = 0
    var failureMessages: [String] = []
    var properties: [String: String] = [:]

    static func parse(_ xml: String) -> JUnitCheck? {
        let check = JUnitCheck()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = check
        return parser.parse() ? check : nil
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        switch name {
        case "testcase": testcases += 1
        case "failure", "error":
            failures += 1
            failureMessages.append(attributes["message"] ?? "")
        case "skipped": skipped += 1
        case "property": properties[attributes["name"] ?? ""] = attributes["value"]
        default: break
        }
    }
}
