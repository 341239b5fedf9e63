import VigilCore

/// The states of US 6,119,244 FIG. 2, numbered as in the figure.
public enum NodeState: UInt16, Sendable, Hashable, CustomStringConvertible {
    case normal = 210
    case takeover = 220
    case stopped = 230
    case rebooting = 240

    public var description: String {
        switch self {
        case .normal: "NORMAL(210)"
        case .takeover: "TAKEOVER(220)"
        case .stopped: "STOPPED(230)"
        case .rebooting: "REBOOTING(240)"
        }
    }
}

/// The recovery steps of the REBOOTING state (US 6,119,244 col. 8).
public enum RebootStep: Int, Sendable, Hashable, CaseIterable, Comparable {
    case s251 = 251, s252, s253, s254, s255, s256, s257, s258
    public static func < (l: RebootStep, r: RebootStep) -> Bool { l.rawValue < r.rawValue }
}

/// Where a node is, finer than the figure's four states: the takeover (213) and giveback (222) steps
/// take time, and so does each reboot step.
public enum NodePhase: Sendable, Hashable, CustomStringConvertible {
    case normal
    /// Transition 212 under way: TAKEOVER sent at `since`, waiting before reserving (step 213).
    case takingOver(since: VirtualTime)
    case takeover
    /// Transition 221 under way: reservations released, waiting for the peer's NORMAL (step 222).
    case givingBack
    case stopped
    case rebooting(RebootStep)

    /// The FIG. 2 state: a transition under way still counts as the state it leaves.
    public var state: NodeState {
        switch self {
        case .normal, .takingOver: .normal
        case .takeover, .givingBack: .takeover
        case .stopped: .stopped
        case .rebooting: .rebooting
        }
    }

    public var description: String {
        switch self {
        case .normal: "NORMAL"
        case .takingOver: "NORMAL (213 takeover under way)"
        case .takeover: "TAKEOVER"
        case .givingBack: "TAKEOVER (222 giveback under way)"
        case .stopped: "STOPPED"
        case .rebooting(let step): "REBOOTING (step \(step.rawValue))"
        }
    }
}

/// Why this node's own takeover (212) is disabled (US 6,119,244 col. 6: (a), (b), (c)).
public enum DisableReason: String, Sendable, Hashable, CaseIterable, Comparable {
    case operatorCommand = "operator"
    case syncError = "persistent-memory-sync"
    case versionMismatch = "version-mismatch"
    public static func < (l: DisableReason, r: DisableReason) -> Bool { l.rawValue < r.rawValue }
}

public enum OperatorCommand: String, Sendable, Hashable, CaseIterable {
    case disableTakeover = "disable-takeover"
    case enableTakeover = "enable-takeover"
    case giveback
    /// Transition 231; the world carries it out because it needs the persistent memory.
    case reboot
    /// Halts the node (STOPPED) without losing its volatile state; a crash loses it.
    case stop
}

/// A step of FIG. 2 a node reports as it takes it.
public enum Transition: Sendable, Hashable, CustomStringConvertible {
    case t211
    case t212Begin, t212Complete, t212Abort
    case t221Begin, t221Complete
    case t231, t241, t242, t243
    case step(RebootStep)
    case claim14Stop, claim13Fenced, operatorStop

    public var description: String {
        switch self {
        case .t211: "211 NORMAL-OPERATION"
        case .t212Begin: "212 TAKEOVER-OPERATION begins: 213 sends TAKEOVER"
        case .t212Complete: "212 completes: 213 reserves the peer's disks, TAKEOVER"
        case .t212Abort: "212 aborted: peer not passive or takeover disabled, NORMAL"
        case .t221Begin: "221 GIVEBACK-OPERATION begins: 222 releases, sends NORMAL"
        case .t221Complete: "221 completes: peer NORMAL, NORMAL"
        case .t231: "231 REBOOT-OPERATION"
        case .t241: "241 REBOOT-FAILED"
        case .t242: "242 REBOOT-NORMAL"
        case .t243: "243 REBOOT-TAKEOVER"
        case .step(let s): "step \(s.rawValue)"
        case .claim14Stop: "claims 13-14: peer takes over, stops writing, STOPPED"
        case .claim13Fenced: "claim 13: write refused by the peer's reservation, STOPPED"
        case .operatorStop: "operator stop, STOPPED"
        }
    }
}

/// What a node is told. Time comes with every input as `at:`; nothing else enters a node.
public enum NodeInput: Sendable, Hashable {
    /// The node's periodic timer (FO-STATUS-PERIOD): send status, poll, check time-outs, advance a step.
    case tick
    /// Bytes read from a channel: a mailbox region, a SAN record, a datagram payload.
    case delivered([UInt8], via: Channel)
    /// Transition 231 with the persistent memory as it stands; `failedAttempts` recoveries fail first.
    case reboot(PersistentMemory, failedAttempts: Int)
    /// Answer to `probeOwnDisks` (step 252).
    case ownDisksWritable(Bool)
    /// Answer to a boot reservation (steps 254/255): all disks granted, or refused.
    case reservation(granted: Bool)
    /// A data write to `disk` was refused: another node holds its reservation.
    case writeRefused(disk: Int)
    case operatorCommand(OperatorCommand)
    case persistentMemorySync(inSync: Bool)
}

/// What a node asks of the world.
public enum NodeOutput: Sendable, Hashable {
    /// Carry this status on every channel.
    case send(StatusMessage)
    case persist(OwnStateRecord)
    case probeOwnDisks
    case reserve([Int], preempt: Bool)
    case release([Int])
    case flushPersistentMemory
    case operatorPrompt(String)
    case transition(Transition)
}

/// What the stale-message invariant compares: everything a message may change, and nothing a message that
/// is not new may change (per-channel liveness bookkeeping is excluded).
public struct ProtocolState: Sendable, Hashable {
    public var phase: NodePhase
    public var mostRecentNew: Stamp
    public var peerState: StateIndicator?
    public var peerRecovering: Bool
    public var disableReasons: Set<DisableReason>
    public var servedDisks: [Int]
}

/// One file server of US 6,119,244 as a pure value: `step(_:at:)` takes an input and the virtual time and
/// returns what the node asks of the world. It keeps a `RuleTrace` of every rule it applies.
public struct FailoverNode: Sendable {
    public let id: NodeID
    public let configuration: NodeConfiguration

    public private(set) var phase: NodePhase = .stopped
    public private(set) var generation: UInt32 = 0
    public private(set) var sequence: UInt64 = 0
    /// FO-MSG-NEWNESS: generation and sequence of the most recent new message from the peer.
    public private(set) var mostRecentNew: Stamp = .zero
    public private(set) var peerState: StateIndicator? = nil
    public private(set) var peerRecovering = false
    /// The generation and sequence of ours that the peer's most recent new message says it has seen.
    public private(set) var peerEcho: Stamp = .zero
    public private(set) var disableReasons: Set<DisableReason> = []
    /// Disks this node controls and writes: its own in NORMAL, all in TAKEOVER, none otherwise.
    public private(set) var servedDisks: [Int] = []
    public private(set) var trace = RuleTrace<FailoverRule>()
    /// Whether the node has heard a new message from the peer since it booted (step 257).
    public private(set) var canCommunicate = false

    // Per-channel liveness (FO-CHANNEL-UPDATE), indexed by channel.
    private var channelHighWater: [Stamp] = [.zero, .zero, .zero]
    private var channelUpdated: [VirtualTime] = [.zero, .zero, .zero]
    // What the node read from its persistent memory at boot.
    private var previousState: NodeState = .normal
    private var bootGeneration: UInt32 = 0
    private var pendingOperations = 0
    private var operatorDisabledAtBoot = false
    private var persistentMemoryInSync = true
    private var peerRecordAtBoot: [UInt8]? = nil
    private var recoveryFailuresLeft = 0
    private var waitingForGiveback = false
    private var seized: [Int] = []

    public init(id: NodeID, configuration: NodeConfiguration = .reference) {
        self.id = id
        self.configuration = configuration
    }

    public var state: NodeState { phase.state }
    public var ownDisks: [Int] { DiskLayout.own(id) }
    public var peerDisks: [Int] { DiskLayout.own(id.peer) }

    /// FO-DISABLE-*: takeover needs no local reason and no DISABLE / NO-TAKEOVER from the peer.
    public var takeoverEnabled: Bool {
        disableReasons.isEmpty && peerState != .noTakeover && peerState != .disable
    }

    public var protocolState: ProtocolState {
        ProtocolState(
            phase: phase, mostRecentNew: mostRecentNew, peerState: peerState, peerRecovering: peerRecovering,
            disableReasons: disableReasons, servedDisks: servedDisks)
    }

    /// A crash: everything volatile is lost; the node is STOPPED until rebooted. The trace survives, as it
    /// is the kit's record, not the node's memory.
    public mutating func crash() {
        let kept = trace
        self = FailoverNode(id: id, configuration: configuration)
        trace = kept
    }

    public mutating func step(_ input: NodeInput, at now: VirtualTime) -> [NodeOutput] {
        switch input {
        case .tick: return tick(now)
        case .delivered(let bytes, let channel): return receive(bytes, via: channel, now)
        case .reboot(let memory, let failedAttempts): return reboot(memory, failedAttempts: failedAttempts, now)
        case .ownDisksWritable(let writable): return ownDisksWritable(writable)
        case .reservation(let granted): return reservationAnswered(granted)
        case .writeRefused(let disk): return writeRefused(disk)
        case .operatorCommand(let command): return operatorCommand(command)
        case .persistentMemorySync(let inSync): return persistentMemorySync(inSync)
        }
    }

    private mutating func note(_ rule: FailoverRule) { trace.note(rule) }

    // MARK: Sending

    private mutating func status(_ state: StateIndicator, flags: StatusFlags = []) -> NodeOutput {
        note(.seqIncrement)
        note(.msgFields)
        note(.msgPeerEcho)
        note(.statusPeriod)
        sequence += 1
        return .send(
            StatusMessage(
                version: configuration.protocolVersion, systemID: id.systemID, state: state, flags: flags,
                generation: generation, sequence: sequence, peerGeneration: mostRecentNew.generation,
                peerSequence: mostRecentNew.sequence))
    }

    /// NORMAL says DISABLE when this node's own takeover is disabled: US 6,119,244 col. 5, "takeover is
    /// disabled for both file servers".
    private mutating func normalStatus() -> NodeOutput {
        if !disableReasons.isEmpty {
            note(.disableSignal)
            return status(.disable)
        }
        return status(.normal)
    }

    private mutating func recoveryReport() -> NodeOutput {
        note(.recoveryReport)
        note(.recoveryFlag)
        return status(.noTakeover, flags: .recovering)
    }

    private func persistRecord(_ last: NodeState) -> NodeOutput {
        .persist(
            OwnStateRecord(
                generation: generation, lastState: last,
                operatorDisabledTakeover: disableReasons.contains(.operatorCommand)))
    }

    // MARK: Tick

    private mutating func tick(_ now: VirtualTime) -> [NodeOutput] {
        switch phase {
        case .stopped:
            note(.stoppedNoOps)
            return []
        case .normal:
            if takeoverEnabled, allChannelsSilent(now) { return beginTakeover(now) }
            return [normalStatus()]
        case .takingOver(let since):
            if !takeoverEnabled { return abortTakeover() }
            if now.nanoseconds >= since.nanoseconds &+ configuration.takeoverWait.nanoseconds {
                var out = completeTakeover()
                out.append(status(.takeover))
                return out
            }
            return [status(.takeover)]
        case .takeover:
            note(.takeoverMessages)
            return [status(.takeover)]
        case .givingBack:
            note(.givebackHold)
            return [status(.noTakeover)]
        case .rebooting(let step):
            return rebootTick(step, now)
        }
    }

    private func allChannelsSilent(_ now: VirtualTime) -> Bool {
        for channel in Channel.allCases {
            let last = channelUpdated[Int(channel.rawValue)].nanoseconds
            if now.nanoseconds &- last < configuration.silenceLimit(channel).nanoseconds { return false }
        }
        return true
    }

    // MARK: Takeover (212, step 213)

    private mutating func beginTakeover(_ now: VirtualTime) -> [NodeOutput] {
        note(.takeoverSilence)
        note(.silenceMultiple)
        note(.timeoutPerChannel)
        note(.timeoutNetwork)
        note(.t212Takeover)
        note(.takeoverSend)
        var out: [NodeOutput] = [.transition(.t212Begin), status(.takeover)]
        if configuration.waitsBeforeReserving {
            note(.takeoverWait)
            note(.takeoverWaitDuration)
            phase = .takingOver(since: now)
        } else {
            out += completeTakeover()
        }
        return out
    }

    private mutating func completeTakeover() -> [NodeOutput] {
        note(.takeoverReserve)
        note(.takeoverPassive)
        phase = .takeover
        servedDisks = DiskLayout.all
        return [.reserve(peerDisks, preempt: true), persistRecord(.takeover), .transition(.t212Complete)]
    }

    private mutating func abortTakeover() -> [NodeOutput] {
        note(.takeoverAbort)
        phase = .normal
        return [.transition(.t212Abort)]
    }

    private mutating func stopWriting(_ why: Transition) -> [NodeOutput] {
        phase = .stopped
        servedDisks = []
        note(.stoppedNoOps)
        return [.transition(why)]
    }

    // MARK: Receiving

    private mutating func receive(_ bytes: [UInt8], via channel: Channel, _ now: VirtualTime) -> [NodeOutput] {
        guard configuration.listensOn.contains(channel) else { return [] }
        if case .stopped = phase {
            note(.stoppedNoOps)
            return []
        }
        guard let carriage = try? Carriage(decoding: bytes, channel: channel),
            carriage.writer == id.peer, carriage.message.systemID == id.peer.systemID
        else {
            note(.wireIntegrity)
            return []
        }
        note(.wireLayout)
        note(.msgStateIndicator)
        note(.msgMergedStream)
        let message = carriage.message
        let c = Int(channel.rawValue)
        if message.stamp.isNew(after: channelHighWater[c], order: configuration.newnessOrder) {
            note(.channelUpdate)
            channelHighWater[c] = message.stamp
            channelUpdated[c] = now
        }
        guard message.stamp.isNew(after: mostRecentNew, order: configuration.newnessOrder) else {
            note(.msgIgnoreOld)
            return []
        }
        note(.msgNewness)
        mostRecentNew = message.stamp
        canCommunicate = true
        if message.version != configuration.protocolVersion {
            note(.disableVersion)
            disableReasons.insert(.versionMismatch)
        } else {
            disableReasons.remove(.versionMismatch)
        }
        peerState = message.state
        peerRecovering = message.flags.contains(.recovering)
        peerEcho = message.peerStamp
        if message.state == .noTakeover || message.state == .disable { note(.disablePeerMessage) }
        return react(to: message)
    }

    private mutating func react(to message: StatusMessage) -> [NodeOutput] {
        switch (phase, message.state) {
        case (.normal, .takeover), (.takingOver, .takeover), (.takeover, .takeover), (.givingBack, .takeover):
            // US 6,119,244 claims 13-14: the node learning of the takeover refrains from writing.
            note(.claim14StopWriting)
            guard configuration.stopsWritingOnPeerTakeover else { return [] }
            return stopWriting(.claim14Stop)
        case (.rebooting(let step), .takeover):
            note(.claim14StopWriting)
            note(.t241RebootFailed)
            var out: [NodeOutput] = []
            if !seized.isEmpty {
                out.append(.release(seized))
                seized = []
            }
            if step > .s252 { phase = .rebooting(.s252) }
            return out
        case (.normal, .normal):
            if !message.flags.contains(.recovering) { note(.t211Normal) }
            return []
        case (.takingOver, _):
            // Step 213: a new message from a peer that still operates means it is not passive; a
            // DISABLE or NO-TAKEOVER disables the takeover. Either way it cannot complete.
            note(.takeoverPassive)
            return abortTakeover()
        case (.givingBack, .normal) where !message.flags.contains(.recovering):
            note(.t221Giveback)
            phase = .normal
            return [persistRecord(.normal), .transition(.t221Complete)]
        default:
            return []
        }
    }

    // MARK: Operator, disks, persistent memory

    private mutating func operatorCommand(_ command: OperatorCommand) -> [NodeOutput] {
        switch command {
        case .disableTakeover, .enableTakeover:
            note(.disableOperator)
            if command == .disableTakeover {
                disableReasons.insert(.operatorCommand)
            } else {
                disableReasons.remove(.operatorCommand)
            }
            if case .stopped = phase { return [] }
            return [persistRecord(phase.state == .takeover ? .takeover : .normal)]
        case .giveback:
            guard case .takeover = phase else { return [] }
            note(.t221Giveback)
            note(.givebackRelease)
            note(.givebackSendNormal)
            note(.givebackHold)
            phase = .givingBack
            servedDisks = ownDisks
            return [.release(peerDisks), status(.normal), persistRecord(.normal), .transition(.t221Begin)]
        case .stop:
            if case .stopped = phase { return [] }
            return stopWriting(.operatorStop)
        case .reboot:
            return []
        }
    }

    private mutating func writeRefused(_ disk: Int) -> [NodeOutput] {
        guard servedDisks.contains(disk) else { return [] }
        note(.claim13Fenced)
        return stopWriting(.claim13Fenced)
    }

    private mutating func persistentMemorySync(_ inSync: Bool) -> [NodeOutput] {
        persistentMemoryInSync = inSync
        if case .stopped = phase { return [] }
        note(.disableSyncError)
        if inSync {
            disableReasons.remove(.syncError)
        } else {
            disableReasons.insert(.syncError)
        }
        return []
    }

    // MARK: Reboot (231, 241-243, steps 251-258)

    private mutating func reboot(_ memory: PersistentMemory, failedAttempts: Int, _ now: VirtualTime) -> [NodeOutput] {
        guard case .stopped = phase else { return [] }
        crash()
        note(.t231Reboot)
        previousState = memory.lastState
        bootGeneration = memory.generation
        pendingOperations = memory.pendingOperations
        operatorDisabledAtBoot = memory.operatorDisabledTakeover
        persistentMemoryInSync = memory.inSync
        peerRecordAtBoot = memory.peerRecord
        recoveryFailuresLeft = max(0, failedAttempts)
        phase = .rebooting(.s251)
        return [.transition(.t231)] + step251(now)
    }

    private mutating func step251(_ now: VirtualTime) -> [NodeOutput] {
        if recoveryFailuresLeft > 0 {
            recoveryFailuresLeft -= 1
            note(.t241RebootFailed)
            return [.transition(.t241)]
        }
        note(.reboot251)
        note(.genIncrementAtBoot)
        note(.genPersisted)
        note(.seqPerGeneration)
        note(.saveOwnState)
        generation = configuration.incrementsGenerationAtBoot ? bootGeneration &+ 1 : max(bootGeneration, 1)
        sequence = 0
        var out: [NodeOutput] = [persistRecord(previousState), .transition(.step(.s251))]
        // Step 253 reads the peer's state from persistent memory; the record is fed through the same
        // newness rule as any SAN delivery.
        if let record = peerRecordAtBoot {
            peerRecordAtBoot = nil
            out += receive(record, via: .san, now)
        }
        if case .rebooting(.s251) = phase { phase = .rebooting(.s252) }
        out.append(recoveryReport())
        return out
    }

    private mutating func rebootTick(_ step: RebootStep, _ now: VirtualTime) -> [NodeOutput] {
        note(.rebootStepPace)
        switch step {
        case .s251:
            return step251(now)
        case .s252:
            return [recoveryReport(), .probeOwnDisks]
        case .s253:
            note(.reboot253)
            note(.saveOwnState)
            if peerState == .takeover { return backToGivebackWait() + [recoveryReport()] }
            // The peer counts as operating only if it says so in a message that echoes this boot's
            // generation: a record left in persistent memory or on the mailbox by a peer that has since
            // stopped says nothing about it now (FO-MSG-PEER-ECHO).
            note(.msgPeerEcho)
            let peerHeardThisBoot = generation > 0 && peerEcho.generation == generation
            let peerOperating = (peerState?.saysOperating ?? false) && !peerRecovering && peerHeardThisBoot
            phase = .rebooting(previousState == .takeover && !peerOperating ? .s255 : .s254)
            return [.transition(.step(.s253)), recoveryReport()]
        case .s254, .s255:
            if peerState == .takeover { return backToGivebackWait() + [recoveryReport()] }
            seized = step == .s254 ? ownDisks : DiskLayout.all
            return [recoveryReport(), .reserve(seized, preempt: false)]
        case .s256:
            note(.reboot256)
            phase = .rebooting(.s257)
            var out: [NodeOutput] = [.transition(.step(.s256)), recoveryReport()]
            if pendingOperations > 0 {
                pendingOperations = 0
                out.append(.flushPersistentMemory)
            }
            return out
        case .s257:
            note(.reboot257)
            if operatorDisabledAtBoot {
                note(.disableOperator)
                disableReasons.insert(.operatorCommand)
            }
            if !persistentMemoryInSync {
                note(.disableSyncError)
                disableReasons.insert(.syncError)
            }
            phase = .rebooting(.s258)
            return [.transition(.step(.s257)), recoveryReport()]
        case .s258:
            note(.reboot258)
            if peerState == .takeover { return backToGivebackWait() + [recoveryReport()] }
            // A fresh silence window: the peer gets the full multiple of every time-out from here.
            channelUpdated = [now, now, now]
            servedDisks = seized
            if seized == DiskLayout.all {
                note(.t243RebootTakeover)
                phase = .takeover
                return [.transition(.step(.s258)), .transition(.t243), persistRecord(.takeover), status(.takeover)]
            }
            note(.t242RebootNormal)
            phase = .normal
            return [.transition(.step(.s258)), .transition(.t242), persistRecord(.normal), normalStatus()]
        }
    }

    private mutating func backToGivebackWait() -> [NodeOutput] {
        note(.t241RebootFailed)
        var out: [NodeOutput] = []
        if !seized.isEmpty {
            out.append(.release(seized))
            seized = []
        }
        phase = .rebooting(.s252)
        if !waitingForGiveback {
            waitingForGiveback = true
            out.append(.transition(.t241))
        }
        return out
    }

    private mutating func ownDisksWritable(_ writable: Bool) -> [NodeOutput] {
        guard case .rebooting(.s252) = phase else { return [] }
        note(.reboot252)
        if !writable || peerState == .takeover {
            note(.t241RebootFailed)
            if waitingForGiveback { return [] }
            waitingForGiveback = true
            return [
                .transition(.t241),
                .operatorPrompt("node \(id): the peer controls my disks; command node \(id.peer) to give back"),
            ]
        }
        waitingForGiveback = false
        phase = .rebooting(.s253)
        return [.transition(.step(.s252))]
    }

    private mutating func reservationAnswered(_ granted: Bool) -> [NodeOutput] {
        guard case .rebooting(let step) = phase, step == .s254 || step == .s255 else { return [] }
        note(step == .s254 ? .reboot254 : .reboot255)
        note(.worldReservations)
        if !granted {
            seized = []
            return backToGivebackWait()
        }
        phase = .rebooting(.s256)
        return [.transition(.step(step))]
    }
}
