import VigilCore

/// Two model nodes in the world of FIG. 1: four shared disks with reservations and mailbox regions, two
/// persistent memories, the three channels with their faults, an operator and a virtual clock, driven by a
/// schedule and watched by the `SafetyChecker` after every event.
public struct PairSimulation: Sendable {
    public let configuration: PairConfiguration
    public private(set) var now: VirtualTime = .zero
    public private(set) var nodes: [FailoverNode]
    public private(set) var memories: [PersistentMemory] = [PersistentMemory(), PersistentMemory()]
    public private(set) var disks: [Disk] = Array(repeating: Disk(), count: DiskLayout.diskCount)
    public private(set) var checker = SafetyChecker()
    public private(set) var worldTrace = RuleTrace<FailoverRule>()
    /// Readable record: schedule events, transitions, operator prompts.
    public private(set) var log: [String] = []
    public private(set) var eventsProcessed = 0

    private struct Link: Sendable {
        var cut = false
        var faults: [ChannelFault] = []
        var held: [UInt8]? = nil
    }

    private enum Pending: Sendable {
        case tick(NodeID)
        case arrive(Channel, to: NodeID, bytes: [UInt8])
        case regionWrite(disk: Int, writer: NodeID, bytes: [UInt8])
        case scheduled(WorldEvent)
    }

    /// Indexed [channel][from].
    private var links: [[Link]] = Array(repeating: [Link(), Link()], count: Channel.allCases.count)
    private var queue = EventQueue<Pending>()
    private var pendingRecoveryFailures = [0, 0]
    /// Writes per [disk][writer] region, and the version each [reader][mailbox disk] last read.
    private var regionVersions: [[UInt64]] = Array(repeating: [0, 0], count: DiskLayout.diskCount)
    private var lastPolled: [[UInt64]] = [[0, 0], [0, 0]]
    private var stopped = false

    public init(configuration: PairConfiguration = .reference) {
        self.configuration = configuration
        nodes = [
            FailoverNode(id: .a, configuration: configuration.nodes[0]),
            FailoverNode(id: .b, configuration: configuration.nodes[1]),
        ]
    }

    public var violations: [Violation] { checker.violations }

    /// Every rule applied in this run: by either node, by the world, by the checker.
    public var appliedRules: Set<FailoverRule> {
        nodes[0].trace.distinct.union(nodes[1].trace.distinct).union(worldTrace.distinct).union(checker.trace.distinct)
    }

    /// Boots both nodes at time zero and runs the schedule to its end (or the first violation).
    public static func run(_ schedule: Schedule, configuration: PairConfiguration = .reference) -> PairSimulation {
        var sim = PairSimulation(configuration: configuration)
        sim.start(schedule)
        sim.run(until: schedule.duration)
        return sim
    }

    /// Queues the schedule, boots both nodes and starts their ticks (B offset by half a period).
    public mutating func start(_ schedule: Schedule) {
        for e in schedule.events { queue.push(e.at, .scheduled(e.event)) }
        for id in NodeID.allCases {
            apply(nodes[Int(id.rawValue)].step(.reboot(memories[Int(id.rawValue)], failedAttempts: 0), at: now), from: id)
            let offset = id == .a ? 0 : nodes[1].configuration.statusPeriod.nanoseconds / 2
            queue.push(VirtualTime(nanoseconds: offset), .tick(id))
        }
        check()
    }

    public mutating func run(until end: VirtualTime) {
        while !stopped, let t = queue.nextTime, t <= end.nanoseconds {
            guard let (time, payload) = queue.pop() else { break }
            now = time
            eventsProcessed += 1
            switch payload {
            case .tick(let id): tick(id)
            case .arrive(let channel, let to, let bytes): arrive(channel, to: to, bytes: bytes)
            case .regionWrite(let disk, let writer, let bytes):
                disks[disk].regions[Int(writer.rawValue)] = bytes
                regionVersions[disk][Int(writer.rawValue)] &+= 1
            case .scheduled(let event): perform(event)
            }
            check()
        }
        if !stopped { now = end }
    }

    private mutating func check() {
        guard configuration.checks else { return }
        var allCut = true
        for c in 0..<links.count where !(links[c][0].cut && links[c][1].cut) { allCut = false }
        checker.afterEvent(nodes: nodes, disks: disks, allCut: allCut, at: now)
        if configuration.stopsAtFirstViolation, !checker.violations.isEmpty { stopped = true }
    }

    private mutating func record(_ line: @autoclosure () -> String) {
        if configuration.recordsLog { log.append("\(now)  \(line())") }
    }

    // MARK: Nodes

    private mutating func tick(_ id: NodeID) {
        let n = Int(id.rawValue)
        let period = nodes[n].configuration.statusPeriod
        queue.push(now + period, .tick(id))
        if case .stopped = nodes[n].phase { _ = nodes[n].step(.tick, at: now); return }
        // FO-MAILBOX-REGIONS: the node polls the peer's region on each mailbox disk, first then second.
        // A region read again unchanged is the same message again, which the newness rule ignores; skipping
        // it saves the decode and changes nothing.
        for (k, disk) in DiskLayout.mailboxDisks.enumerated() {
            let version = regionVersions[disk][Int(id.peer.rawValue)]
            if version != lastPolled[n][k], let bytes = disks[disk].regions[Int(id.peer.rawValue)] {
                lastPolled[n][k] = version
                deliver(bytes, via: .mailbox, to: id)
            }
        }
        apply(nodes[n].step(.tick, at: now), from: id)
        // Data writes to every disk the node controls; a refusal is the reservation speaking (claim 13).
        for disk in nodes[n].servedDisks {
            if let holder = disks[disk].reservedBy, holder != id {
                disks[disk].writesRefused[n] += 1
                apply(nodes[n].step(.writeRefused(disk: disk), at: now), from: id)
                break
            }
            disks[disk].writesAccepted[n] += 1
            memories[n].pendingOperations += 1
        }
    }

    private mutating func deliver(_ bytes: [UInt8], via channel: Channel, to id: NodeID) {
        let n = Int(id.rawValue)
        if configuration.checks { checker.willDeliver(bytes, via: channel, to: nodes[n], at: now) }
        let out = nodes[n].step(.delivered(bytes, via: channel), at: now)
        if configuration.checks { checker.didDeliver(to: nodes[n], at: now) }
        apply(out, from: id)
    }

    private mutating func arrive(_ channel: Channel, to id: NodeID, bytes: [UInt8]) {
        if channel == .san {
            // FO-SAN-PERSISTENT-MEMORY: the record lands in the receiver's persistent memory first.
            worldTrace.note(.sanPersistentMemory)
            memories[Int(id.rawValue)].peerRecord = bytes
        } else {
            worldTrace.note(.networkDatagram)
        }
        if case .stopped = nodes[Int(id.rawValue)].phase { return }
        deliver(bytes, via: channel, to: id)
    }

    private mutating func apply(_ outputs: [NodeOutput], from id: NodeID) {
        let n = Int(id.rawValue)
        for output in outputs {
            switch output {
            case .send(let message):
                transmit(message, from: id)
            case .persist(let record):
                memories[n].generation = record.generation
                memories[n].lastState = record.lastState
                memories[n].operatorDisabledTakeover = record.operatorDisabledTakeover
            case .probeOwnDisks:
                let writable = DiskLayout.own(id).allSatisfy { disks[$0].reservedBy == nil || disks[$0].reservedBy == id }
                apply(nodes[n].step(.ownDisksWritable(writable), at: now), from: id)
            case .reserve(let list, let preempt):
                worldTrace.note(.worldReservations)
                if preempt {
                    for d in list where d >= 0 && d < disks.count { disks[d].reservedBy = id }
                    record("\(id) reserves disks \(list) (preempting)")
                } else {
                    let granted = list.allSatisfy { $0 >= 0 && $0 < disks.count && (disks[$0].reservedBy ?? id) == id }
                    if granted { for d in list { disks[d].reservedBy = id } }
                    record("\(id) reserves disks \(list): \(granted ? "granted" : "refused")")
                    apply(nodes[n].step(.reservation(granted: granted), at: now), from: id)
                }
            case .release(let list):
                for d in list where d >= 0 && d < disks.count && disks[d].reservedBy == id { disks[d].reservedBy = nil }
                record("\(id) releases disks \(list)")
            case .flushPersistentMemory:
                memories[n].pendingOperations = 0
            case .operatorPrompt(let text):
                record("prompt: " + text)
            case .transition(let t):
                let phase = nodes[n].phase
                record("\(id) \(t)  [\(phase)]")
                if configuration.checks { checker.onTransition(t, of: nodes[n], at: now) }
            }
        }
    }

    // MARK: Channels

    private mutating func transmit(_ message: StatusMessage, from id: NodeID) {
        worldTrace.note(.sendAllChannels)
        worldTrace.note(.wireCarriage)
        worldTrace.note(.worldLatency)
        let payload = message.encoded()
        // FO-SAVE-OWN-STATE: the node's own persistent memory keeps a copy of what it sends.
        memories[Int(id.rawValue)].ownRecord = Carriage.encode(payload, channel: .san, writer: id)
        for channel in Channel.allCases {
            send(Carriage.encode(payload, channel: channel, writer: id), on: channel, from: id)
        }
    }

    private mutating func send(_ bytes: [UInt8], on channel: Channel, from id: NodeID) {
        let c = Int(channel.rawValue)
        let f = Int(id.rawValue)
        if links[c][f].cut { return }
        var bytes = bytes
        let latency = World.latency(channel)
        let fault: ChannelFault? = links[c][f].faults.isEmpty ? nil : links[c][f].faults.removeFirst()
        switch fault {
        case nil:
            carry(bytes, on: channel, from: id, after: latency)
        case .drop:
            return
        case .delay(let d):
            carry(bytes, on: channel, from: id, after: latency + min(d, World.maximumInjectedDelay))
        case .duplicate:
            carry(bytes, on: channel, from: id, after: latency)
            carry(bytes, on: channel, from: id, after: latency + World.duplicateGap)
        case .corrupt(let byte, let mask):
            if !bytes.isEmpty {
                let i = ((byte % bytes.count) + bytes.count) % bytes.count
                bytes[i] ^= mask == 0 ? 1 : mask
            }
            carry(bytes, on: channel, from: id, after: latency)
        case .reorder:
            if let older = links[c][f].held { carry(older, on: channel, from: id, after: latency) }
            links[c][f].held = bytes
            return
        }
        if let held = links[c][f].held {
            links[c][f].held = nil
            carry(held, on: channel, from: id, after: latency + VirtualTime(nanoseconds: 1_000))
        }
    }

    private mutating func carry(_ bytes: [UInt8], on channel: Channel, from id: NodeID, after delay: VirtualTime) {
        switch channel {
        case .mailbox:
            // FO-MAILBOX-TWO-DISKS: the first mailbox disk, then the second.
            worldTrace.note(.mailboxTwoDisks)
            worldTrace.note(.mailboxRegions)
            var at = now + delay
            for disk in DiskLayout.mailboxDisks {
                queue.push(at, .regionWrite(disk: disk, writer: id, bytes: bytes))
                at = at + World.latency(.mailbox)
            }
        case .san, .network:
            queue.push(now + delay, .arrive(channel, to: id.peer, bytes: bytes))
        }
    }

    // MARK: Schedule events

    private mutating func perform(_ event: WorldEvent) {
        record("event: \(event)")
        switch event {
        case .cut(let d):
            links[Int(d.channel.rawValue)][Int(d.from.rawValue)].cut = true
        case .heal(let d):
            links[Int(d.channel.rawValue)][Int(d.from.rawValue)].cut = false
        case .fault(let d, let fault):
            links[Int(d.channel.rawValue)][Int(d.from.rawValue)].faults.append(fault)
        case .crash(let id):
            nodes[Int(id.rawValue)].crash()
            lastPolled[Int(id.rawValue)] = [.max, .max]
        case .command(let id, let command):
            let n = Int(id.rawValue)
            if configuration.checks { checker.onIntervention() }
            if command == .reboot {
                // A rebooted node has forgotten what it read: it reads every region afresh.
                lastPolled[n] = [.max, .max]
                let failures = pendingRecoveryFailures[n]
                pendingRecoveryFailures[n] = 0
                apply(nodes[n].step(.reboot(memories[n], failedAttempts: failures), at: now), from: id)
            } else {
                apply(nodes[n].step(.operatorCommand(command), at: now), from: id)
            }
        case .syncError(let id):
            memories[Int(id.rawValue)].inSync = false
            apply(nodes[Int(id.rawValue)].step(.persistentMemorySync(inSync: false), at: now), from: id)
        case .syncRestored(let id):
            memories[Int(id.rawValue)].inSync = true
            apply(nodes[Int(id.rawValue)].step(.persistentMemorySync(inSync: true), at: now), from: id)
        case .failRecovery(let id):
            pendingRecoveryFailures[Int(id.rawValue)] += 1
        }
    }
}
