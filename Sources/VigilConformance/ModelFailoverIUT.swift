import VigilAdapters
import VigilCore
import VigilFailover

/// The failover node model itself (`FailoverNode`, US 6,119,244 FIG. 2), speaking the adapter protocol
/// in-process (`--iut model`): a conformant Swift failover node for the kit's own tests and a second
/// implementation next to refnode's C core, sharing the kit's model instead of its code.
///
/// The model decides everything the patent decides: which state indicator goes out, newness over the
/// merged stream, per-channel silence, the takeover wait, the reboot steps, claims 13-14. It lives in a
/// world where a status message reaches every channel at once, reservations are answered at once and
/// persistent memory is a value handed to it at boot. This class is the device layer between that model
/// and the devices the kit hosts (specs/adapter.md §7.1); where the model leaves the devices open it does
/// what the sample implementation (`Sources/RefNodeCore/failover.c`) does:
///
/// - **Ticks.** Every status period, node B half a period after node A (FO-STATUS-PERIOD), one tick per
///   `TIME`: the model's tick, then the polls: `DISK` reads of the peer's regions (disk 0 then disk 2,
///   block 8 + peer slot) and of the peer's SAN record (0xFE, block = peer slot). Each answered read is one
///   delivery to the model on its channel.
/// - **Sending.** A `.send` goes out as failover.c sends it: `PACKET` port 2, `DISK` write of the SAN record
///   to 0xFF and to 0xFE at the own slot, `DISK` write of the region to disk 0 at block 8 + own slot and,
///   once that write has completed (not refused), the same region to disk 2.
/// - **Step 251.** `BOOT` / `REBOOT` power-cycles the node (the model loses its volatile state), reports
///   step 251, and reads persistent-memory slots 0-2 in one request: its own last SAN record, the peer's,
///   and the node record "VFNR" (slot 2). It writes the node record with the generation plus one, and once
///   that write has completed hands the model `.reboot` with the memory it read (FO-GEN-PERSISTED: the new
///   generation is in persistent memory before the model can put it in a message). Meanwhile ticks are
///   skipped, datagrams are kept and given to the model right after `.reboot`, and the operator's
///   `DISABLE` / `ENABLE` becomes the setting the model finds in its memory (written with the new
///   generation once the record is read).
/// - **Persistent memory.** The model's `.persist` is the node record (generation and the operator's
///   setting), written when either changes; the model's "last state" is not a separate item: as in
///   failover.c it is the state of the own SAN record the node last wrote (§7.1, step 253).
/// - **Reservations.** `.reserve` and `.release` become one `DISK` request per disk. The model's answer
///   (`.reservation(granted:)`, steps 254/255) comes once every reservation of the batch is answered; a
///   takeover's reservations (step 213, preempting) are shown as TAKEOVER in `STATE` only once they are all
///   granted. `GIVEBACK` releases the peer's disks first and gives the model the command when the releases
///   are answered, so the NORMAL of step 222 follows the releases. Step 252's probe of its own disks is
///   answered "writable" (failover.c checks nothing else there: the model itself waits while the peer says
///   TAKEOVER, and a disk the peer still holds refuses the reservation of step 254).
/// - **Refusals.** A mailbox write ending in a reservation conflict is `.writeRefused(disk:)` (the model
///   decides whether to stop); after a refused first write the second is not made.
/// - **`STATE`** follows the model's phase (the step is the reboot step minus 250) and goes out before any
///   message the same input produces, and after the input, whenever state, step, generation or
///   takeover-enabled changed.
///
/// Where the model and failover.c disagree on protocol behaviour the model is followed; the differences
/// are listed in `ModelFailoverIUTTests`. Deterministic: the same frames in give the same frames out.
public final class ModelFailoverNodeIUT: InProcessIUT {
    /// The settings HELLO gives: which node this is and its timers.
    private var node = NodeID.a
    private var configuration = NodeConfiguration.reference
    private var helloDone = false
    private var resetDone = false

    /// The model; `FailoverNode.crash()` is how a boot loses its volatile state.
    private var model = FailoverNode(id: .a)
    private var now = VirtualTime.zero
    private var life = Life.off
    /// Step 251 as this class carries it out, while `life` is `.booting`.
    private var boot: Boot? = nil
    private var nextTick: VirtualTime? = nil
    /// Outstanding `DISK` requests by tag. Cleared at every boot and stop: an answer to a request of an
    /// earlier instantiation is ignored. Tags go on across boots (as in failover.c) so that such an answer
    /// is never taken for a new request's.
    private var pending: [UInt16: Request] = [:]
    private var nextTag: UInt16 = 0
    /// The reservations or releases being answered; at most one batch at a time (a new one supersedes).
    private var batch: Batch? = nil
    private var batchCount = 0
    /// Disks released for a giveback before the model was given the command: its own `.release` of them
    /// is then already done.
    private var releasedForGiveback: Set<Int> = []
    /// The node record last written (requested), so that an unchanged one is not written again.
    private var lastRecord: NodeRecord? = nil
    private var reported: Report? = nil
    private var out: [IUTFrame] = []

    public init() {}

    // MARK: Types

    private enum Life {
        /// After RESET, before BOOT.
        case off
        /// Step 251 before the model runs: reading the node record and persisting the new generation.
        case booting
        /// Stopped during step 251, before the model began the new instantiation.
        case haltedAtBoot(generation: UInt32, enabled: Bool)
        /// The model runs (its phase says the rest, STOPPED included).
        case running
    }

    private struct Boot {
        /// The generation `STATE` shows until the new one is persisted (the previous instantiation's).
        var shownGeneration: UInt32
        /// The operator's DISABLE (true) or ENABLE (false) given during step 251.
        var commanded: Bool? = nil
        /// What the read of slots 0-2 found, with the operator setting to hand the model.
        var memory: PersistentMemory? = nil
        /// Deliveries that arrived before the model runs, in order.
        var held: [(bytes: [UInt8], channel: Channel)] = []

        var disabled: Bool { commanded ?? memory?.operatorDisabledTakeover ?? false }
    }

    private enum Request {
        case bootRead
        case recordWrite
        /// The SAN record written to 0xFF or 0xFE: nothing follows its answer.
        case statusCopy
        /// The region on the first mailbox disk, to be written to the second when this write completes.
        case firstMailbox([UInt8])
        case secondMailbox
        case poll(Channel)
        /// One reservation or release of batch `number`.
        case batchMember(Int)
        /// A release outside any batch (the model giving up the reservations of a reboot attempt).
        case release
    }

    private struct Batch {
        enum Purpose {
            /// Steps 254 / 255: the model waits for `.reservation(granted:)`.
            case reboot
            /// Step 213: the model is already in TAKEOVER; `STATE` says so once all are granted.
            case takeover
            /// Step 222: the model is given GIVEBACK once the releases are answered.
            case giveback
        }
        var number: Int
        var purpose: Purpose
        var outstanding: Int
        var refused = false
    }

    private struct Report: Equatable {
        var state: UInt8
        var step: UInt8
        var generation: UInt32
        var enabled: Bool
    }

    /// The node record (one codec, `NodeRecord.swift`).
    typealias NodeRecord = VigilConformance.NodeRecord

    static let recordDevice: UInt8 = 0xFE
    static let peerMemoryDevice: UInt8 = 0xFF
    static let mailboxBlock: UInt32 = 8
    enum Op {
        static let reserve: UInt8 = 1, release: UInt8 = 2, write: UInt8 = 3, read: UInt8 = 4
    }

    private var ownSlot: UInt32 { UInt32(node.rawValue) }
    private var peerSlot: UInt32 { UInt32(node.peer.rawValue) }

    // MARK: Frames

    public func handle(_ frame: KitFrame) -> [IUTFrame] {
        out = []
        switch frame {
        case .hello(_, let role, _, _, let options):
            return hello(role: role, options: options)
        case .reset:
            guard helloDone else { return [.error("RESET before HELLO")] }
            reset()
            return [.ready]
        case .bye:
            return []
        case .packet, .command, .time, .diskResult:
            if !resetDone {
                out.append(.error("stimulus before HELLO and RESET"))
            } else if let why = stimulus(frame) {
                out.append(.error(why))
            }
            out.append(.idle(next: timerRunning ? nextTick : nil, datagrams: 0))
            return out
        }
    }

    private func hello(role: Role, options: [AdapterOption]) -> [IUTFrame] {
        let ack = IUTFrame.helloAck(version: AdapterProtocol.version, roles: Role.failoverNode.bit, clocks: 1, name: "vigil-model", options: [])
        // Another role: the acknowledgement says which role this IUT plays, and the kit declines.
        guard role == .failoverNode else { return [ack] }
        var node = NodeID.a
        var configuration = NodeConfiguration.reference
        for option in options {
            var r = OptionReader(option.value)
            switch option.tag {
            case 0x20:  // FO-NODE: u8 slot, u64 system id
                guard let slot = r.u8(), let systemID = r.u64(), r.done, let id = NodeID(rawValue: slot) else {
                    return [.error("HELLO: malformed FO-NODE option (u8 slot 0 or 1, u64 system-id)")]
                }
                // The model's messages carry the system id of specs/failover-wire.md §1, which the carrier's
                // writer slot must agree with; it cannot take another.
                guard systemID == id.systemID else {
                    return [.error("HELLO: the model's system id for slot \(slot) is 0x\(String(id.systemID, radix: 16)), not 0x\(String(systemID, radix: 16))")]
                }
                node = id
            case 0x21:  // FO-TIMERS
                guard let period = r.u64(), let mailbox = r.u64(), let san = r.u64(), let network = r.u64(), let multiple = r.u8(),
                    let wait = r.u64(), r.done, period > 0, multiple > 0
                else {
                    return [.error("HELLO: malformed FO-TIMERS option (status period and silence multiple above 0)")]
                }
                configuration.statusPeriod = VirtualTime(nanoseconds: period)
                configuration.timeouts = [mailbox, san, network].map { VirtualTime(nanoseconds: $0) }
                configuration.silenceMultiple = UInt64(multiple)
                configuration.takeoverWait = VirtualTime(nanoseconds: wait)
            default:
                continue  // specs/adapter.md §5: unknown tags are ignored
            }
        }
        self.node = node
        self.configuration = configuration
        helloDone = true
        reset()
        resetDone = false  // a case begins with RESET
        return [ack]
    }

    /// A fresh node, off until BOOT; time 0.
    private func reset() {
        model = FailoverNode(id: node, configuration: configuration)
        now = .zero
        life = .off
        boot = nil
        nextTick = nil
        pending = [:]
        nextTag = 0
        batch = nil
        batchCount = 0
        releasedForGiveback = []
        lastRecord = nil
        reported = nil
        resetDone = true
    }

    /// Handles a stimulus; the reason when it is refused.
    private func stimulus(_ frame: KitFrame) -> String? {
        switch frame {
        case .time(let t):
            guard t >= now else { return "TIME: time went backwards" }
            now = t
            if timerRunning, let tick = nextTick, tick <= now { fireTick() }
        case .packet(let port, let bytes):
            guard port == 2 else { return "PACKET: failover-node packets arrive on port 2" }
            receive(bytes, via: .network)
        case .command(let command):
            return self.command(command)
        case .diskResult(let tag, let status, let data):
            guard status <= 2 else { return "DISK-RESULT: status must be 0, 1 or 2" }
            diskResult(tag: tag, status: status, data: data)
        case .hello, .reset, .bye:
            break
        }
        return nil
    }

    // MARK: Time

    /// Whether the node has a timer: from BOOT until it stops.
    private var timerRunning: Bool {
        switch life {
        case .booting: return true
        case .running: return model.state != .stopped
        case .off, .haltedAtBoot: return false
        }
    }

    /// FO-STATUS-PERIOD: ticks at offset + k × period, node B offset by half a period (failover.c's
    /// `first_tick_after`); nil past the end of time.
    private func firstTick(after t: VirtualTime) -> VirtualTime? {
        let period = configuration.statusPeriod.nanoseconds
        let offset = node == .b ? period / 2 : 0
        if t.nanoseconds < offset { return VirtualTime(nanoseconds: offset) }
        let k = (t.nanoseconds - offset) / period + 1
        guard k <= (UInt64.max - offset) / period else { return nil }
        return VirtualTime(nanoseconds: offset + k * period)
    }

    /// One tick (a TIME that skipped several fires one, as in failover.c). While step 251 is still the
    /// device layer's, the tick is skipped.
    private func fireTick() {
        nextTick = firstTick(after: now)
        guard case .running = life, model.state != .stopped else { return }
        feed(.tick)
        guard model.state != .stopped else { return }
        // The polls: the peer's region on each mailbox disk, first then second, and its SAN record.
        for disk in DiskLayout.mailboxDisks {
            request(.poll(.mailbox), op: Op.read, device: UInt8(disk), block: Self.mailboxBlock + peerSlot)
        }
        request(.poll(.san), op: Op.read, device: Self.recordDevice, block: peerSlot)
    }

    // MARK: The model

    /// Gives the model one input at the current instant and carries out what it asks.
    private func feed(_ input: NodeInput) {
        let wasStopped = model.state == .stopped
        let outputs = model.step(input, at: now)
        if !wasStopped, model.state == .stopped { halt() }
        perform(outputs)
    }

    /// The model's outputs, in order. `STATE` goes out before the first message and at the end. `echo`
    /// replaces the peer echo of the messages (see `completeBoot`).
    private func perform(_ outputs: [NodeOutput], echo: Stamp? = nil) {
        for output in outputs {
            switch output {
            case .send(var message):
                reportState()
                if let echo {
                    message.peerGeneration = echo.generation
                    message.peerSequence = echo.sequence
                }
                send(message)
            case .persist(let record):
                persist(NodeRecord(generation: record.generation, disabled: record.operatorDisabledTakeover))
            case .probeOwnDisks:
                feed(.ownDisksWritable(true))
            case .reserve(let disks, let preempt):
                startBatch(preempt ? .takeover : .reboot, op: Op.reserve, disks: disks)
            case .release(let disks):
                for disk in disks where !releasedForGiveback.contains(disk) && DiskLayout.all.contains(disk) {
                    request(.release, op: Op.release, device: UInt8(disk), block: 0, count: 0)
                }
            case .flushPersistentMemory, .operatorPrompt, .transition:
                // Nothing pending to flush (failover.c keeps no file-server log either); prompts and
                // transitions are the model's narration, `STATE` reports the phase itself.
                break
            }
        }
        reportState()
    }

    /// The model stopped (claims 13-14, the operator): nothing it asked for is awaited any more.
    private func halt() {
        pending = [:]
        batch = nil
        releasedForGiveback = []
    }

    // MARK: Step 251

    private func startBoot() {
        // BOOT and REBOOT power-cycle the node: its volatile memory is lost, the persistent memory stays.
        model.crash()
        boot = Boot(shownGeneration: reported?.generation ?? 0)
        life = .booting
        pending = [:]
        batch = nil
        releasedForGiveback = []
        nextTick = firstTick(after: now)
        reportState()
        request(.bootRead, op: Op.read, device: Self.recordDevice, block: 0, count: 3)
    }

    /// Slots 0-2 of persistent memory: the own and the peer's last SAN records, the node record.
    private func bootRead(status: UInt8, data: [UInt8]) {
        guard case .booting = life, var b = boot, b.memory == nil else { return }
        guard status == 0, data.count == 3 * 64 else {
            // Cannot recover yet (T241): read again.
            request(.bootRead, op: Op.read, device: Self.recordDevice, block: 0, count: 3)
            return
        }
        func slot(_ k: UInt32) -> ArraySlice<UInt8> { data[Int(k) * 64..<(Int(k) + 1) * 64] }
        let record = NodeRecord(decoding: slot(NodeRecord.slot))
        var memory = PersistentMemory()
        memory.generation = record?.generation ?? 0
        // Step 253 asks for the state before the interruption: the state of the last message the node
        // saved in its own slot (FO-SAVE-OWN-STATE), as in failover.c and specs/adapter.md §7.1.
        let own = try? Carriage(decoding: Array(slot(ownSlot)), channel: .san)
        memory.lastState = own?.writer == node && own?.message.state == .takeover ? .takeover : .normal
        memory.operatorDisabledTakeover = b.commanded ?? record?.disabled ?? false
        memory.peerRecord = Array(slot(peerSlot))
        memory.ownRecord = Array(slot(ownSlot))
        b.memory = memory
        boot = b
        // FO-GEN-INCREMENT-AT-BOOT, FO-GEN-PERSISTED: the model will take this generation (the record's plus
        // one, as its reference configuration does); it is written before the model may use it.
        persist(NodeRecord(generation: memory.generation &+ 1, disabled: memory.operatorDisabledTakeover))
    }

    /// The node record with the new generation is in persistent memory: the model begins.
    private func completeBoot() {
        guard case .booting = life, let b = boot, let memory = b.memory else { return }
        boot = nil
        life = .running
        var outputs = model.step(.reboot(memory, failedAttempts: 0), at: now)
        // The model's own record of step 251 is the one just written (and its operator setting, before
        // step 257 has read it, would be the crash's empty one): nothing more to write.
        outputs.removeAll { if case .persist = $0 { true } else { false } }
        for (bytes, channel) in b.held { outputs += model.step(.delivered(bytes, via: channel), at: now) }
        // A message the model built before it was given the held deliveries goes out now, with the echo it
        // would have carried had they come first (failover.c builds its message at this moment).
        perform(outputs, echo: b.held.isEmpty ? nil : model.mostRecentNew)
    }

    // MARK: Commands

    private func command(_ command: AdapterCommand) -> String? {
        switch command {
        case .boot, .reboot:
            startBoot()
        case .disable, .enable:
            let disabled = command == .disable
            switch life {
            case .booting:
                guard var b = boot else { break }
                b.commanded = disabled
                b.memory?.operatorDisabledTakeover = disabled
                boot = b
                // Once the record is read the new generation is known: the setting is written with it.
                if let m = b.memory { persist(NodeRecord(generation: m.generation &+ 1, disabled: disabled)) }
                reportState()
            case .running where model.state != .stopped:
                feed(.operatorCommand(disabled ? .disableTakeover : .enableTakeover))
            default:
                break  // a node that is off or stopped takes no command but BOOT / REBOOT
            }
        case .giveback:
            // Step 222 releases the peer's disks first; the model hears GIVEBACK once they are released.
            guard case .running = life, case .takeover = model.phase, batch == nil else { break }
            startBatch(.giveback, op: Op.release, disks: model.peerDisks)
        case .stop:
            switch life {
            case .booting:
                life = .haltedAtBoot(generation: boot?.shownGeneration ?? 0, enabled: !(boot?.disabled ?? false))
                boot = nil
                halt()
                reportState()
            case .running where model.state != .stopped:
                feed(.operatorCommand(.stop))
            default:
                break
            }
        case .createVI, .enableRDMA, .post, .readMemory:
            return "not a failover-node command"
        }
        return nil
    }

    // MARK: Receiving

    private func receive(_ bytes: [UInt8], via channel: Channel) {
        switch life {
        case .booting:
            boot?.held.append((bytes, channel))
        case .running where model.state != .stopped:
            feed(.delivered(bytes, via: channel))
        default:
            break
        }
    }

    private func diskResult(tag: UInt16, status: UInt8, data: [UInt8]) {
        // An answer to a request of an earlier instantiation, or to nothing asked, is ignored.
        guard let req = pending.removeValue(forKey: tag) else { return }
        switch req {
        case .bootRead:
            bootRead(status: status, data: data)
        case .recordWrite:
            if status != 0, let record = lastRecord {
                write(record)  // written again, as failover.c does
            } else if status == 0, case .booting = life, boot?.memory != nil {
                completeBoot()
            }
        case .statusCopy, .release:
            break
        case .firstMailbox(let region):
            if status == 1 {
                refused(disk: DiskLayout.mailboxDisks[0])  // FO-CLAIM13-FENCED: the model decides; no second copy
            } else if case .running = life, model.state != .stopped {
                // FO-MAILBOX-TWO-DISKS: the second mailbox disk once the first has the region.
                request(.secondMailbox, op: Op.write, device: UInt8(DiskLayout.mailboxDisks[1]), block: Self.mailboxBlock + ownSlot,
                        data: region)
            }
        case .secondMailbox:
            if status == 1 { refused(disk: DiskLayout.mailboxDisks[1]) }
        case .poll(let channel):
            if status == 0 { receive(data, via: channel) }
        case .batchMember(let number):
            answered(batch: number, granted: status == 0)
        }
    }

    private func refused(disk: Int) {
        guard case .running = life, model.state != .stopped else { return }
        feed(.writeRefused(disk: disk))
    }

    // MARK: Reservations

    private func startBatch(_ purpose: Batch.Purpose, op: UInt8, disks: [Int]) {
        let valid = disks.filter { DiskLayout.all.contains($0) }
        batchCount += 1
        let b = Batch(number: batchCount, purpose: purpose, outstanding: valid.count)
        batch = b
        for disk in valid { request(.batchMember(b.number), op: op, device: UInt8(disk), block: 0, count: 0) }
        if valid.isEmpty { finish(b) }
    }

    private func answered(batch number: Int, granted: Bool) {
        // A superseded batch (the model went back to step 252 and asked again) no longer counts.
        guard var b = batch, b.number == number else { return }
        b.outstanding -= 1
        if !granted { b.refused = true }
        guard b.outstanding <= 0 else {
            batch = b
            return
        }
        finish(b)
    }

    private func finish(_ b: Batch) {
        batch = nil
        switch b.purpose {
        case .reboot:
            feed(.reservation(granted: !b.refused))
        case .takeover:
            // The model has no input for a refused takeover reservation: in its world (and the kit's,
            // FO-WORLD-RESERVATIONS) a reservation made in NORMAL preempts and is always granted.
            if b.refused {
                out.append(.error("a takeover reservation was refused; the model has no input for that (FO-WORLD-RESERVATIONS: it preempts)"))
            }
            reportState()
        case .giveback:
            guard case .running = life, case .takeover = model.phase else { return }
            releasedForGiveback = Set(model.peerDisks)
            feed(.operatorCommand(.giveback))
            releasedForGiveback = []
        }
    }

    // MARK: Devices

    /// FO-SEND-ALL-CHANNELS: one message, the same bytes in every copy, in failover.c's order.
    private func send(_ message: StatusMessage) {
        let bytes = message.encoded()
        out.append(.packet(port: 2, bytes: Carriage.encode(bytes, channel: .network, writer: node)))  // FO-NET-DATAGRAM
        let record = Carriage.encode(bytes, channel: .san, writer: node)
        request(.statusCopy, op: Op.write, device: Self.peerMemoryDevice, block: ownSlot, data: record)  // FO-SAN-PERSISTENT-MEMORY
        request(.statusCopy, op: Op.write, device: Self.recordDevice, block: ownSlot, data: record)  // FO-SAVE-OWN-STATE
        let region = Carriage.encode(bytes, channel: .mailbox, writer: node)
        request(.firstMailbox(region), op: Op.write, device: UInt8(DiskLayout.mailboxDisks[0]), block: Self.mailboxBlock + ownSlot,
                data: region)  // FO-MAILBOX-REGIONS
    }

    /// Writes the node record unless it holds this already (or is about to).
    private func persist(_ record: NodeRecord) {
        guard record != lastRecord else { return }
        write(record)
    }

    private func write(_ record: NodeRecord) {
        lastRecord = record
        request(.recordWrite, op: Op.write, device: Self.recordDevice, block: NodeRecord.slot, data: record.encoded)
    }

    private func request(_ req: Request, op: UInt8, device: UInt8, block: UInt32, count: UInt32 = 1, data: [UInt8] = []) {
        let tag = nextTag
        nextTag &+= 1
        pending[tag] = req
        out.append(.disk(tag: tag, op: op, device: device, block: block, count: count, data: data))
    }

    // MARK: STATE

    private var currentReport: Report? {
        switch life {
        case .off:
            return nil
        case .booting:
            return Report(state: 4, step: 1, generation: boot?.shownGeneration ?? 0, enabled: !(boot?.disabled ?? false))
        case .haltedAtBoot(let generation, let enabled):
            return Report(state: 3, step: 0, generation: generation, enabled: enabled)
        case .running:
            let state: UInt8, step: UInt8
            switch model.phase {
            case .normal, .takingOver: (state, step) = (1, 0)
            // Step 213's reservations not all granted yet: still NORMAL to the world.
            case .takeover, .givingBack: (state, step) = batch?.purpose == .takeover ? (1, 0) : (2, 0)
            case .stopped: (state, step) = (3, 0)
            case .rebooting(let s): (state, step) = (4, UInt8(s.rawValue - 250))
            }
            return Report(state: state, step: step, generation: model.generation, enabled: model.takeoverEnabled)
        }
    }

    private func reportState() {
        guard let r = currentReport, r != reported else { return }
        reported = r
        out.append(.event(.state(state: r.state, step: r.step, generation: r.generation, takeoverEnabled: r.enabled)))
    }
}

/// Reads an option's value; nil past the end.
private struct OptionReader {
    let bytes: [UInt8]
    var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func u8() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u64() -> UInt64? {
        guard bytes.count - offset >= 8 else { return nil }
        var v: UInt64 = 0
        for i in 0..<8 { v = v << 8 | UInt64(bytes[offset + i]) }
        offset += 8
        return v
    }

    var done: Bool { offset == bytes.count }
}
