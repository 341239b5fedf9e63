import Testing
import VigilAdapters
import VigilCore
@testable import VigilConformance
import VigilFailover

/// The failover node model behind the adapter protocol (`ModelFailoverNodeIUT`, `--iut model`): the whole
/// failover-node suite against it (as node A, and as node B), where and why it differs from refnode, its
/// determinism, and its answers to frames it cannot take.
@Suite struct ModelFailoverIUTTests {
    static func runner(node: NodeID = .a, _ make: @escaping () -> any InProcessIUT = { ModelFailoverNodeIUT() }) -> ConformanceRunner {
        ConformanceRunner(role: .failoverNode, transport: { InProcessTransport(make) }, oracle: { FailoverNodeOracle(node: node) })
    }

    /// Suite cases the model does not pass because it makes another choice than the one the oracle holds
    /// it to, with the rule the oracle names and why. Not a skip list: each must still fail with exactly
    /// this rule, so that the list goes stale loudly when the model or the oracle changes.
    static let modelChoices: [String: (rule: FailoverRule, why: String)] = [
        "fo-version-mismatch": (
            .disableSignal,
            """
            A new message of another protocol version disables this node's own takeover (FO-DISABLE-VERSION-MISMATCH), and \
            the model then says DISABLE instead of NORMAL: `FailoverNode.normalStatus()` sends DISABLE whenever any local \
            disable reason holds (operator, persistent-memory sync error, version mismatch), as the rule FO-DISABLE-SIGNAL \
            states it ("a node whose own takeover is disabled says so with the state indicator DISABLE"). The oracle \
            (`FailoverNodeOracle.checkIndicator`) and refnode (failover.c `send_current_status`) send DISABLE only for \
            the operator's command, so the oracle expects NORMAL. The rest of the case (takeover-enabled 0, no takeover \
            after the silence) the model does as expected: with its DISABLE rewritten to NORMAL the case passes.
            """
        )
    ]

    /// As node B, one more: the suite's fenced disk is node A's own.
    static let modelChoicesAsNodeB: [String: (rule: FailoverRule, why: String)] = modelChoices.merging([
        "fo-claim13-fenced": (
            .claim13Fenced,
            """
            The case fences disk 0, which is node A's disk. The model (`FailoverNode.writeRefused`) stops only when a disk \
            it serves refuses a write (node B serves disks 2 and 3): a refusal on the peer's own disk says the peer holds \
            its own disk, not that it took over. The oracle (specs/adapter.md §7.1) and refnode stop on any refused \
            mailbox write. The same difference as `fence-peer-disk` below.
            """
        )
    ]) { a, _ in a }

    static func expectSuite(node: NodeID, choices: [String: (rule: FailoverRule, why: String)]) {
        let r = Self.runner(node: node)
        var passed = 0
        for script in FailoverNodeSuite.cases {
            let result = r.run(script)
            if let choice = choices[result.id] {
                #expect(result.verdict.divergence?.rule == choice.rule.rawValue, "\(result.id): \(result.verdict); listed: \(choice.why)")
            } else {
                #expect(result.verdict == .pass, "\(result.id): \(result.verdict)\n\(result.transcript.text)")
                if result.verdict == .pass { passed += 1 }
            }
        }
        #expect(passed == FailoverNodeSuite.cases.count - choices.count)
        #expect(Set(choices.keys).isSubset(of: Set(FailoverNodeSuite.cases.compactMap { $0[header: "case"] })))
    }

    /// The whole failover-node suite, the model as node A (as `vigil check --role failover-node --iut model`).
    @Test func theSuiteRunsAgainstTheModel() {
        Self.expectSuite(node: .a, choices: Self.modelChoices)
    }

    /// The same suite with the model as node B (slot 1, ticking half a period after node A).
    @Test func theSuiteRunsAgainstTheModelAsNodeB() {
        Self.expectSuite(node: .b, choices: Self.modelChoicesAsNodeB)
    }

    @Test func theModelIsTheFailoverNodeOfIUTModel() {
        #expect(Suites.model(for: .failoverNode)?() is ModelFailoverNodeIUT)
    }

    // MARK: Where the model and refnode (failover.c) differ

    /// A behaviour where the model makes another choice than failover.c, and the oracle sides with failover.c:
    /// the smallest script that shows it, the rule the oracle names for the model, and why.
    struct Difference: CustomStringConvertible, Sendable {
        var name: String
        var lines: String
        var rule: FailoverRule
        var why: String
        var description: String { name }
    }

    static let differences: [Difference] = [
        Difference(
            name: "version-mismatch-takeover",
            lines: "0.000000 > command boot\n0.700000 > peer send state=takeover version=2 on=network\n",
            rule: .t211Normal,
            why: """
                The model takes the state indicator of a message of another protocol version as the peer's state \
                (`FailoverNode.receive` sets `peerState` and calls `react` whatever the version): a version-2 TAKEOVER \
                stops it (claim 14). failover.c and the oracle do not interpret the state of another version; the \
                mismatch only disables takeover (FO-DISABLE-VERSION-MISMATCH).
                """),
        Difference(
            name: "version-mismatch-at-252",
            lines: "0.000000 > command boot\n0.000000 > peer beat state=takeover on=mailbox,san\n1.000000 > peer send state=disable version=2\n",
            rule: .t241RebootFailed,
            why: """
                The same: a version-2 DISABLE replaces the peer's TAKEOVER as the model's `peerState`, so the model \
                leaves step 252 while (for failover.c and the oracle) the peer is still in TAKEOVER.
                """),
        Difference(
            name: "253-peer-echo",
            lines: "0.000000 > memory own state=takeover gen=4 seq=9\n0.000000 > memory peer state=normal gen=1 seq=5\n0.000000 > command boot\n",
            rule: .reboot253,
            why: """
                At step 253 the model counts the peer as operating only if its NORMAL echoes this boot's generation \
                (FO-MSG-PEER-ECHO: a record left in persistent memory by a peer that has since stopped says nothing \
                about it now), so it seizes all disks (255). failover.c and specs/adapter.md §7.1 take any NORMAL heard \
                since the boot, here the record in persistent memory, and require 254.
                """),
        Difference(
            name: "fence-peer-disk",
            lines: "0.000000 > command boot\n1.000000 > disk fence disks=2\n",
            rule: .claim13Fenced,
            why: """
                A refused write to the second mailbox disk (node B's disk): the model stops only when a disk it serves \
                refuses (`FailoverNode.writeRefused`), failover.c and the oracle on any refused mailbox write.
                """),
        Difference(
            name: "enable-during-reboot",
            lines: "0.000000 > memory node gen=5 disabled\n0.000000 > command boot\n0.150000 > command enable\n",
            rule: .disableOperator,
            why: """
                An ENABLE given at steps 252-256 is undone at step 257: the model applies the setting it read at boot \
                (`operatorDisabledAtBoot`) over the command it has since taken and persisted, and writes "disabled" \
                back at step 258. failover.c keeps the latest command. (A model bug, by FO-DISABLE-OPERATOR: step 257 \
                should find the setting persistent memory holds then.)
                """),
        Difference(
            name: "giveback-normal-recovering",
            lines: """
                0.000000 > memory node gen=3
                0.000000 > memory own state=takeover gen=3 seq=50
                0.000000 > command boot
                1.000000 > peer reboot
                1.000000 > peer beat state=no-takeover recovering
                1.500000 > command giveback
                2.500000 > peer beat state=normal recovering

                """,
            rule: .t221Giveback,
            why: """
                Step 222 waits for the peer in NORMAL: the model does not count a NORMAL that carries the RECOVERING \
                flag; failover.c and the oracle count any NORMAL.
                """),
        Difference(
            name: "takeover-in-giveback-hold",
            lines: """
                0.000000 > memory node gen=3
                0.000000 > memory own state=takeover gen=3 seq=50
                0.000000 > command boot
                1.000000 > peer reboot
                1.000000 > peer beat state=no-takeover recovering
                1.500000 > command giveback
                2.000000 > peer send state=takeover on=network

                """,
            rule: .takeoverMessages,
            why: """
                A TAKEOVER from the peer during the hold of step 222: the model stops (claims 13-14 in `.givingBack`); \
                failover.c ignores it there, and the oracle (§7.1: "outside the giveback hold") calls the stop unwarranted.
                """),
    ]

    /// Each difference: the model diverges with the rule listed, the linked refnode passes the same script.
    @Test(arguments: Self.differences)
    func aDifferenceFromRefnode(_ d: Difference) throws {
        let script = try Script.parse("@case \(d.name)\n@role failover-node\n" + d.lines)
        let model = Self.runner().run(script)
        #expect(model.verdict.divergence?.rule == d.rule.rawValue, "\(d.name): \(model.verdict)\n\(model.transcript.text)")
        let refnode = Self.runner { LinkedRefNodeIUT()! }.run(script)
        #expect(refnode.verdict == .pass, "\(d.name) against refnode: \(refnode.verdict)")
    }

    /// A datagram that arrives during step 251, before the model runs, is kept and given to the model with
    /// its memory; the first status report echoes it (FO-MSG-PEER-ECHO).
    @Test func aDatagramDuringStep251IsEchoedByTheFirstReport() throws {
        // Sent 1.95 ms before the reboot, the datagram arrives 50 µs after it, with the read of step 251.
        let script = try Script.parse("""
            @case held-datagram
            @role failover-node
            0.000000 > command boot
            0.998050 > peer send state=normal on=network
            1.000000 > command reboot

            """)
        let result = Self.runner().run(script)
        #expect(result.verdict == .pass, "\(result.verdict)\n\(result.transcript.text)")
        #expect(result.transcript.lines.contains { $0.time == VirtualTime(nanoseconds: 1_000_100_000) && $0.verb == "packet"
            && $0.argument.contains("NO-TAKEOVER_g2/s1_saw_g1/s1_RECOVERING") }, "\(result.transcript.text)")
    }

    // MARK: Determinism

    /// Keeps every frame exchanged with an inner model.
    final class Recorder: InProcessIUT {
        let inner = ModelFailoverNodeIUT()
        var log: [(KitFrame, [IUTFrame])] = []
        func handle(_ frame: KitFrame) -> [IUTFrame] {
            let answer = inner.handle(frame)
            log.append((frame, answer))
            return answer
        }
    }

    /// Same frames in, same frames out: the conversation of the whole suite, replayed into a second
    /// instance, gives the same answers frame for frame; and a second run of the suite the same transcripts.
    @Test func twoInstancesAreDeterministic() throws {
        final class Box { var recorder: Recorder? }
        let box = Box()
        let r = Self.runner {
            let rec = Recorder()
            box.recorder = rec
            return rec
        }
        let first = FailoverNodeSuite.cases.map { r.run($0) }
        r.closeSession()
        let log = try #require(box.recorder?.log)
        #expect(log.count > 1_000)
        let second = ModelFailoverNodeIUT()
        for (i, (frame, answer)) in log.enumerated() {
            let again = second.handle(frame)
            #expect(again == answer, "frame \(i) \(frame.name): \(again) vs \(answer)")
            if again != answer { break }
        }
        let rerun = FailoverNodeSuite.cases.map { Self.runner().run($0) }
        #expect(first.map(\.transcript.text) == rerun.map(\.transcript.text))
        #expect(first.map(\.verdict) == rerun.map(\.verdict))
    }

    // MARK: Frames the model cannot take

    static func ready() -> ModelFailoverNodeIUT {
        let iut = ModelFailoverNodeIUT()
        _ = iut.handle(.hello(version: 1, role: .failoverNode, virtualClock: true, udp: false, options: FailoverNodeOracle().helloOptions))
        _ = iut.handle(.reset)
        return iut
    }

    static func isError(_ frames: [IUTFrame]) -> Bool {
        frames.contains { if case .error = $0 { true } else { false } }
    }

    static func endsIdle(_ frames: [IUTFrame]) -> Bool {
        if case .idle = frames.last { true } else { false }
    }

    @Test func aHelloItCannotTakeIsAnsweredWithError() {
        let timers = FailoverNodeOracle().helloOptions[1]
        let bad: [[AdapterOption]] = [
            [AdapterOption(tag: 0x20, value: [0])],  // FO-NODE too short
            [AdapterOption(tag: 0x20, value: [2] + FailoverNodeOracle.be(NodeID.a.systemID))],  // slot 2
            [AdapterOption(tag: 0x20, value: [0] + FailoverNodeOracle.be(UInt64(7)))],  // a system id the model cannot carry
            [AdapterOption(tag: 0x21, value: [UInt8](repeating: 0, count: 41))],  // status period 0
            [AdapterOption(tag: 0x21, value: timers.value + [0])],  // one byte too many
        ]
        for options in bad {
            let answer = ModelFailoverNodeIUT().handle(.hello(version: 1, role: .failoverNode, virtualClock: true, udp: false, options: options))
            #expect(answer.count == 1 && Self.isError(answer), "\(options): \(answer)")
        }
        let ack = IUTFrame.helloAck(version: 1, roles: Role.failoverNode.bit, clocks: 1, name: "vigil-model", options: [])
        // Unknown tags are ignored; node B is taken.
        let b = ModelFailoverNodeIUT().handle(.hello(version: 1, role: .failoverNode, virtualClock: true, udp: false,
                                                     options: FailoverNodeOracle(node: .b).helloOptions + [AdapterOption(tag: 0x7F, value: [1, 2])]))
        #expect(b == [ack])
        // Another role: the acknowledgement names the failover-node role only (the kit declines).
        #expect(ModelFailoverNodeIUT().handle(.hello(version: 1, role: .sanResponder, virtualClock: true, udp: false, options: [])) == [ack])
    }

    @Test func aStimulusItCannotTakeIsAnsweredWithErrorAndIdle() {
        let fresh = ModelFailoverNodeIUT()
        let early = fresh.handle(.time(.milliseconds(1)))
        #expect(Self.isError(early) && Self.endsIdle(early), "before HELLO and RESET: \(early)")
        #expect(fresh.handle(.reset) == [.error("RESET before HELLO")])

        let iut = Self.ready()
        for frame: KitFrame in [
            .packet(port: 0, bytes: [1, 2, 3]),
            .diskResult(tag: 0, status: 3, data: []),
            .command(.createVI(vi: 1)),
            .command(.post(vi: 1, descriptor: 1, op: 0, flags: 0, address: 0, length: 0, immediate: 0, data: [])),
        ] {
            let answer = iut.handle(frame)
            #expect(Self.isError(answer) && Self.endsIdle(answer) && answer.count == 2, "\(frame): \(answer)")
        }
        _ = iut.handle(.time(.milliseconds(5)))
        let back = iut.handle(.time(.milliseconds(4)))
        #expect(Self.isError(back) && Self.endsIdle(back), "time going backwards: \(back)")
        // An answer to nothing asked is no error; a node that is off has no timer.
        #expect(iut.handle(.diskResult(tag: 999, status: 0, data: [9])) == [.idle(next: nil, datagrams: 0)])
    }

    /// A boot read the kit answers with the wrong size or an I/O error is read again; a node record that
    /// does not check is generation 0; no trap on any of it.
    @Test func aDamagedBootReadIsReadAgain() {
        let iut = Self.ready()
        let boot = iut.handle(.command(.boot))
        #expect(boot.first == .event(.state(state: 4, step: 1, generation: 0, takeoverEnabled: true)))
        guard boot.count > 1, case .disk(let tag, 4, 0xFE, 0, 3, _) = boot[1] else { Issue.record("\(boot)"); return }
        let short = iut.handle(.diskResult(tag: tag, status: 0, data: [1, 2, 3]))
        guard case .disk(let again, 4, 0xFE, 0, 3, _) = short.first else { Issue.record("\(short)"); return }
        let failed = iut.handle(.diskResult(tag: again, status: 2, data: []))
        guard case .disk(let third, 4, 0xFE, 0, 3, _) = failed.first else { Issue.record("\(failed)"); return }
        var garbage = [UInt8](repeating: 0xA5, count: 192)
        garbage[128..<132] = [0x56, 0x46, 0x4E, 0x52]  // "VFNR" with a bad check
        let read = iut.handle(.diskResult(tag: third, status: 0, data: garbage))
        guard case .disk(_, 3, 0xFE, 2, 1, let record) = read.first else { Issue.record("\(read)"); return }
        #expect(record == ModelFailoverNodeIUT.NodeRecord(generation: 1, disabled: false).encoded)
        #expect(FailoverNodeOracle.nodeRecord(record)?.generation == 1, "the oracle reads the model's node record")
    }

    /// Random frames, as a fuzzer would send them, never trap; every stimulus ends with IDLE.
    @Test func randomFramesNeverTrap() {
        var rng = SplitMix64(seed: 7)
        let iut = Self.ready()
        _ = iut.handle(.command(.boot))
        var now: UInt64 = 0
        for _ in 0..<20_000 {
            let frame: KitFrame
            switch rng.next() % 6 {
            case 0:
                now += rng.next() % 60_000_000
                frame = .time(VirtualTime(nanoseconds: now))
            case 1: frame = .diskResult(tag: UInt16(truncatingIfNeeded: rng.next() % 300), status: UInt8(rng.next() % 4), data: Self.bytes(&rng))
            case 2: frame = .packet(port: UInt8(rng.next() % 4), bytes: Self.bytes(&rng))
            case 3:
                let commands: [AdapterCommand] = [.boot, .reboot, .disable, .enable, .giveback, .stop, .createVI(vi: 3)]
                frame = .command(commands[Int(rng.next() % UInt64(commands.count))])
            case 4: frame = rng.next() % 50 == 0 ? .reset : .time(VirtualTime(nanoseconds: now))
            default: frame = .diskResult(tag: UInt16(truncatingIfNeeded: rng.next() % 300), status: 0, data: [UInt8](repeating: 0, count: 192))
            }
            let answer = iut.handle(frame)
            if frame == .reset {
                #expect(answer == [.ready])
                now = 0
                _ = iut.handle(.command(.boot))
            } else {
                #expect(Self.endsIdle(answer), "\(frame): \(answer)")
            }
        }
    }

    static func bytes(_ rng: inout SplitMix64) -> [UInt8] {
        let sizes = [0, 44, 52, 64, 192, 512, 513]
        let n = sizes[Int(rng.next() % UInt64(sizes.count))]
        return (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }
}
