import Testing
import VigilAdapters
import VigilConformance
import VigilCore

/// Two failover-node IUTs in the world the kit simulates between them (`RaceRunner`).
@Suite struct RaceRunnerTests {
    static func runner(a: String? = nil, b: String? = nil) -> RaceRunner {
        RaceRunner(a: { InProcessTransport { LinkedRefNodeIUT(mutant: a)! } }, b: { InProcessTransport { LinkedRefNodeIUT(mutant: b)! } })
    }

    static func schedule(_ lines: String, run: Double) throws -> Script {
        try Script.parse("@role race\n@run \(run)\n" + lines)
    }

    @Test func twoCorrectNodesRunSideBySide() throws {
        let r = Self.runner().run(try Self.schedule("0.000000 > time\n", run: 20))
        #expect(r.verdict == .pass, "\(r.verdict)")
        // Both nodes reach NORMAL.
        #expect(r.timeline.contains { $0.node == .a && $0.state.hasPrefix("NORMAL") }, "\(r.timeline.map { "\($0.time) \($0.node) \($0.state)" }) \(r.stimuli)")
        #expect(r.timeline.contains { $0.node == .b && $0.state.hasPrefix("NORMAL") }, "\(r.timeline)")
    }

    @Test func aStoppedNodeIsTakenOver() throws {
        let r = Self.runner().run(try Self.schedule("5.000000 > command b stop\n", run: 15))
        #expect(r.verdict == .pass, "\(r.verdict)")
        #expect(r.timeline.contains { $0.node == .a && $0.state.hasPrefix("TAKEOVER") }, "\(r.timeline.map { "\($0.time) \($0.node) \($0.state)" })")
    }
}
