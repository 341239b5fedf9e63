import Foundation
import Testing
import VigilAdapters
import VigilCore
@testable import VigilConformance
import VigilFailover

/// The failover-node suite against refnode's C core linked in-process: the correct core passes every case,
/// each failover mutant and a few hand-made distortions are caught with the rule they break.
@Suite struct FailoverNodeConformanceTests {
    /// Bends a linked refnode's output to play a wrong implementation.
    final class Distorted: InProcessIUT {
        let inner: LinkedRefNodeIUT
        let distort: (IUTFrame) -> [IUTFrame]
        init(mutant: String? = nil, _ distort: @escaping (IUTFrame) -> [IUTFrame]) {
            inner = LinkedRefNodeIUT(mutant: mutant)!
            self.distort = distort
        }
        func handle(_ frame: KitFrame) -> [IUTFrame] { inner.handle(frame).flatMap(distort) }
    }

    static func runner(_ make: @escaping () -> any InProcessIUT) -> ConformanceRunner {
        ConformanceRunner(role: .failoverNode, transport: { InProcessTransport(make) }, oracle: { FailoverNodeOracle() })
    }

    /// The first divergence over the whole suite, in case order, as `vigil check` reports it.
    static func firstDivergence(_ make: @escaping () -> any InProcessIUT) -> (case: String, rule: String)? {
        let r = runner(make)
        for script in FailoverNodeSuite.cases {
            let result = r.run(script)
            if let d = result.verdict.divergence { return (result.id, d.rule) }
        }
        return nil
    }

    @Test func everyCasePassesAgainstTheLinkedRefnode() {
        let r = Self.runner { LinkedRefNodeIUT()! }
        for script in FailoverNodeSuite.cases {
            let result = r.run(script)
            #expect(result.verdict == .pass, "\(result.id): \(result.verdict)")
        }
    }

    @Test func casesNameOnlyCatalogRulesAndCoverTheSingleNodeMustRules() {
        let covered = Set(FailoverNodeSuite.cases.flatMap { ($0[header: "rules"] ?? "").split(separator: " ").map(String.init) })
        #expect(covered.allSatisfy { FailoverRule(rawValue: $0) != nil }, "\(covered.filter { FailoverRule(rawValue: $0) == nil })")
        // What one node behind the adapter cannot show: properties of the pair, and a mirror of the
        // persistent memories the adapter has no stimulus for.
        let pairOnly: Set<FailoverRule> = [.noSplitBrain, .noCycling, .disableSyncError]
        let must = FailoverRule.allCases.filter { $0.rule.level == .must && !pairOnly.contains($0) }
        #expect(must.allSatisfy { covered.contains($0.rawValue) }, "\(must.filter { !covered.contains($0.rawValue) })")
    }

    @Test(arguments: LinkedRefNodeIUT.mutants.filter { $0.role == "failover-node" }.map(\.name))
    func everyFailoverMutantIsCaughtWithItsRule(mutant: String) {
        let listed = LinkedRefNodeIUT.mutants.first { $0.name == mutant }!.rule
        let first = Self.firstDivergence { LinkedRefNodeIUT(mutant: mutant)! }
        #expect(first?.rule == listed, "\(mutant): first divergence \(String(describing: first)), listed \(listed)")
    }

    /// A node whose network datagrams carry a wrong CRC-32C is caught by the very first case.
    @Test func aBadChecksumOnTheNetworkIsCaught() {
        let first = Self.firstDivergence {
            Distorted { f in
                guard case .packet(let port, var bytes) = f, bytes.count == 52 else { return [f] }
                bytes[51] ^= 0xFF
                return [.packet(port: port, bytes: bytes)]
            }
        }
        #expect(first?.case == "fo-boot" && first?.rule == FailoverRule.wireLayout.rawValue, "\(String(describing: first))")
    }

    /// A node that writes its status into the peer's mailbox region is caught naming FO-MAILBOX-REGIONS.
    @Test func writingThePeersMailboxRegionIsCaught() {
        let first = Self.firstDivergence {
            Distorted { f in
                guard case .disk(let tag, 3, let device, 8, let count, let data) = f, device == 2 else { return [f] }
                return [.disk(tag: tag, op: 3, device: device, block: 9, count: count, data: data)]
            }
        }
        #expect(first?.rule == FailoverRule.mailboxRegions.rawValue, "\(String(describing: first))")
    }

    /// A node that never says it is rebooting in its messages (NORMAL instead of NO-TAKEOVER + RECOVERING).
    @Test func aMissingRecoveryReportIsCaught() {
        let first = Self.firstDivergence {
            Distorted { f in
                guard case .packet(let port, let bytes) = f, var c = try? Carriage(decoding: bytes, channel: .network),
                    c.message.state == .noTakeover
                else { return [f] }
                c.message.state = .normal
                c.message.flags = []
                return [.packet(port: port, bytes: c.encoded())]
            }
        }
        #expect(first?.rule == FailoverRule.recoveryReport.rawValue, "\(String(describing: first))")
    }

    /// A node that reports its recovery as plain NO-TAKEOVER, without the RECOVERING flag.
    @Test func aMissingRecoveringFlagIsCaught() {
        let first = Self.firstDivergence {
            Distorted { f in
                guard case .packet(let port, let bytes) = f, var c = try? Carriage(decoding: bytes, channel: .network),
                    c.message.flags.contains(.recovering)
                else { return [f] }
                c.message.flags = []
                return [.packet(port: port, bytes: c.encoded())]
            }
        }
        #expect(first?.case == "fo-boot" && first?.rule == FailoverRule.recoveryFlag.rawValue, "\(String(describing: first))")
    }
}
