import Testing
import VigilCore
import VigilFailover

/// Helpers to drive one node by hand, as the patent's text walks it.
struct Driver {
    var node: FailoverNode
    var now: VirtualTime = .zero
    var peerSequence: UInt64 = 0
    var peerGeneration: UInt32 = 1

    init(_ id: NodeID = .a, _ configuration: NodeConfiguration = .reference) {
        node = FailoverNode(id: id, configuration: configuration)
    }

    @discardableResult
    mutating func step(_ input: NodeInput) -> [NodeOutput] { node.step(input, at: now) }

    @discardableResult
    mutating func tick(after ms: UInt64 = 100) -> [NodeOutput] {
        now = now + .milliseconds(ms)
        return step(.tick)
    }

    /// A message from the peer on `channel`, carried as that channel carries it.
    @discardableResult
    mutating func peerSays(
        _ state: StateIndicator, flags: StatusFlags = [], via channel: Channel = .san, version: UInt8 = 1,
        echo: Stamp? = nil
    ) -> [NodeOutput] {
        peerSequence += 1
        let m = StatusMessage(
            version: version, systemID: node.id.peer.systemID, state: state, flags: flags, generation: peerGeneration,
            sequence: peerSequence, peerGeneration: echo?.generation ?? node.generation,
            peerSequence: echo?.sequence ?? node.sequence)
        return step(.delivered(Carriage(channel: channel, writer: node.id.peer, message: m).encoded(), via: channel))
    }

    /// Boots the node from fresh persistent memory through steps 251-258 with writable disks.
    mutating func bootToNormal() {
        step(.reboot(PersistentMemory(), failedAttempts: 0))
        while case .rebooting(let s) = node.phase {
            let out = tick()
            if out.contains(.probeOwnDisks) { step(.ownDisksWritable(true)) }
            if out.contains(where: { if case .reserve = $0 { true } else { false } }) { step(.reservation(granted: true)) }
            if s == .s258 { break }
        }
    }
}

extension Array where Element == NodeOutput {
    var sent: [StatusMessage] { compactMap { if case .send(let m) = $0 { m } else { nil } } }
    var transitions: [Transition] { compactMap { if case .transition(let t) = $0 { t } else { nil } } }
}

@Suite("FIG. 2, transition by transition")
struct Figure2Tests {
    @Test("211 NORMAL-OPERATION: a new NORMAL from the peer keeps the node in NORMAL and refreshes silence")
    func t211() {
        var d = Driver()
        d.bootToNormal()
        #expect(d.node.state == .normal)
        for _ in 0..<100 {
            d.peerSays(.normal)
            let out = d.tick()
            #expect(out.sent.map(\.state) == [.normal])
        }
        #expect(d.node.state == .normal)
        #expect(d.node.trace.contains(.t211Normal))
    }

    @Test("212 TAKEOVER-OPERATION needs silence on every channel for twice its time-out")
    func t212NeedsSilenceEverywhere() {
        var d = Driver()
        d.bootToNormal()
        // The mailbox alone (2.5 s time-out) keeps the peer alive: no takeover for as long as it speaks.
        var lastHeard = d.now
        for i in 1...100 {
            if i % 10 == 0 {
                d.peerSays(.normal, via: .mailbox)
                lastHeard = d.now
            }
            #expect(!d.tick().transitions.contains(.t212Begin))
        }
        // Silence everywhere: the takeover begins 5 s (2 x 2.5 s) after the last mailbox message, not before.
        let quietFrom = lastHeard
        var began: VirtualTime? = nil
        for _ in 0..<80 where began == nil {
            if d.tick().transitions.contains(.t212Begin) { began = d.now }
        }
        #expect(began.map { $0.nanoseconds - quietFrom.nanoseconds } == VirtualTime.seconds(5).nanoseconds)
    }

    @Test("213: TAKEOVER is sent, the node waits 1 s, then reserves the peer's disks and enters TAKEOVER")
    func step213() {
        var d = Driver()
        d.bootToNormal()
        var out: [NodeOutput] = []
        while !out.transitions.contains(.t212Begin) { out = d.tick() }
        #expect(out.sent.map(\.state) == [.takeover])
        #expect(!out.contains(.reserve([2, 3], preempt: true)))
        if case .takingOver = d.node.phase {} else { Issue.record("not waiting: \(d.node.phase)") }
        #expect(d.node.servedDisks == [0, 1])
        for _ in 0..<9 { #expect(!d.tick().contains(.reserve([2, 3], preempt: true))) }
        out = d.tick()
        #expect(out.contains(.reserve([2, 3], preempt: true)))
        #expect(out.transitions.contains(.t212Complete))
        #expect(d.node.state == .takeover)
        #expect(d.node.servedDisks == [0, 1, 2, 3])
        // FO-TAKEOVER-MESSAGES: it keeps writing its status.
        #expect(d.tick().sent.map(\.state) == [.takeover])
    }

    @Test("213 aborts, back to NORMAL, when the peer proves it is not passive during the wait")
    func step213Abort() {
        var d = Driver()
        d.bootToNormal()
        while !d.tick().transitions.contains(.t212Begin) {}
        let out = d.peerSays(.normal)
        #expect(out.transitions == [.t212Abort])
        #expect(d.node.phase == .normal)
        #expect(d.node.servedDisks == [0, 1])
    }

    @Test("212 is disabled by the peer's DISABLE or NO-TAKEOVER, an operator command, a sync error, a version mismatch")
    func disabled() {
        func neverTakesOver(_ setup: (inout Driver) -> Void) -> Bool {
            var d = Driver()
            d.bootToNormal()
            setup(&d)
            for _ in 0..<200 where d.tick().transitions.contains(.t212Begin) { return false }
            return true
        }
        #expect(neverTakesOver { $0.peerSays(.disable) })
        #expect(neverTakesOver { $0.peerSays(.noTakeover) })
        #expect(neverTakesOver { $0.step(.operatorCommand(.disableTakeover)) })
        #expect(neverTakesOver { $0.step(.persistentMemorySync(inSync: false)) })
        #expect(neverTakesOver { $0.peerSays(.normal, version: 2) })
        #expect(!neverTakesOver { $0.peerSays(.normal) })
        // A node with takeover disabled says DISABLE, for both (FO-DISABLE-SIGNAL).
        var d = Driver()
        d.bootToNormal()
        d.step(.operatorCommand(.disableTakeover))
        #expect(d.tick().sent.map(\.state) == [.disable])
    }

    @Test("claims 13-14: a node that learns the peer takes over stops writing at once")
    func claim14() {
        var d = Driver()
        d.bootToNormal()
        let out = d.peerSays(.takeover)
        #expect(out.transitions == [.claim14Stop])
        #expect(d.node.state == .stopped)
        #expect(d.node.servedDisks == [])
        // STOPPED performs no operations.
        #expect(d.tick() == [])
        // Claim 13's other form: a write refused by the peer's reservation.
        var e = Driver()
        e.bootToNormal()
        #expect(e.step(.writeRefused(disk: 0)).transitions == [.claim13Fenced])
        #expect(e.node.servedDisks == [])
    }

    @Test("221 GIVEBACK-OPERATION and step 222: release, send NORMAL, hold NO-TAKEOVER until the peer is NORMAL")
    func t221() {
        var d = Driver()
        d.bootToNormal()
        while d.node.state != .takeover { d.tick() }
        d.peerGeneration = 2
        d.peerSays(.noTakeover, flags: .recovering)
        let out = d.step(.operatorCommand(.giveback))
        #expect(out.first == .release([2, 3]))
        #expect(out.sent.map(\.state) == [.normal])
        #expect(out.transitions == [.t221Begin])
        #expect(d.node.servedDisks == [0, 1])
        // Step 222 holds: NO-TAKEOVER while the peer still recovers.
        #expect(d.tick().sent.map(\.state) == [.noTakeover])
        d.peerSays(.noTakeover, flags: .recovering)
        #expect(d.node.phase == .givingBack)
        #expect(d.peerSays(.normal).transitions == [.t221Complete])
        #expect(d.node.state == .normal)
        #expect(d.tick().sent.map(\.state) == [.normal])
    }

    @Test("231 REBOOT-OPERATION from STOPPED; 242 into NORMAL; the pair runs the whole figure")
    func wholeFigureInThePair() {
        let sim = PairSimulation.run(FailoverScenario.rebootAfterTakeover.schedule)
        #expect(sim.violations == [])
        let log = sim.log.joined(separator: "\n")
        for expected in [
            "a 212 TAKEOVER-OPERATION begins", "a 212 completes", "b 231 REBOOT-OPERATION", "b 241 REBOOT-FAILED",
            "prompt: node b: the peer controls my disks", "a 221 GIVEBACK-OPERATION begins", "b 242 REBOOT-NORMAL",
            "a 221 completes",
        ] {
            #expect(log.contains(expected), "\(expected)")
        }
        #expect(sim.nodes.map(\.state) == [.normal, .normal])
        #expect(sim.disks.map(\.reservedBy) == [.a, .a, .b, .b])
    }

    @Test("243 REBOOT-TAKEOVER: a node that crashes in TAKEOVER comes back in TAKEOVER, after a failed attempt (241)")
    func t243() {
        let sim = PairSimulation.run(FailoverScenario.rebootIntoTakeover.schedule)
        #expect(sim.violations == [])
        let log = sim.log.joined(separator: "\n")
        #expect(log.contains("a 241 REBOOT-FAILED"))
        #expect(log.contains("a 243 REBOOT-TAKEOVER"))
        #expect(sim.nodes[0].state == .takeover)
        #expect(sim.nodes[0].servedDisks == [0, 1, 2, 3])
    }
}
