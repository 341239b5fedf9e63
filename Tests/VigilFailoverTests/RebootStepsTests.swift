import Testing
import VigilCore
import VigilFailover

@Suite("REBOOTING, steps 251-258 one by one")
struct RebootStepsTests {
    private func memory(generation: UInt32 = 6, last: NodeState = .normal, pending: Int = 0) -> PersistentMemory {
        var m = PersistentMemory()
        m.generation = generation
        m.lastState = last
        m.pendingOperations = pending
        return m
    }

    @Test("251: recovery begins; the generation read from persistent memory is incremented and persisted")
    func s251() {
        var d = Driver(.b)
        let out = d.step(.reboot(memory(generation: 6), failedAttempts: 0))
        #expect(out.transitions == [.t231, .step(.s251)])
        #expect(d.node.generation == 7)
        #expect(out.contains(.persist(OwnStateRecord(generation: 7, lastState: .normal, operatorDisabledTakeover: false))))
        // The status report on recovery: NO-TAKEOVER, RECOVERING, sequence restarted.
        let report = out.sent
        #expect(report.map(\.state) == [.noTakeover])
        #expect(report.first?.flags == .recovering)
        #expect(report.first?.sequence == 1)
        #expect(d.node.phase == .rebooting(.s252))
    }

    @Test("241 at 251: a failed recovery stays in REBOOTING and tries again")
    func s251Fails() {
        var d = Driver(.b)
        #expect(d.step(.reboot(memory(), failedAttempts: 1)).transitions == [.t231, .t241])
        #expect(d.node.phase == .rebooting(.s251))
        #expect(d.tick().transitions == [.step(.s251)])
        #expect(d.node.generation == 7)
    }

    @Test("252: disks held by the peer mean it is in TAKEOVER: prompt the operator, wait for the giveback (241)")
    func s252() {
        var d = Driver(.b)
        d.step(.reboot(memory(), failedAttempts: 0))
        #expect(d.tick().contains(.probeOwnDisks))
        let waiting = d.step(.ownDisksWritable(false))
        #expect(waiting.transitions == [.t241])
        #expect(waiting.contains(where: { if case .operatorPrompt = $0 { true } else { false } }))
        // It keeps asking, and reports its recovery each time, without prompting again.
        let again = d.tick()
        #expect(again.contains(.probeOwnDisks))
        #expect(again.sent.first?.flags == .recovering)
        #expect(d.step(.ownDisksWritable(false)) == [])
        #expect(d.tick().contains(.probeOwnDisks))
        #expect(d.step(.ownDisksWritable(true)).transitions == [.step(.s252)])
        #expect(d.node.phase == .rebooting(.s253))
    }

    @Test("253 → 254: the peer answers in NORMAL, echoing this boot's generation")
    func s253PeerNormal() {
        var d = Driver(.b)
        d.step(.reboot(memory(last: .takeover), failedAttempts: 0))
        d.tick()
        d.step(.ownDisksWritable(true))
        d.peerSays(.normal, echo: Stamp(generation: 7, sequence: 1))
        d.tick()
        #expect(d.node.phase == .rebooting(.s254))
    }

    @Test("253 → 255: had taken over, and the peer is silent or only a stale record says NORMAL")
    func s253HadTakenOver() {
        var d = Driver(.b)
        d.step(.reboot(memory(last: .takeover), failedAttempts: 0))
        d.tick()
        d.step(.ownDisksWritable(true))
        // A record from before this boot (it echoes generation 6) says nothing about the peer now.
        d.peerSays(.normal, echo: Stamp(generation: 6, sequence: 40))
        d.tick()
        #expect(d.node.phase == .rebooting(.s255))
    }

    @Test("254 seizes its own disks only; 255 seizes all; a refusal goes back to waiting (241)")
    func s254and255() {
        var d = Driver(.b)
        d.step(.reboot(memory(), failedAttempts: 0))
        d.tick()
        d.step(.ownDisksWritable(true))
        d.tick()
        #expect(d.tick().contains(.reserve([2, 3], preempt: false)))
        #expect(d.step(.reservation(granted: true)).transitions == [.step(.s254)])
        #expect(d.node.phase == .rebooting(.s256))

        var e = Driver(.b)
        e.step(.reboot(memory(last: .takeover), failedAttempts: 0))
        e.tick()
        e.step(.ownDisksWritable(true))
        e.tick()
        #expect(e.tick().contains(.reserve([0, 1, 2, 3], preempt: false)))
        #expect(e.step(.reservation(granted: false)).transitions == [.t241])
        #expect(e.node.phase == .rebooting(.s252))
    }

    @Test("256 flushes pending operations; 257 picks up an operator's disable; 258 enters NORMAL (242)")
    func s256to258() {
        var d = Driver(.b)
        var m = memory(pending: 3)
        m.operatorDisabledTakeover = true
        d.step(.reboot(m, failedAttempts: 0))
        d.tick()
        d.step(.ownDisksWritable(true))
        d.tick()
        d.tick()
        d.step(.reservation(granted: true))
        let s256 = d.tick()
        #expect(s256.contains(.flushPersistentMemory))
        #expect(d.node.phase == .rebooting(.s257))
        #expect(d.tick().transitions == [.step(.s257)])
        #expect(d.node.disableReasons == [.operatorCommand])
        let s258 = d.tick()
        #expect(s258.transitions == [.step(.s258), .t242])
        #expect(d.node.state == .normal)
        #expect(d.node.servedDisks == [2, 3])
        #expect(s258.sent.map(\.state) == [.disable])
    }

    @Test("258 enters TAKEOVER (243) after 255")
    func s258Takeover() {
        var d = Driver(.b)
        d.step(.reboot(memory(last: .takeover), failedAttempts: 0))
        d.tick()
        d.step(.ownDisksWritable(true))
        d.tick()
        d.tick()
        d.step(.reservation(granted: true))
        d.tick()
        d.tick()
        #expect(d.tick().transitions == [.step(.s258), .t243])
        #expect(d.node.state == .takeover)
        #expect(d.node.servedDisks == [0, 1, 2, 3])
    }

    @Test("a TAKEOVER heard while rebooting undoes the seizure and waits for the giveback (claim 14, 241)")
    func takeoverHeardWhileRebooting() {
        var d = Driver(.b)
        d.step(.reboot(memory(), failedAttempts: 0))
        d.tick()
        d.step(.ownDisksWritable(true))
        d.tick()
        d.tick()
        d.step(.reservation(granted: true))
        let out = d.peerSays(.takeover)
        #expect(out.contains(.release([2, 3])))
        #expect(d.node.phase == .rebooting(.s252))
        #expect(d.node.servedDisks == [])
    }

    @Test("the generation only grows across reboots in the pair (FO-GEN-INCREMENT-AT-BOOT)")
    func generationsGrow() {
        let sim = PairSimulation.run(FailoverScenario.rebootAfterTakeover.schedule)
        #expect(sim.memories[1].generation == 2)
        #expect(sim.nodes[1].generation == 2)
        #expect(sim.violations == [])
    }
}
