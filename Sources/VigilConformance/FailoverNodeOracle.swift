import VigilAdapters
import VigilCore
import VigilFailover

/// The failover-node role (US 6,119,244): the kit plays the peer node (a scripted peer that sends status
/// messages with chosen state, generation and sequence on chosen channels), the four shared disks with
/// their reservations and mailbox regions, both persistent memories, the three channels with faults, the
/// operator and the clock. The IUT is node A (slot 0); the peer is node B.
///
/// Every output of the IUT is checked the moment it appears against what the patent allows given the
/// inputs so far: the oracle keeps the newness record the IUT must keep (FO-MSG-NEWNESS over the merged
/// stream), the per-channel silence it must measure, the generation it must use, and the state of the
/// takeover, giveback and reboot steps; required outputs that never come fail at their deadline. Where the
/// patent leaves the mechanics open (when a reboot step happens, whether the mailbox second write waits for
/// the first) the oracle follows the IUT; the choices it needs are those of `specs/adapter.md` §7.1.
///
/// Script notation (stimuli; `time`, `packet` and `disk-result` lines the kit writes into transcripts are
/// derived from these and are commentary when a transcript is replayed):
///
///     command boot|reboot|disable|enable|giveback|stop
///     peer beat state=normal|takeover|no-takeover|disable [recovering] [on=mailbox,san,network]
///     peer quiet                        the beat stops
///     peer send state=S [recovering] [gen=G] [seq=N | back=N] [version=V] [on=…]
///               [corrupt=crc|magic|state|flags|length|writer]
///     peer reboot                       the peer's next generation; its sequence starts again
///     peer reserve|release disks=0,1    the peer holds (or lets go of) disk reservations
///     channel cut|heal mailbox|san|network    the peer's messages stop (resume) reaching the IUT
///     channel drop CHANNEL [count=N]    the next N messages on it are lost
///     disk fence|unfence disks=N        writes to the disk end in a reservation conflict (claim 13)
///     memory node gen=G [disabled]      the IUT's node record (persistent memory slot 2) before a boot
///     memory own|peer state=S gen=G seq=N     the last status record of the IUT / the peer in its memory
///     time                              run until the line's time
///
/// `@run SECONDS` runs the case that long after its last line (default 1).
public struct FailoverNodeOracle: RoleOracle {
    public let role = Role.failoverNode
    /// `node`: which node of the pair the IUT is (node A in a conformance case; either in a race).
    public init(node: NodeID = .a) {
        iutNode = node
        ownDisks = Set(DiskLayout.own(node))
        peerDisks = Set(DiskLayout.own(node.peer))
    }

    public let iutNode: NodeID
    var peerNode: NodeID { iutNode.peer }
    var ownSlot: Int { Int(iutNode.rawValue) }
    var peerSlot: Int { Int(peerNode.rawValue) }
    let ownDisks: Set<Int>
    let peerDisks: Set<Int>
    static let nodeRecordSlot = Int(NodeRecord.slot)
    static let mailboxBlock: UInt32 = 8
    static let pmLatency = VirtualTime.microseconds(50)
    static let diskLatency = VirtualTime.milliseconds(2)
    static let netLatency = VirtualTime.milliseconds(2)

    let configuration = NodeConfiguration.reference
    var period: VirtualTime { configuration.statusPeriod }
    /// The slack the oracle gives a periodic duty before it counts as missing: two status periods.
    var grace: VirtualTime { VirtualTime(nanoseconds: 2 * period.nanoseconds) }

    public var helloOptions: [AdapterOption] {
        var node: [UInt8] = [iutNode.rawValue]
        node += Self.be(iutNode.systemID)
        var timers = Self.be(period.nanoseconds)
        for t in configuration.timeouts { timers += Self.be(t.nanoseconds) }
        timers.append(UInt8(configuration.silenceMultiple))
        timers += Self.be(configuration.takeoverWait.nanoseconds)
        return [AdapterOption(tag: 0x20, value: node), AdapterOption(tag: 0x21, value: timers)]
    }

    static func be<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
        (0..<MemoryLayout<T>.size).reversed().map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }
    }

    // MARK: The world the kit hosts

    /// When something is next due: a disk answer, a datagram, the peer's beat, the IUT's timer, or a
    /// deadline of the oracle's own.
    func nextDue() -> VirtualTime? {
        var candidates: [VirtualTime] = []
        if let r = requests.map(\.at).min() { candidates.append(max(r, now)) }
        if let d = datagrams.map(\.at).min() { candidates.append(max(d, now)) }
        if peer.beat != nil { candidates.append(max(peer.nextBeat, now)) }
        if let n = iutNext, n > now { candidates.append(n) }
        if let m = requirements().map(\.at).filter({ $0 > now }).min() { candidates.append(m) }
        return candidates.min()
    }

    /// The IUT's persistent memory (device 0xFE) and the peer's (0xFF), 64-byte slots.
    var ownPM = [[UInt8]](repeating: [UInt8](repeating: 0, count: 64), count: 8)
    var peerPM = [[UInt8]](repeating: [UInt8](repeating: 0, count: 64), count: 8)
    /// Disk blocks written so far (mailbox regions): disk → block → 512 bytes.
    var blocks: [Int: [UInt32: [UInt8]]] = [:]
    enum Holder { case iut, peer }
    var holder: [Int: Holder] = [:]
    /// Disks whose writes the kit refuses with a reservation conflict (claim 13).
    var fenced: Set<Int> = []

    struct Request {
        var at: VirtualTime
        var order: Int
        var tag: UInt16
        var op: UInt8
        var device: UInt8
        var block: UInt32
        var count: UInt32
        var data: [UInt8]
        /// A reservation made in NORMAL is a takeover reservation: it preempts the holder.
        var preempt: Bool
        /// The status message a mailbox write carries.
        var stamp: Stamp?
    }

    struct Datagram {
        var at: VirtualTime
        var order: Int
        var bytes: [UInt8]
    }

    var requests: [Request] = []
    var datagrams: [Datagram] = []
    var order = 0
    /// The first request of the current boot: a read the IUT asked for before a boot is still answered,
    /// but it is no delivery (the node's volatile memory, and with it the request, is gone; model choice,
    /// found by the failover fuzzer: corpus/regressions/failover-node/fo-read-across-reboot.vgl).
    var bootOrder = 0

    /// The scripted peer: its stream of messages and its periodic beat (node B ticks half a period late).
    struct Peer {
        var generation: UInt32 = 1
        var sequence: UInt64 = 0
        var beat: (state: StateIndicator, flags: StatusFlags, on: [Channel])? = nil
        var nextBeat = VirtualTime.zero
        var echo = Stamp.zero
    }

    var peer = Peer()
    /// Channels cut toward the IUT, and messages to drop per channel.
    var cut: Set<Channel> = []
    var drops: [Channel: Int] = [:]

    // MARK: What the IUT must know (reset at every boot: volatile memory is lost)

    struct Knowledge {
        /// FO-MSG-NEWNESS over the merged stream.
        var recent: Stamp? = nil
        /// FO-CHANNEL-UPDATE: the newest message per channel and when it came.
        var channelNewest: [Stamp?] = [nil, nil, nil]
        var channelUpdated: [VirtualTime]
        var peerState: StateIndicator? = nil
        var peerDisabled = false
        var versionMismatch = false
        var heard = false
        /// What two wrong receivers would hold, to name the rule an IUT's echo breaks: newness comparing
        /// the sequence first, and newness applied per channel.
        var seqFirstRecent: Stamp? = nil
        var perChannelRecent: Stamp? = nil
        var delivered: Set<Stamp> = []

        init(at t: VirtualTime) { channelUpdated = [t, t, t] }
    }

    var know = Knowledge(at: .zero)
    var corruptStamps: Set<Stamp> = []

    /// What the stimulus being answered delivered, for naming the rule of an effect it should not have had.
    struct DeliveryNote {
        var corrupt: Bool
        var mergedNew: Bool
        var channelNew: Bool
    }

    var lastDelivery: DeliveryNote? = nil

    // MARK: What the IUT did

    struct Report: Equatable {
        var state: UInt8
        var step: UInt8
        var generation: UInt32
        var enabled: Bool
    }

    static let sNormal: UInt8 = 1, sTakeover: UInt8 = 2, sStopped: UInt8 = 3, sRebooting: UInt8 = 4

    var reported: Report? = nil
    var booted = false
    var bootPending = false
    var bootAt = VirtualTime.zero
    var expectedGeneration: UInt32 = 0
    var prevOwnState: StateIndicator? = nil
    var opDisabled = false
    /// The operator's last DISABLE / ENABLE to the running node, and when this boot's node record (with the
    /// new generation) was first in persistent memory: from then on the setting must be kept there too.
    var opCommandAt: VirtualTime? = nil
    var recordPersistedAt: VirtualTime? = nil
    var stopCommanded = false
    var normalSince: VirtualTime? = nil

    enum Copy: Hashable, CustomStringConvertible {
        case network, peerPM, ownPM, mailbox0, mailbox2
        var description: String {
            switch self {
            case .network: "network (PACKET port 2)"
            case .peerPM: "SAN (the peer's persistent memory, 0xFF)"
            case .ownPM: "own persistent memory (0xFE)"
            case .mailbox0: "first mailbox disk (0)"
            case .mailbox2: "second mailbox disk (2)"
            }
        }
    }

    struct Sent {
        var message: [UInt8]
        var at: VirtualTime
        var copies: Set<Copy>
        var mailbox0Refused = false
        var exempt = false
    }

    var sent: [Stamp: Sent] = [:]
    var lastStamp: Stamp? = nil
    var lastSendAt: VirtualTime? = nil

    // Takeover (212, step 213).
    var announceAt: VirtualTime? = nil
    var peerNewSinceAnnounce = false
    var takeoverRequested: Set<Int> = []
    var takeoverGranted: Set<Int> = []
    var grantedAt: VirtualTime? = nil
    // Reboot steps.
    var bootReserved: Set<Int> = []
    var bootRefused = false
    /// The first request of the current attempt at steps 252-255 (reset when the node reports 251 or 252).
    var attemptOrder = 0
    var chosen: UInt8? = nil
    // Giveback (221, step 222).
    var givebackAt: VirtualTime? = nil
    var releaseRequested: Set<Int> = []
    var releaseDone: Set<Int> = []
    var releasedAt: VirtualTime? = nil
    var givebackNormalSent = false
    var peerNormalAt: VirtualTime? = nil
    // Claims 13-14: the IUT must stop writing.
    var mustStop: (rule: FailoverRule, since: VirtualTime)? = nil
    var enabledMismatchSince: VirtualTime? = nil
    /// Since when takeover has been enabled (the silence deadline counts from then too).
    var enabledSince: VirtualTime? = .zero

    var iutNext: VirtualTime? = nil
    var now = VirtualTime.zero
    var currentLine = Script.Line(time: .zero, direction: .stimulus, verb: "time", argument: "")

    // MARK: Driving a case

    public mutating func drive(_ script: Script, _ io: inout CaseIO) throws(AdapterFailure) -> Verdict {
        for line in script.lines where line.direction == .stimulus {
            currentLine = line
            if let v = try settle(until: line.time, &io) { return v }
            currentLine = line
            let args = Arguments(Substring(line.argument))
            let first = args.words.first ?? ""
            do {
                switch line.verb {
                case "command":
                    guard let c = Self.commands[first] else {
                        throw CaseError(line: line.lineNumber, "commands are boot, reboot, disable, enable, giveback and stop")
                    }
                    if let v = try command(c, line: line, &io) { return v }
                case "peer":
                    try peerAction(first, args, line: line.lineNumber)
                    io.record(line)
                case "channel":
                    try channelAction(first, args, line: line.lineNumber)
                    io.record(line)
                case "disk":
                    try diskAction(first, args, line: line.lineNumber)
                    io.record(line)
                case "memory":
                    // Persistent memory is the node's own while it runs: the kit sets it up only before a boot.
                    guard !bootPending, reported == nil || reported?.state == Self.sStopped else {
                        throw CaseError(line: line.lineNumber, "memory lines set up persistent memory before a boot (the IUT is running)")
                    }
                    try memoryAction(first, args, line: line.lineNumber)
                    io.record(line)
                case "time", "packet", "disk-result":
                    // The kit derives these from the case; in a transcript they are commentary.
                    break
                default:
                    throw CaseError(line: line.lineNumber,
                                    "failover-node lines are: command, peer, channel, disk, memory, time")
                }
            } catch let error as CaseError {
                return .error(CaseIO.scriptError(error))
            } catch let error as AdapterFailure {
                throw error
            } catch {
                return .error(CaseIO.scriptError(CaseError(line: line.lineNumber, "\(error)")))
            }
        }
        let last = script.lines.last ?? currentLine
        let run = script[header: "run"].flatMap(Double.init) ?? 1.0
        let end = VirtualTime(nanoseconds: last.time.nanoseconds + UInt64(min(max(0, run), 3600) * 1e9))
        currentLine = last
        if let v = try settle(until: end, &io) { return v }
        return .pass
    }

    /// An operator command to the IUT, now.
    mutating func command(_ command: AdapterCommand, line: Script.Line, _ io: inout CaseIO) throws(AdapterFailure) -> Verdict? {
        currentLine = line
        operatorCommand(command)
        lastDelivery = nil
        return try react(try io.stimulate(.command(command), line: line), &io)
    }

    static let commands: [String: AdapterCommand] = [
        "boot": .boot, "reboot": .reboot, "disable": .disable, "enable": .enable, "giveback": .giveback, "stop": .stop,
    ]

    /// Runs time forward to `limit`: the IUT's timers, the peer's beats, disk answers and datagrams, and
    /// the oracle's own deadlines, in order. At one instant TIME goes first, then what is due, in the order
    /// it was scheduled.
    mutating func settle(until limit: VirtualTime, _ io: inout CaseIO) throws(AdapterFailure) -> Verdict? {
        while true {
            guard let t = nextDue(), t <= limit else { break }
            if t > now {
                now = t
                if let v = try tick(&io) { return v }
            }
            if peer.beat != nil, peer.nextBeat <= now {
                beat()
                continue
            }
            let dueRequests = requests.filter { $0.at <= now }
            let dueDatagrams = datagrams.filter { $0.at <= now }
            requests.removeAll { $0.at <= now }
            datagrams.removeAll { $0.at <= now }
            var due: [(Int, Request?, Datagram?)] = dueRequests.map { ($0.order, $0, nil) } + dueDatagrams.map { ($0.order, nil, $0) }
            due.sort { $0.0 < $1.0 }
            for (_, request, datagram) in due {
                if let request {
                    if let v = try answer(request, &io) { return v }
                } else if let datagram {
                    lastDelivery = nil
                    deliver(datagram.bytes, via: .network)
                    // The transcript's description of the datagram is written only when a transcript is kept.
                    let line = Script.Line(time: now, direction: .stimulus, verb: "packet",
                                           argument: io.recording ? "port=2 " + Self.describe(datagram.bytes, .network) : "port=2",
                                           lineNumber: currentLine.lineNumber)
                    if let v = try react(try io.stimulate(.packet(port: 2, bytes: datagram.bytes), line: line), &io) { return v }
                }
            }
            if let v = checkDeadlines() { return v }
        }
        if now < limit {
            now = limit
            if let v = try tick(&io) { return v }
            if let v = checkDeadlines() { return v }
        }
        return nil
    }

    mutating func tick(_ io: inout CaseIO) throws(AdapterFailure) -> Verdict? {
        lastDelivery = nil
        let line = Script.Line(time: now, direction: .stimulus, verb: "time", argument: "", lineNumber: currentLine.lineNumber)
        return try react(try io.stimulate(.time(now), line: line), &io)
    }

    // MARK: The operator

    mutating func operatorCommand(_ command: AdapterCommand) {
        let running = booted && reported.map { $0.state != Self.sStopped } ?? false
        switch command {
        case .boot, .reboot:
            beginBoot()
        case .disable, .enable:
            // FO-DISABLE-OPERATOR: a running node takes the command (refnode: a stopped one ignores it).
            if running {
                opDisabled = command == .disable
                opCommandAt = now
            }
        case .giveback:
            if reported?.state == Self.sTakeover, givebackAt == nil {
                givebackAt = now
                releaseRequested = []
                releaseDone = []
                releasedAt = nil
                givebackNormalSent = false
                peerNormalAt = nil
            }
        case .stop:
            if booted {
                stopCommanded = true
                exemptOutstanding()
            }
        default:
            break
        }
    }

    mutating func beginBoot() {
        booted = true
        bootPending = true
        bootAt = now
        bootOrder = order
        attemptOrder = order
        // What the node finds in its persistent memory after the boot: the device completes the writes the
        // node requested before the boot, in order, before any read the node asks for after it (model
        // choice, specs/adapter.md §7.1; found by the failover fuzzer: a DISABLE written at step 254 or 257
        // and a BOOT at the same instant, corpus/regressions/failover-node/fo-disable-then-boot-*.vgl).
        // Persistent memory keeps state "across possible service interruptions" (US 6,119,244, System
        // Elements), and step 257 looks there for an operator command preventing takeover: a setting the node had
        // written survives the reboot; one it had not written yet is lost with its volatile memory.
        let memory = pendingOwnPM()
        // FO-GEN-PERSISTED / FO-GEN-INCREMENT-AT-BOOT: the generation kept in persistent memory, plus one.
        let record = Self.nodeRecord(memory[Self.nodeRecordSlot])
        expectedGeneration = (record?.generation ?? 0) &+ 1
        opDisabled = record?.disabled ?? false
        opCommandAt = nil
        recordPersistedAt = nil
        // FO-SEQ-INCREMENT orders the messages of one instantiation; across a boot the new generation makes
        // them newer (FO-GEN-INCREMENT-AT-BOOT, judged against the record the node reads). A script that
        // rewound the node record while the node was stopped (`memory node gen=G`, G below a generation
        // already used) makes the node reuse stamps by the patent's own rule: the previous instantiation's
        // stamps are then forgotten, not held against it (found by the failover fuzzer, seed 4:
        // corpus/regressions/failover-node/fo-node-record-rewound.vgl).
        if let last = lastStamp, last.generation >= expectedGeneration {
            lastStamp = nil
            sent = sent.filter { $0.key.generation < expectedGeneration }
        }
        // FO-SAVE-OWN-STATE: the state the node recorded before the interruption, read back at step 253.
        prevOwnState = (try? Carriage(decoding: memory[ownSlot], channel: .san)).flatMap {
            $0.writer == iutNode ? $0.message.state : nil
        }
        know = Knowledge(at: now)
        lastDelivery = nil
        stopCommanded = false
        normalSince = nil
        exemptOutstanding()
        lastSendAt = nil
        announceAt = nil
        peerNewSinceAnnounce = false
        takeoverRequested = []
        takeoverGranted = []
        grantedAt = nil
        bootReserved = []
        bootRefused = false
        chosen = nil
        givebackAt = nil
        releasedAt = nil
        peerNormalAt = nil
        mustStop = nil
        enabledMismatchSince = nil
        enabledSince = now
    }

    /// The node's persistent memory (0xFE) once every write it has requested and the kit has not yet
    /// answered has completed.
    func pendingOwnPM() -> [[UInt8]] {
        var memory = ownPM
        for r in requests.sorted(by: { $0.order < $1.order }) where r.op == 3 && r.device == 0xFE && Int(r.block) < 8 {
            memory[Int(r.block)] = Self.slotBytes(r.data)
        }
        return memory
    }

    /// What a write of `data` leaves in one 64-byte persistent-memory slot.
    static func slotBytes(_ data: [UInt8]) -> [UInt8] {
        Array(data.prefix(64)) + [UInt8](repeating: 0, count: max(0, 64 - data.count))
    }

    mutating func exemptOutstanding() {
        for k in sent.keys { sent[k]?.exempt = true }
    }

    var expectedEnabled: Bool { !opDisabled && !know.peerDisabled && !know.versionMismatch }

    // MARK: Racing: the peer is another IUT (vigil race)

    /// What this node's IUT put where the other node of a race can see it: a status datagram, its SAN
    /// record landed in the peer's persistent memory, its region landed on a mailbox disk, a reservation
    /// granted or released.
    public enum Relay: Sendable, Hashable {
        case network([UInt8])
        case san([UInt8])
        case region(disk: Int, [UInt8])
        case reserved(Int)
        case released(Int)

        public var channel: Channel? {
            switch self {
            case .network: .network
            case .san: .san
            case .region: .mailbox
            case .reserved, .released: nil
            }
        }
    }

    /// On in a race: what the IUT makes visible is collected in `outbox` for the other node.
    public var relaying = false
    public var outbox: [Relay] = []

    /// The other node's relay reaches this one at `at` (no earlier than this oracle's clock): a datagram
    /// is delivered then, a SAN record or a mailbox region is in place from then, a reservation holds.
    mutating func receive(_ relay: Relay, at: VirtualTime) {
        switch relay {
        case .network(let bytes):
            datagrams.append(Datagram(at: max(at, now), order: order, bytes: bytes))
            order += 1
        case .san(let bytes):
            ownPM[peerSlot] = bytes
        case .region(let disk, let bytes):
            blocks[disk, default: [:]][Self.mailboxBlock + UInt32(peerSlot)] = bytes
        case .reserved(let disk):
            holder[disk] = .peer
        case .released(let disk):
            if holder[disk] == .peer { holder[disk] = nil }
        }
    }

    /// The FIG. 2 state the IUT last reported (nil before its first STATE event).
    var reportedState: NodeState? {
        switch reported?.state {
        case Self.sNormal: .normal
        case Self.sTakeover: .takeover
        case Self.sStopped: .stopped
        case Self.sRebooting: .rebooting
        default: nil
        }
    }

    /// Whether the IUT last reported takeover enabled.
    var reportedEnabled: Bool { reported?.enabled ?? false }

    /// The last STATE the IUT reported, as the race report shows it.
    var stateSummary: String {
        guard let r = reported else { return "(not reported)" }
        return Self.stateName(r.state).uppercased() + (r.step == 0 ? "" : " \(250 + Int(r.step))") + " gen=\(r.generation)" + (r.enabled ? "" : " takeover-disabled")
    }

    /// The disks this node serves by what it reported: its own in NORMAL; in TAKEOVER its own and those
    /// of the peer whose reservation it holds (a giveback under way has released them).
    var servedDisks: Set<Int> {
        switch reportedState {
        case .normal: ownDisks
        case .takeover: ownDisks.union(peerDisks.filter { holder[$0] == .iut })
        default: []
        }
    }

    // MARK: The peer, the channels, the disks, the memories

    mutating func peerAction(_ action: String, _ args: Arguments, line: Int) throws(CaseError) {
        switch action {
        case "beat":
            let (state, flags) = try Self.stateArgument(args, line: line)
            peer.beat = (state, flags, try Self.channels(args, line: line))
            // Node B's ticks: half a period after node A's.
            let half = period.nanoseconds / 2
            let t = now.nanoseconds
            let k = t <= half ? 0 : (t - half + period.nanoseconds - 1) / period.nanoseconds
            peer.nextBeat = VirtualTime(nanoseconds: half + k * period.nanoseconds)
        case "quiet":
            peer.beat = nil
        case "send":
            let (state, flags) = try Self.stateArgument(args, line: line)
            let generation: UInt32 = args.values["gen"] == nil ? peer.generation : try args.number("gen", line: line)
            let sequence: UInt64
            if args.values["seq"] != nil {
                sequence = try args.number("seq", line: line)
            } else if args.values["back"] != nil {
                // back=N: the sequence N before the peer's last (back=0 repeats the last message's stamp).
                let back: UInt64 = try args.number("back", line: line)
                sequence = peer.sequence >= back ? peer.sequence - back : 0
            } else {
                sequence = peer.sequence + 1
            }
            if generation == peer.generation { peer.sequence = max(peer.sequence, sequence) }
            let version: UInt8 = args.values["version"] == nil ? StatusMessage.currentVersion : try args.number("version", line: line)
            let message = StatusMessage(version: version, systemID: peerNode.systemID, state: state, flags: flags,
                                        generation: generation, sequence: sequence, peerGeneration: peer.echo.generation,
                                        peerSequence: peer.echo.sequence)
            var bytes = message.encoded()
            var writerSlot: UInt8? = nil
            // Each kind of damage is one field of the frame set wrong; the stamp is remembered as corrupt.
            func damage(_ edit: (inout StatusFrame) -> Void) {
                var f = message.frame
                edit(&f)
                bytes = f.bytes()
            }
            switch args.values["corrupt"] {
            case nil: break
            case "crc": damage { $0.check = CRC32C.checksum(Array(bytes.prefix(40))) ^ 0xDEAD_BEEF }
            case "magic": damage { $0.magic = 0x5647 }
            case "state": damage { $0.stateCode = 9 }
            case "flags": damage { $0.flags = 0x8000 }
            case "length": damage { $0.length = 40 }
            case "writer": writerSlot = iutNode.rawValue
            default:
                throw CaseError(line: line, "corrupt= is crc, magic, state, flags, length or writer")
            }
            if args.values["corrupt"] != nil { corruptStamps.insert(message.stamp) }
            for channel in try Self.channels(args, line: line) {
                place(Carriage.encode(bytes, channel: channel, writer: peerNode, writerSlot: writerSlot), on: channel)
            }
        case "reboot":
            // The peer's next instantiation: a new generation, the sequence starts again.
            peer.generation &+= 1
            peer.sequence = 0
        case "reserve", "release":
            for d in try Self.disks(args, line: line) {
                if action == "reserve" {
                    holder[d] = .peer
                } else if holder[d] == .peer {
                    holder[d] = nil
                }
            }
        default:
            throw CaseError(line: line, "peer actions are beat, quiet, send, reboot, reserve and release")
        }
    }

    /// The peer's periodic status (its tick), on the beat's channels.
    mutating func beat() {
        guard let b = peer.beat else { return }
        peer.sequence += 1
        let message = StatusMessage(systemID: peerNode.systemID, state: b.state, flags: b.flags, generation: peer.generation,
                                    sequence: peer.sequence, peerGeneration: peer.echo.generation, peerSequence: peer.echo.sequence)
        for channel in b.on { place(Carriage(channel: channel, writer: peerNode, message: message).encoded(), on: channel) }
        peer.nextBeat = peer.nextBeat + period
    }

    /// Puts a carrier where the IUT reads it: a datagram on its way, the peer's SAN record in the IUT's
    /// persistent memory, the peer's region on both mailbox disks.
    mutating func place(_ carrier: [UInt8], on channel: Channel) {
        if cut.contains(channel) { return }
        if let n = drops[channel], n > 0 {
            drops[channel] = n - 1
            return
        }
        switch channel {
        case .network:
            datagrams.append(Datagram(at: now + Self.netLatency, order: order, bytes: carrier))
            order += 1
        case .san:
            ownPM[peerSlot] = carrier
        case .mailbox:
            for disk in DiskLayout.mailboxDisks { blocks[disk, default: [:]][Self.mailboxBlock + UInt32(peerSlot)] = carrier }
        }
    }

    mutating func channelAction(_ action: String, _ args: Arguments, line: Int) throws(CaseError) {
        guard let name = args.words.dropFirst().first, let channel = Channel.allCases.first(where: { $0.description == name }) else {
            throw CaseError(line: line, "channel \(action) needs mailbox, san or network")
        }
        switch action {
        case "cut": cut.insert(channel)
        case "heal": cut.remove(channel)
        case "drop": drops[channel, default: 0] += args.values["count"] == nil ? 1 : try args.number("count", line: line) as Int
        default: throw CaseError(line: line, "channel actions are cut, heal and drop")
        }
    }

    mutating func diskAction(_ action: String, _ args: Arguments, line: Int) throws(CaseError) {
        let disks = try Self.disks(args, line: line)
        switch action {
        case "fence": fenced.formUnion(disks)
        case "unfence": fenced.subtract(disks)
        default: throw CaseError(line: line, "disk actions are fence and unfence")
        }
    }

    /// Prepares the IUT's persistent memory before a boot: its node record (slot 2), its own last status
    /// record, or the record the peer left there.
    mutating func memoryAction(_ what: String, _ args: Arguments, line: Int) throws(CaseError) {
        switch what {
        case "node":
            let generation: UInt32 = try args.number("gen", line: line)
            ownPM[Self.nodeRecordSlot] = NodeRecord(generation: generation, disabled: args.words.contains("disabled")).encoded
        case "own", "peer":
            let (state, flags) = try Self.stateArgument(args, line: line)
            let node = what == "own" ? iutNode : peerNode
            let message = StatusMessage(systemID: node.systemID, state: state, flags: flags, generation: try args.number("gen", line: line),
                                        sequence: try args.number("seq", line: line))
            ownPM[Int(node.rawValue)] = Carriage(channel: .san, writer: node, message: message).encoded()
        default:
            throw CaseError(line: line, "memory items are node, own and peer")
        }
    }

    static func stateArgument(_ args: Arguments, line: Int) throws(CaseError) -> (StateIndicator, StatusFlags) {
        let names: [String: StateIndicator] = ["normal": .normal, "takeover": .takeover, "no-takeover": .noTakeover, "disable": .disable]
        guard let s = args.values["state"], let state = names[s] else {
            throw CaseError(line: line, "state= is normal, takeover, no-takeover or disable")
        }
        return (state, args.words.contains("recovering") ? .recovering : [])
    }

    static func channels(_ args: Arguments, line: Int) throws(CaseError) -> [Channel] {
        guard let list = args.values["on"] else { return Channel.allCases }
        var out: [Channel] = []
        for name in list.split(separator: ",") {
            guard let c = Channel.allCases.first(where: { $0.description == name }) else {
                throw CaseError(line: line, "on= lists mailbox, san, network")
            }
            out.append(c)
        }
        return out
    }

    static func disks(_ args: Arguments, line: Int) throws(CaseError) -> [Int] {
        guard let list = args.values["disks"] ?? args.values["disk"] else { throw CaseError(line: line, "disks= is missing") }
        var out: [Int] = []
        for d in list.split(separator: ",") {
            guard let n = Int(d), (0..<DiskLayout.diskCount).contains(n) else { throw CaseError(line: line, "disks are 0-3") }
            out.append(n)
        }
        return out
    }

    /// The node record in persistent memory slot 2, when valid (`NodeRecord`).
    static func nodeRecord(_ r: [UInt8]) -> NodeRecord? { NodeRecord(decoding: r) }

    // MARK: Deliveries: what the IUT learns, by the rules it must follow

    /// A carrier reaches the IUT on `channel`: the oracle applies the newness rule as the IUT must.
    mutating func deliver(_ bytes: [UInt8], via channel: Channel) {
        guard let carriage = try? Carriage(decoding: bytes, channel: channel) else {
            if bytes.count >= 52, bytes[5] == peerNode.rawValue || bytes[5] == iutNode.rawValue {
                let stamp = Self.rawStamp(bytes, at: 8)
                if corruptStamps.contains(stamp) {
                    lastDelivery = DeliveryNote(corrupt: true, mergedNew: false, channelNew: false)
                    coverage.insert("message:corrupt:\(channel)")
                }
            }
            return
        }
        guard carriage.writer == peerNode, carriage.message.systemID == peerNode.systemID else { return }
        let m = carriage.message, s = m.stamp, c = Int(channel.rawValue)
        know.delivered.insert(s)
        let channelNew = know.channelNewest[c].map { s.isNew(after: $0) } ?? true
        if channelNew {
            know.channelNewest[c] = s
            know.channelUpdated[c] = now
            know.perChannelRecent = s
        }
        if know.seqFirstRecent.map({ s.isNew(after: $0, order: .sequenceThenGeneration) }) ?? true { know.seqFirstRecent = s }
        let mergedNew = know.recent.map { s.isNew(after: $0) } ?? true
        lastDelivery = DeliveryNote(corrupt: false, mergedNew: mergedNew, channelNew: channelNew)
        coverage.insert(mergedNew ? "message:new:\(channel)" : channelNew ? "message:new-on-channel-only:\(channel)" : "message:stale:\(channel)")
        guard mergedNew else { return }
        know.recent = s
        know.heard = true
        if m.version != StatusMessage.currentVersion {
            // FO-DISABLE-VERSION-MISMATCH (col. 6 ll. 36-40): a compatibility mismatch disables takeover. The
            // state indicator of a message in another protocol version is not interpreted (model choice,
            // found by the failover fuzzer: corpus/regressions/failover-node/fo-version-mismatch-takeover.vgl).
            know.versionMismatch = true
            return
        }
        know.peerState = m.state
        know.versionMismatch = false
        know.peerDisabled = m.state == .disable || m.state == .noTakeover  // FO-DISABLE-PEER-MESSAGE
        if announceAt != nil { peerNewSinceAnnounce = true }  // FO-213-PASSIVE
        let state = reported?.state
        let holding = givebackAt != nil
        if m.state == .takeover, state == Self.sNormal || (state == Self.sTakeover && !holding), mustStop == nil {
            // Claims 13-14: the node learning of the peer's takeover stops writing at once.
            mustStop = (.claim14StopWriting, now)
        }
        if holding, givebackNormalSent, m.state == .normal, peerNormalAt == nil { peerNormalAt = now }
    }

    static func rawStamp(_ b: [UInt8], at o: Int) -> Stamp {
        var g: UInt32 = 0, s: UInt64 = 0
        for i in 0..<4 { g = g << 8 | UInt32(b[o + 16 + i]) }
        for i in 0..<8 { s = s << 8 | UInt64(b[o + 20 + i]) }
        return Stamp(generation: g, sequence: s)
    }

    // MARK: Disk answers

    mutating func answer(_ r: Request, _ io: inout CaseIO) throws(AdapterFailure) -> Verdict? {
        lastDelivery = nil
        var status: UInt8 = 0
        var data: [UInt8] = []
        var note = ""
        let isPM = r.device == 0xFE || r.device == 0xFF
        switch r.op {
        case 1:  // reserve
            if holder[r.device.asDisk] == .peer && !r.preempt {
                status = 1  // FO-WORLD-RESERVATIONS: a boot reservation is refused while the peer holds the disk
                // Only a reservation of the current attempt at steps 253-255 sends the node back to 252: one
                // asked before the node went back to 252 (or before the boot) belongs to an attempt already
                // given up (found by the failover fuzzer, seed 2:
                // corpus/regressions/failover-node/fo-refusal-of-abandoned-attempt.vgl).
                if reported?.state == Self.sRebooting, r.order >= attemptOrder { bootRefused = true }
            } else {
                holder[r.device.asDisk] = .iut
                if relaying { outbox.append(.reserved(r.device.asDisk)) }
                if takeoverRequested.contains(r.device.asDisk) {
                    takeoverGranted.insert(r.device.asDisk)
                    if takeoverGranted.isSuperset(of: peerDisks), grantedAt == nil { grantedAt = now }
                }
            }
        case 2:  // release
            if holder[r.device.asDisk] == .iut {
                holder[r.device.asDisk] = nil
                if relaying { outbox.append(.released(r.device.asDisk)) }
            }
            if givebackAt != nil, releaseRequested.contains(r.device.asDisk) {
                releaseDone.insert(r.device.asDisk)
                if releaseDone.isSuperset(of: peerDisks), releasedAt == nil { releasedAt = now }
            }
        case 3:  // write
            if isPM {
                let slot = Int(r.block)
                if slot < 8 {
                    let bytes = Self.slotBytes(r.data)
                    if r.device == 0xFE { ownPM[slot] = bytes } else { peerPM[slot] = bytes }
                    if relaying, r.device == 0xFF, slot == ownSlot { outbox.append(.san(bytes)) }
                    if r.device == 0xFE, slot == Self.nodeRecordSlot, r.order >= bootOrder, recordPersistedAt == nil,
                        Self.nodeRecord(bytes)?.generation == expectedGeneration
                    {
                        recordPersistedAt = now
                    }
                }
            } else if fenced.contains(Int(r.device)) {
                status = 1  // claim 13: the peer holds the reservation
                if let stamp = r.stamp, r.device == 0 { sent[stamp]?.mailbox0Refused = true }
                let state = reported?.state
                if state == Self.sNormal || state == Self.sTakeover, mustStop == nil {
                    mustStop = (.claim13Fenced, now)
                    exemptOutstanding()
                }
            } else {
                // A count the data does not back is the IUT's business; the kit stores at most 16 blocks.
                for i in 0..<min(Int(r.count), 16) {
                    let chunk = Array(r.data.dropFirst(i * 512).prefix(512))
                    blocks[Int(r.device), default: [:]][r.block &+ UInt32(i)] = chunk + [UInt8](repeating: 0, count: 512 - chunk.count)
                    if relaying, DiskLayout.mailboxDisks.contains(Int(r.device)), r.block &+ UInt32(i) == Self.mailboxBlock + UInt32(ownSlot) {
                        outbox.append(.region(disk: Int(r.device), chunk + [UInt8](repeating: 0, count: 512 - chunk.count)))
                    }
                }
            }
        case 4:  // read
            if r.device == 0xFF {
                status = 2  // the peer's persistent memory is written over the SAN, never read
            } else if r.device == 0xFE {
                for i in 0..<Int(min(r.count, 8)) {
                    let slot = Int(r.block) + i
                    guard slot < 8 else { break }
                    data += ownPM[slot]
                    if slot == peerSlot, r.order >= bootOrder {
                        deliver(ownPM[slot], via: .san)
                        if io.recording { note = " " + Self.describe(ownPM[slot], .san) }
                    }
                }
            } else {
                for i in 0..<Int(min(r.count, 16)) {
                    let block = r.block &+ UInt32(i)
                    let bytes = blocks[Int(r.device)]?[block] ?? [UInt8](repeating: 0, count: 512)
                    data += bytes
                    if block == Self.mailboxBlock + UInt32(peerSlot), DiskLayout.mailboxDisks.contains(Int(r.device)), r.order >= bootOrder {
                        deliver(bytes, via: .mailbox)
                        if io.recording { note = " " + Self.describe(bytes, .mailbox) }
                    }
                }
            }
        default:
            status = 2
        }
        let line = Script.Line(time: now, direction: .stimulus, verb: "disk-result", argument: "tag=\(r.tag) status=\(status)" + note,
                               lineNumber: currentLine.lineNumber)
        return try react(try io.stimulate(.diskResult(tag: r.tag, status: status, data: data), line: line), &io)
    }

    // MARK: Checking the IUT's reaction

    mutating func react(_ reaction: Reaction, _ io: inout CaseIO) throws(AdapterFailure) -> Verdict? {
        iutNext = reaction.next
        for f in reaction.frames {
            switch f {
            case .packet(let port, let bytes):
                io.record(observation("packet", "port=\(port) " + Self.describe(bytes, .network)))
                if port != 2 {
                    return fail(.networkDatagram, expected: "status datagrams on port 2 (the network channel)", observed: "a packet on port \(port)")
                }
                if let v = observeStatus(bytes, .network, copy: .network) { return v }
                if relaying { outbox.append(.network(bytes)) }
            case .disk(let tag, let op, let device, let block, let count, let data):
                io.record(observation("disk", "tag=\(tag) " + Self.describeDisk(op: op, device: device, block: block, count: count, data: data)))
                if let v = observeDisk(tag: tag, op: op, device: device, block: block, count: count, data: data) { return v }
            case .event(.state(let state, let step, let generation, let enabled)):
                io.record(observation("event", "state \(Self.stateName(state)) step=\(step == 0 ? 0 : 250 + Int(step)) gen=\(generation) enabled=\(enabled ? 1 : 0)"))
                if let v = observeState(Report(state: state, step: step, generation: generation, enabled: enabled)) { return v }
            case .event(let other):
                io.record(observation("event", "\(other)"))
                return fail(.msgFields, expected: "STATE events only (failover-node)", observed: "\(other)")
            case .error(let why):
                return .notApplicable("the IUT refused line \(currentLine.lineNumber): \(why)")
            default:
                return fail(.msgFields, expected: "PACKET, DISK and STATE frames", observed: f.name)
            }
        }
        // FO-DISABLE-*: the STATE event says whether takeover is enabled; a mismatch is judged at the next
        // status message (whose echo shows whether the IUT took the message as new) or two periods later.
        if let r = reported, r.state == Self.sNormal || r.state == Self.sTakeover, r.enabled != expectedEnabled {
            if enabledMismatchSince == nil { enabledMismatchSince = now }
        } else {
            enabledMismatchSince = nil
        }
        if expectedEnabled {
            if enabledSince == nil { enabledSince = now }
        } else {
            enabledSince = nil
        }
        return nil
    }

    func observation(_ verb: String, _ argument: String) -> Script.Line {
        Script.Line(time: now, direction: .observation, verb: verb, argument: argument)
    }

    func fail(_ rule: FailoverRule, expected: String, observed: String) -> Verdict {
        .fail(Divergence(rule: rule.rule, step: currentLine.lineNumber, time: now, expected: expected, observed: observed))
    }

    /// The rule an effect of the stimulus being answered breaks, when that stimulus was a message the IUT
    /// should have ignored: corrupted (FO-WIRE-INTEGRITY), or not new on the merged stream.
    /// What the case exercised: FIG. 2 states, reboot steps and transitions the IUT reported, and how
    /// each peer message it was given stood (new, new on its channel only, stale, corrupt) per channel.
    public private(set) var coverage: Set<String> = []

    func stimulusRule() -> FailoverRule? {
        guard let d = lastDelivery else { return nil }
        if d.corrupt { return .wireIntegrity }
        if !d.mergedNew { return d.channelNew ? .msgMergedStream : .msgNewness }
        return nil
    }

    // MARK: STATE events

    mutating func observeState(_ r: Report) -> Verdict? {
        let prev = reported
        let stepNumber = r.step == 0 ? 0 : 250 + Int(r.step)
        let seen = "\(Self.stateName(r.state)) step \(stepNumber) generation \(r.generation)"
        guard (1...4).contains(r.state), r.state == Self.sRebooting ? (1...8).contains(r.step) : r.step == 0 else {
            return fail(.msgFields, expected: "a STATE event of specs/adapter.md §7", observed: seen)
        }
        if r.state == Self.sRebooting, r.step == 1, prev?.state != Self.sRebooting || prev?.step != 1 {
            // T231 / power on: only on the operator's command.
            guard bootPending else {
                return fail(stimulusRule() ?? .t231Reboot, expected: "REBOOTING only after BOOT or REBOOT", observed: seen)
            }
        }
        if r.state == Self.sRebooting { bootPending = false }
        // FO-GEN-INCREMENT-AT-BOOT: once step 251 is done the generation is the persisted one plus one. A node
        // stopped during step 251 may not have begun its new instantiation yet ("incremented when this file
        // server 110 is initiated on boot-up", col. 5 ll. 10-20; step 251 "initiates its recovery
        // operation"): its STOPPED report may keep the generation its step-251 report showed (found by the
        // failover fuzzer: corpus/regressions/failover-node/fo-stop-at-step-251.vgl).
        let stoppedAt251 = r.state == Self.sStopped && prev?.state == Self.sRebooting && prev?.step == 1
            && r.generation == prev?.generation
        if !(r.state == Self.sRebooting && r.step <= 1), !stoppedAt251, r.generation != expectedGeneration {
            return fail(.genIncrementAtBoot, expected: "generation \(expectedGeneration) (the one in persistent memory at boot, plus one)",
                        observed: seen)
        }
        reported = r
        // Coverage: the FIG. 2 states and reboot steps reached, and the transitions between them.
        let here = Self.stateName(r.state) + (r.step == 0 ? "" : "-\(stepNumber)")
        coverage.insert("state:" + here)
        guard let prev else { return nil }
        if prev.state != r.state || prev.step != r.step {
            coverage.insert("transition:" + Self.stateName(prev.state) + (prev.step == 0 ? "" : "-\(250 + Int(prev.step))") + ">" + here)
        }
        let peerTakeover = know.peerState == .takeover
        switch (prev.state, r.state) {
        case (Self.sRebooting, Self.sRebooting) where r.step != prev.step:
            switch r.step {
            case 1, 2:
                bootReserved = []
                bootRefused = false
                chosen = nil
                attemptOrder = order
            case 3:
                if peerTakeover {
                    return fail(.t241RebootFailed, expected: "to stay at step 252 while the peer is in TAKEOVER (wait for the giveback)", observed: seen)
                }
            case 4, 5:
                // FO-253-PEER-STATE: 255 only if this node had taken over before the interruption; 255 if it
                // had and the peer has said nothing since the boot.
                if prevOwnState != .takeover, r.step == 5 {
                    return fail(.reboot253, expected: "step 254: the node was not in TAKEOVER before the interruption", observed: seen)
                }
                if prevOwnState == .takeover, !know.heard, r.step == 4 {
                    return fail(.reboot253, expected: "step 255: the node had taken over and the peer has not been heard since the boot",
                                observed: seen)
                }
                if prevOwnState == .takeover, know.heard, know.peerState == .normal, r.step == 5 {
                    return fail(.reboot253, expected: "step 254: the peer says it is in NORMAL", observed: seen)
                }
                chosen = r.step
            case 6:
                if bootRefused {
                    return fail(.t241RebootFailed, expected: "back to step 252: a reservation was refused (the peer holds the disk)", observed: seen)
                }
                if chosen == 5, bootReserved != ownDisks.union(peerDisks) {
                    return fail(.reboot255, expected: "reservations of disks 0-3", observed: "reserved \(bootReserved.sorted()) before \(seen)")
                }
                if chosen != 5, bootReserved != ownDisks {
                    return fail(.reboot254, expected: "reservations of its own disks \(ownDisks.sorted()) only",
                                observed: "reserved \(bootReserved.sorted()) before \(seen)")
                }
            default:
                break
            }
        case (Self.sRebooting, Self.sNormal), (Self.sRebooting, Self.sTakeover):
            if prev.step != 8 {
                return fail(.reboot258, expected: "NORMAL or TAKEOVER only from step 258", observed: seen)
            }
            if peerTakeover {
                return fail(.t241RebootFailed, expected: "to stay in REBOOTING while the peer is in TAKEOVER", observed: seen)
            }
            if r.state == Self.sNormal, chosen == 5 {
                return fail(.reboot258, expected: "TAKEOVER: the node seized all disks at step 255", observed: seen)
            }
            if r.state == Self.sTakeover, chosen != 5 {
                return fail(.reboot258, expected: "NORMAL: the node seized only its own disks at step 254", observed: seen)
            }
            if r.state == Self.sNormal { normalSince = now }
        case (Self.sNormal, Self.sTakeover):
            // Transition 212: after the announcement, the wait and the reservations (checked as they came).
            if announceAt == nil || !takeoverGranted.isSuperset(of: peerDisks) {
                return fail(.takeoverReserve, expected: "TAKEOVER only once the peer's disks \(peerDisks.sorted()) are reserved",
                            observed: "\(seen) with \(takeoverGranted.sorted()) granted")
            }
            announceAt = nil
            grantedAt = nil
        case (Self.sTakeover, Self.sNormal):
            // Transition 221 completes only when the peer is seen in NORMAL (FO-222-HOLD-DISABLED).
            guard givebackAt != nil, releasedAt != nil, givebackNormalSent, peerNormalAt != nil else {
                return fail(stimulusRule() ?? .givebackHold, expected: "TAKEOVER (222) until a new message shows the peer in NORMAL",
                            observed: seen)
            }
            givebackAt = nil
            normalSince = now
        case (_, Self.sStopped) where prev.state != Self.sStopped:
            if !stopCommanded && mustStop == nil {
                let rule: FailoverRule = prev.state == Self.sTakeover ? .takeoverMessages : prev.state == Self.sNormal ? .t211Normal : .t241RebootFailed
                return fail(stimulusRule() ?? rule, expected: "no stop: nothing the IUT was told calls for STOPPED", observed: seen)
            }
            exemptOutstanding()
        case (Self.sStopped, _) where r.state != Self.sStopped && r.state != Self.sRebooting:
            return fail(.stoppedNoOps, expected: "STOPPED until a reboot", observed: seen)
        case (let a, let b) where a != b && b != Self.sRebooting:
            return fail(stimulusRule() ?? .t211Normal, expected: "no such transition of FIG. 2", observed: "\(Self.stateName(a)) → \(seen)")
        default:
            break
        }
        return nil
    }

    // MARK: Status messages

    mutating func observeStatus(_ bytes: [UInt8], _ channel: Channel, copy: Copy) -> Verdict? {
        let carriage: Carriage
        do {
            carriage = try Carriage(decoding: bytes, channel: channel)
        } catch {
            let envelope = error.field.hasPrefix("carrier") || error.field == "padding" || error.field == "writer_slot" || error.field == "carrier"
            return fail(envelope ? .wireCarriage : .wireLayout, expected: "a well-formed \(channel) carrier (specs/failover-wire.md)",
                        observed: "\(error)")
        }
        guard carriage.writer == iutNode, carriage.message.systemID == iutNode.systemID else {
            return fail(.msgFields, expected: "writer slot \(iutNode.rawValue), system id 0x\(String(iutNode.systemID, radix: 16))",
                        observed: "writer \(carriage.writer), system id 0x\(String(carriage.message.systemID, radix: 16))")
        }
        if let v = writeAllowed("a status message on the \(copy)") { return v }
        let m = carriage.message, stamp = m.stamp
        let messageBytes = Array(bytes[8..<52])
        if stamp.generation > peer.echo.generation || (stamp.generation == peer.echo.generation && stamp.sequence > peer.echo.sequence) {
            peer.echo = stamp
        }
        if var s = sent[stamp] {
            if s.message != messageBytes {
                return fail(.seqIncrement, expected: "a new sequence number for a different message", observed: "\(m) differs from the earlier \(stamp)")
            }
            if copy == .mailbox2, !s.copies.contains(.mailbox0) {
                return fail(.mailboxTwoDisks, expected: "the first mailbox disk written before the second", observed: "\(m) on disk 2 first")
            }
            s.copies.insert(copy)
            sent[stamp] = s
            return nil
        }
        if copy == .mailbox2 {
            return fail(.mailboxTwoDisks, expected: "the first mailbox disk written before the second", observed: "\(m) on disk 2 first")
        }
        guard booted, let r = reported else {
            return fail(.reboot251, expected: "nothing before BOOT", observed: "\(m)")
        }
        if m.generation != expectedGeneration {
            return fail(.genIncrementAtBoot, expected: "generation \(expectedGeneration) (persistent memory's plus one)", observed: "\(m)")
        }
        let persisted = Self.nodeRecord(ownPM[Self.nodeRecordSlot])?.generation
        if persisted != m.generation {
            return fail(.genPersisted, expected: "generation \(m.generation) in persistent memory (node record, slot 2) before it is used",
                        observed: "\(m) while slot 2 holds " + (persisted.map { "generation \($0)" } ?? "no node record"))
        }
        if let last = lastStamp, !stamp.isNew(after: last) {
            return fail(.seqIncrement, expected: "a message newer than \(last)", observed: "\(m)")
        }
        // FO-MSG-PEER-ECHO: the echo names the most recent new message; a different one shows which
        // newness the IUT applied.
        let echo = know.recent ?? .zero
        if m.peerStamp != echo {
            let o = m.peerStamp
            let rule: FailoverRule =
                corruptStamps.contains(o) ? .wireIntegrity
                : know.seqFirstRecent == o ? .msgNewness
                : know.perChannelRecent == o ? .msgMergedStream
                : know.delivered.contains(o) ? .msgNewness : .msgPeerEcho
            return fail(rule, expected: "echo \(echo) (the most recent new message from the peer)", observed: "\(m)")
        }
        if let v = enabledVerdict() { return v }
        if let v = checkIndicator(m, r) { return v }
        sent[stamp] = Sent(message: messageBytes, at: now, copies: [copy])
        lastStamp = stamp
        lastSendAt = now
        // Keep the record small: complete messages are done with.
        sent = sent.filter { !$0.value.exempt && !Self.complete($0.value) || $0.key == stamp }
        return nil
    }

    static func complete(_ s: Sent) -> Bool {
        s.copies.isSuperset(of: [.network, .peerPM, .ownPM, .mailbox0]) && (s.copies.contains(.mailbox2) || s.mailbox0Refused)
    }

    /// The state indicator a message must carry in the IUT's current state.
    mutating func checkIndicator(_ m: StatusMessage, _ r: Report) -> Verdict? {
        switch r.state {
        case Self.sRebooting:
            if m.state != .noTakeover {
                return fail(.recoveryReport, expected: "NO-TAKEOVER with RECOVERING while rebooting", observed: "\(m)")
            }
            if !m.flags.contains(.recovering) {
                return fail(.recoveryFlag, expected: "NO-TAKEOVER with RECOVERING while rebooting", observed: "\(m)")
            }
        case Self.sNormal:
            if m.state == .takeover {
                if announceAt == nil { return announce(m) }
                return nil
            }
            if announceAt != nil {
                // The takeover stops (213 abort): allowed at any time, required when the peer is not passive.
                announceAt = nil
                peerNewSinceAnnounce = false
                takeoverRequested = []
            }
            let wanted: StateIndicator = opDisabled ? .disable : .normal
            if m.state != wanted || !m.flags.isEmpty {
                return fail(.disableSignal, expected: "\(wanted) (takeover \(opDisabled ? "disabled" : "enabled") by the operator)", observed: "\(m)")
            }
        case Self.sTakeover:
            guard givebackAt != nil else {
                if m.state != .takeover { return fail(.takeoverMessages, expected: "TAKEOVER", observed: "\(m)") }
                return nil
            }
            if releasedAt == nil {
                // Step 222 releases the peer's disks first; TAKEOVER may still go out meanwhile.
                if m.state == .takeover { return nil }
                return fail(.givebackRelease, expected: "the reservations of disks \(peerDisks.sorted()) released before \(m.state)",
                            observed: "\(m) with \(releaseDone.sorted()) released")
            }
            if !givebackNormalSent {
                if m.state != .normal {
                    return fail(.givebackSendNormal, expected: "NORMAL once the peer's disks are released", observed: "\(m)")
                }
                givebackNormalSent = true
                return nil
            }
            if m.state != .noTakeover {
                return fail(.givebackHold, expected: "NO-TAKEOVER until the peer is seen in NORMAL", observed: "\(m)")
            }
        default:
            return fail(.stoppedNoOps, expected: "nothing while STOPPED", observed: "\(m)")
        }
        return nil
    }

    /// Step 213 begins: TAKEOVER goes out. Only after every channel's silence reached the multiple of its
    /// time-out, and only with takeover enabled.
    mutating func announce(_ m: StatusMessage) -> Verdict? {
        if opDisabled { return fail(.disableOperator, expected: "no takeover: the operator disabled it", observed: "\(m)") }
        if know.versionMismatch { return fail(.disableVersion, expected: "no takeover: the peer speaks another version", observed: "\(m)") }
        if know.peerDisabled {
            return fail(.disablePeerMessage, expected: "no takeover: the peer's last new message was \(know.peerState.map { "\($0)" } ?? "-")",
                        observed: "\(m)")
        }
        var short: [String] = []
        var underOne = false
        for channel in Channel.allCases {
            let silent = now.nanoseconds &- know.channelUpdated[Int(channel.rawValue)].nanoseconds
            let limit = configuration.silenceLimit(channel).nanoseconds
            if silent < limit {
                short.append("\(channel) silent \(VirtualTime(nanoseconds: silent)) of \(VirtualTime(nanoseconds: limit))")
                if silent < configuration.timeouts[Int(channel.rawValue)].nanoseconds { underOne = true }
            }
        }
        if !short.isEmpty {
            return fail(underOne ? .takeoverSilence : .silenceMultiple,
                        expected: "TAKEOVER only after every channel is silent for \(configuration.silenceMultiple)x its time-out",
                        observed: "\(m) with " + short.joined(separator: ", "))
        }
        announceAt = now
        peerNewSinceAnnounce = false
        takeoverRequested = []
        takeoverGranted = []
        grantedAt = nil
        return nil
    }

    /// A write (status, reservation) is allowed only while the IUT may write.
    func writeAllowed(_ what: @autoclosure () -> String) -> Verdict? {
        if let s = mustStop {
            return fail(s.rule, expected: s.rule == .claim13Fenced ? "no more writes: a write was refused for the peer's reservation"
                            : "no more writes: the peer announced TAKEOVER", observed: what())
        }
        if reported?.state == Self.sStopped { return fail(.stoppedNoOps, expected: "nothing while STOPPED", observed: what()) }
        return nil
    }

    mutating func enabledVerdict() -> Verdict? {
        guard enabledMismatchSince != nil, let r = reported else { return nil }
        let rule: FailoverRule
        if opDisabled != !r.enabled && !know.peerDisabled && !know.versionMismatch {
            rule = .disableOperator
        } else if know.versionMismatch {
            rule = .disableVersion
        } else {
            rule = .disablePeerMessage
        }
        return fail(rule, expected: "takeover \(expectedEnabled ? "enabled" : "disabled") (operator \(opDisabled ? "disabled" : "enabled"), peer's last new message \(know.peerState.map { "\($0)" } ?? "none"))",
                    observed: "STATE says takeover \(r.enabled ? "enabled" : "disabled")")
    }

    // MARK: Disk requests

    mutating func observeDisk(tag: UInt16, op: UInt8, device: UInt8, block: UInt32, count: UInt32, data: [UInt8]) -> Verdict? {
        let state = reported?.state
        var stamp: Stamp? = nil
        // Described only when a verdict needs it (most requests are fine).
        var what: String { Self.describeDisk(op: op, device: device, block: block, count: count, data: data) }
        if state == Self.sStopped, mustStop == nil {
            return fail(.stoppedNoOps, expected: "no operations while STOPPED", observed: what)
        }
        switch (op, device) {
        case (3, 0xFF):
            guard block == UInt32(ownSlot) else {
                return fail(.sanPersistentMemory, expected: "the SAN record in the peer's persistent memory at slot \(ownSlot)", observed: what)
            }
            if let v = observeStatus(data, .san, copy: .peerPM) { return v }
        case (3, 0xFE):
            if block == UInt32(ownSlot) {
                if let v = observeStatus(data, .san, copy: .ownPM) { return v }
            } else if block == UInt32(Self.nodeRecordSlot) {
                if let v = writeAllowed(what) { return v }
                guard let record = Self.nodeRecord(data) else {
                    return fail(.genPersisted, expected: "a node record (specs/adapter.md §7.1) in slot 2", observed: what)
                }
                if record.generation != expectedGeneration {
                    return fail(.genIncrementAtBoot, expected: "generation \(expectedGeneration) persisted", observed: "generation \(record.generation)")
                }
                if record.disabled != opDisabled {
                    return fail(.disableOperator, expected: "the operator's setting (\(opDisabled ? "disabled" : "enabled")) kept in persistent memory",
                                observed: "\(record.disabled ? "disabled" : "enabled") written")
                }
            }
        case (3, 0...3):
            if let v = writeAllowed(what) { return v }
            let disk = Int(device)
            if DiskLayout.mailboxDisks.contains(disk), block == Self.mailboxBlock + UInt32(peerSlot) {
                return fail(.mailboxRegions, expected: "writes to its own region (block \(Self.mailboxBlock + UInt32(ownSlot)))",
                            observed: "a write to the peer's region: \(what)")
            }
            if DiskLayout.mailboxDisks.contains(disk), block == Self.mailboxBlock + UInt32(ownSlot) {
                if let v = observeStatus(Array(data.prefix(512)), .mailbox, copy: disk == 0 ? .mailbox0 : .mailbox2) { return v }
                stamp = (try? Carriage(decoding: Array(data.prefix(512)), channel: .mailbox))?.message.stamp
            }
        case (1, 0...3):
            if let v = writeAllowed(what) { return v }
            let disk = Int(device)
            if state == Self.sRebooting {
                bootReserved.insert(disk)
            } else if state == Self.sNormal, peerDisks.contains(disk) {
                // Step 213: TAKEOVER announced, the wait over, the peer still passive, takeover still enabled.
                guard let at = announceAt else {
                    return fail(.takeoverSend, expected: "TAKEOVER sent on every channel before reserving the peer's disks", observed: what)
                }
                if now.nanoseconds - at.nanoseconds < configuration.takeoverWait.nanoseconds {
                    return fail(.takeoverWait, expected: "the reservation no earlier than \(at + configuration.takeoverWait) (TAKEOVER at \(at) plus the wait)",
                                observed: what)
                }
                if peerNewSinceAnnounce {
                    return fail(.takeoverPassive, expected: "no reservation: a new message showed the peer operating during the wait", observed: what)
                }
                if !expectedEnabled {
                    return fail(opDisabled ? .takeoverAbort : .disablePeerMessage, expected: "no reservation: takeover was disabled during the wait",
                                observed: what)
                }
                takeoverRequested.insert(disk)
            }
        case (2, 0...3):
            let disk = Int(device)
            if givebackAt != nil, peerDisks.contains(disk) { releaseRequested.insert(disk) }
            if state == Self.sRebooting { bootReserved.remove(disk) }
        case (4, 0...3), (4, 0xFE), (4, 0xFF):
            break
        default:
            return fail(.msgFields, expected: "DISK requests of specs/adapter.md §7", observed: what)
        }
        let latency = device >= 0xFE ? Self.pmLatency : Self.diskLatency
        requests.append(Request(at: now + latency, order: order, tag: tag, op: op, device: device, block: block, count: count, data: data,
                                preempt: state == Self.sNormal, stamp: stamp))
        order += 1
        return nil
    }

    // MARK: Deadlines: required outputs

    struct Requirement {
        var at: VirtualTime
        var rule: FailoverRule
        /// Written only when the requirement is missed (requirements are listed at every step).
        let describe: () -> String
        var expected: String { describe() }

        init(at: VirtualTime, rule: FailoverRule, expected: @autoclosure @escaping () -> String) {
            self.at = at
            self.rule = rule
            self.describe = expected
        }
    }

    func requirements() -> [Requirement] {
        var out: [Requirement] = []
        let state = reported?.state
        let statusPeriod = period  // captured by a description instead of the whole oracle
        let peerDisks = self.peerDisks  // likewise: a description that named self.peerDisks copied the oracle at every step
        for (stamp, s) in sent where !s.exempt && !Self.complete(s) {
            let missing: [Copy] = [.network, .peerPM, .ownPM, .mailbox0, .mailbox2].filter {
                !s.copies.contains($0) && !($0 == .mailbox2 && s.mailbox0Refused)
            }
            let rule: FailoverRule =
                missing == [.mailbox2] ? .mailboxTwoDisks
                : missing.contains(.network) || missing.contains(.mailbox0) ? .sendAllChannels
                : missing.contains(.peerPM) ? .sanPersistentMemory : .saveOwnState
            out.append(Requirement(at: s.at + period, rule: rule,
                                   expected: "\(stamp) also on " + missing.map(\.description).joined(separator: ", ")))
        }
        if booted, mustStop == nil, let s = state, s != Self.sStopped {
            if let last = lastSendAt {
                out.append(Requirement(at: last + grace, rule: s == Self.sRebooting ? .recoveryReport : .sendAllChannels,
                                       expected: "a status message every \(statusPeriod) (FO-STATUS-PERIOD)"))
            } else if s == Self.sRebooting {
                out.append(Requirement(at: bootAt + .milliseconds(500), rule: .reboot251, expected: "the status report of step 251"))
            }
        }
        if state == Self.sNormal, expectedEnabled, announceAt == nil, mustStop == nil, let since = normalSince {
            var due = enabledSince ?? now
            for channel in Channel.allCases {
                due = max(due, max(know.channelUpdated[Int(channel.rawValue)], since) + configuration.silenceLimit(channel))
            }
            // Liveness: the takeover must begin once every channel is silent. The deadline leaves room for the
            // wait of step 213 too, so that a node that reserves without announcing is named by the reservation
            // it makes (FO-213-SEND-TAKEOVER), not by the announcement it skipped.
            out.append(Requirement(at: due + configuration.takeoverWait + grace + period, rule: .t212Takeover,
                                   expected: "TAKEOVER: every channel silent for the multiple of its time-out"))
        }
        if state == Self.sNormal, let at = announceAt, !peerNewSinceAnnounce, expectedEnabled, mustStop == nil,
            !takeoverRequested.isSuperset(of: peerDisks)
        {
            out.append(Requirement(at: at + configuration.takeoverWait + grace, rule: .takeoverReserve,
                                   expected: "reservations of the peer's disks \(peerDisks.sorted()) after the wait"))
        }
        if state == Self.sNormal, let at = grantedAt, mustStop == nil {
            out.append(Requirement(at: at + grace, rule: .t212Takeover, expected: "STATE TAKEOVER once the peer's disks are reserved"))
        }
        if state == Self.sTakeover, let at = givebackAt, mustStop == nil {
            if !releaseRequested.isSuperset(of: peerDisks) {
                out.append(Requirement(at: at + grace, rule: .givebackRelease, expected: "releases of the peer's disks \(peerDisks.sorted())"))
            } else if let r = releasedAt, !givebackNormalSent {
                out.append(Requirement(at: r + grace, rule: .givebackSendNormal, expected: "NORMAL once the peer's disks are released"))
            } else if let p = peerNormalAt {
                out.append(Requirement(at: p + grace, rule: .t221Giveback, expected: "STATE NORMAL: the peer is seen in NORMAL"))
            }
        }
        if let s = mustStop, state != Self.sStopped {
            out.append(Requirement(at: s.since + grace, rule: s.rule, expected: "STATE STOPPED"))
        }
        if let since = enabledMismatchSince {
            out.append(Requirement(at: since + grace, rule: .disablePeerMessage, expected: "the STATE event's takeover-enabled flag"))
        }
        // FO-DISABLE-OPERATOR: "the setting is kept in persistent memory". Once the node has persisted this
        // boot's node record, an operator DISABLE / ENABLE given to it must reach that record too.
        if let at = opCommandAt, let persisted = recordPersistedAt, booted, mustStop == nil, let s = state, s != Self.sStopped,
            let record = Self.nodeRecord(ownPM[Self.nodeRecordSlot]), record.disabled != opDisabled
        {
            let setting = opDisabled ? "disabled" : "enabled"
            out.append(Requirement(at: max(at, persisted) + grace, rule: .disableOperator,
                                   expected: "the operator's setting (\(setting)) written to the node record (persistent memory slot 2)"))
        }
        return out
    }

    mutating func checkDeadlines() -> Verdict? {
        guard let due = requirements().filter({ $0.at <= now }).min(by: { $0.at < $1.at }) else { return nil }
        if due.rule == .disablePeerMessage, enabledMismatchSince != nil, let v = enabledVerdict() { return v }
        return .fail(Divergence(rule: due.rule.rule, step: currentLine.lineNumber, time: now, expected: due.expected,
                                observed: "nothing by \(due.at)"))
    }

    // MARK: Notation

    static func stateName(_ s: UInt8) -> String {
        switch s {
        case 1: "normal"
        case 2: "takeover"
        case 3: "stopped"
        case 4: "rebooting"
        default: "state-\(s)"
        }
    }

    /// A carrier in words: "network NORMAL g1/s3 saw g0/s0", or why it does not decode.
    static func describe(_ bytes: [UInt8], _ channel: Channel) -> String {
        do {
            let c = try Carriage(decoding: bytes, channel: channel)
            return "\(channel) from=\(c.writer) " + "\(c.message)".replacingOccurrences(of: " ", with: "_")
        } catch {
            if bytes.allSatisfy({ $0 == 0 }) { return "\(channel) empty" }
            return "\(channel) bad=\(error.code.rawValue) len=\(bytes.count)"
        }
    }

    static func describeDisk(op: UInt8, device: UInt8, block: UInt32, count: UInt32, data: [UInt8]) -> String {
        let opName = [1: "reserve", 2: "release", 3: "write", 4: "read"][Int(op)] ?? "op-\(op)"
        var s = "\(opName) dev=\(device >= 0xFE ? "0x" + String(device, radix: 16) : String(device)) block=\(block) count=\(count)"
        if op == 3 {
            if device == 0xFE || device == 0xFF {
                if block == UInt32(nodeRecordSlot), let r = nodeRecord(data) {
                    s += " node-record gen=\(r.generation)" + (r.disabled ? " disabled" : "")
                } else {
                    s += " " + describe(data, .san)
                }
            } else if DiskLayout.mailboxDisks.contains(Int(device)) {
                s += " " + describe(Array(data.prefix(512)), .mailbox)
            } else {
                s += " len=\(data.count)"
            }
        }
        return s
    }
}

extension UInt8 {
    var asDisk: Int { Int(self) }
}
