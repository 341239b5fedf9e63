import VigilCore

/// The rules of the failover protocol of US 6,119,244, one case per rule. Model code names rules through
/// this type; `rule` gives the catalog entry (statement, level, citations).
public enum FailoverRule: String, RuleIdentifier {
    // Messages and their carriage.
    case msgFields = "FO-MSG-FIELDS"
    case msgStateIndicator = "FO-MSG-STATE-INDICATOR"
    case msgNewness = "FO-MSG-NEWNESS"
    case msgIgnoreOld = "FO-MSG-IGNORE-OLD"
    case msgMergedStream = "FO-MSG-MERGED-STREAM"
    case msgPeerEcho = "FO-MSG-PEER-ECHO"
    case seqIncrement = "FO-SEQ-INCREMENT"
    case seqPerGeneration = "FO-SEQ-PER-GENERATION"
    case genIncrementAtBoot = "FO-GEN-INCREMENT-AT-BOOT"
    case genPersisted = "FO-GEN-PERSISTED"
    case sendAllChannels = "FO-SEND-ALL-CHANNELS"
    case saveOwnState = "FO-SAVE-OWN-STATE"
    case mailboxRegions = "FO-MAILBOX-REGIONS"
    case mailboxTwoDisks = "FO-MAILBOX-TWO-DISKS"
    case sanPersistentMemory = "FO-SAN-PERSISTENT-MEMORY"
    case networkDatagram = "FO-NET-DATAGRAM"
    case wireLayout = "FO-WIRE-LAYOUT"
    case wireCarriage = "FO-WIRE-CARRIAGE"
    case wireIntegrity = "FO-WIRE-INTEGRITY"
    case statusPeriod = "FO-STATUS-PERIOD"
    // Time-outs and silence.
    case timeoutPerChannel = "FO-TIMEOUT-PER-CHANNEL"
    case timeoutNetwork = "FO-TIMEOUT-NETWORK"
    case channelUpdate = "FO-CHANNEL-UPDATE"
    case takeoverSilence = "FO-TAKEOVER-SILENCE"
    case silenceMultiple = "FO-SILENCE-MULTIPLE"
    // NORMAL state and takeover.
    case t211Normal = "FO-T211-NORMAL-OPERATION"
    case t212Takeover = "FO-T212-TAKEOVER-OPERATION"
    case disablePeerMessage = "FO-DISABLE-PEER-MESSAGE"
    case disableOperator = "FO-DISABLE-OPERATOR"
    case disableSyncError = "FO-DISABLE-SYNC-ERROR"
    case disableVersion = "FO-DISABLE-VERSION-MISMATCH"
    case disableSignal = "FO-DISABLE-SIGNAL"
    case takeoverSend = "FO-213-SEND-TAKEOVER"
    case takeoverWait = "FO-213-WAIT"
    case takeoverWaitDuration = "FO-213-WAIT-DURATION"
    case takeoverReserve = "FO-213-RESERVE"
    case takeoverPassive = "FO-213-PASSIVE"
    case takeoverAbort = "FO-213-ABORT"
    case takeoverMessages = "FO-TAKEOVER-MESSAGES"
    case claim14StopWriting = "FO-CLAIM14-STOP-WRITING"
    case claim13Fenced = "FO-CLAIM13-FENCED"
    // Giveback.
    case t221Giveback = "FO-T221-GIVEBACK-OPERATION"
    case givebackRelease = "FO-222-RELEASE"
    case givebackSendNormal = "FO-222-SEND-NORMAL"
    case givebackHold = "FO-222-HOLD-DISABLED"
    // STOPPED and REBOOTING.
    case stoppedNoOps = "FO-STOPPED-NO-OPERATIONS"
    case t231Reboot = "FO-T231-REBOOT-OPERATION"
    case t241RebootFailed = "FO-T241-REBOOT-FAILED"
    case t242RebootNormal = "FO-T242-REBOOT-NORMAL"
    case t243RebootTakeover = "FO-T243-REBOOT-TAKEOVER"
    case reboot251 = "FO-251-INITIATE"
    case reboot252 = "FO-252-CHECK-WRITABLE"
    case reboot253 = "FO-253-PEER-STATE"
    case reboot254 = "FO-254-SEIZE-OWN"
    case reboot255 = "FO-255-SEIZE-ALL"
    case reboot256 = "FO-256-FLUSH"
    case reboot257 = "FO-257-CHECK-PREVENTING"
    case reboot258 = "FO-258-ENTER"
    case rebootStepPace = "FO-REBOOT-STEP-PACE"
    case recoveryReport = "FO-RECOVERY-REPORT"
    case recoveryFlag = "FO-RECOVERY-FLAG"
    // The world and the checker.
    case worldReservations = "FO-WORLD-RESERVATIONS"
    case worldLatency = "FO-WORLD-LATENCY"
    case worldFaultHypothesis = "FO-WORLD-FAULT-HYPOTHESIS"
    case noSplitBrain = "FO-NO-SPLIT-BRAIN"
    case livenessTakeover = "FO-LIVENESS-TAKEOVER"
    case noCycling = "FO-NO-CYCLING"

    public var rule: Rule {
        let e = entry
        return Rule(
            id: rawValue, protocolName: "failover", level: e.level, statement: e.statement,
            citations: e.citations, rationale: e.rationale)
    }
}

/// Title and preface for the rendered catalog (`specs/rules/failover-rules.md`, `vigil rules`).
public enum FailoverCatalog {
    public static let title = "Failover rule catalog (US 6,119,244)"
    public static let preface = """
        Rules of the failover protocol between two file servers: status messages over the mailbox disks, \
        the SAN into persistent memory and the network; the newness rule; time-outs; takeover (213), giveback \
        (222) and the reboot steps (251-258) of FIG. 2. MUST and MAY restate the patent; MODEL-CHOICE marks \
        what the kit decided where the patent is silent. Column and line numbers are estimated from the \
        column markers of the text in `specs/patents/`; the quotes are verbatim. Wire formats: \
        `specs/failover-wire.md`.
        """
    /// The patent every citation refers to.
    public static let patent = "US 6,119,244"
}

private struct Entry {
    var level: RuleLevel
    var statement: String
    var citations: [Citation]
    var rationale: String? = nil
}

private func cite(
    _ column: Int?, _ lines: String?, _ section: String?, figure: String? = "FIG. 2", claims: [Int] = [],
    _ quote: String
) -> Citation {
    Citation(
        patent: FailoverCatalog.patent, column: column, lines: lines, section: section, figure: figure,
        claims: claims, quote: quote)
}

private func claim(_ numbers: [Int], _ quote: String) -> Citation {
    Citation(patent: FailoverCatalog.patent, claims: numbers, quote: quote)
}

extension FailoverRule {
    private var entry: Entry {
        let method = "Method of Operation"
        let normalState = "NORMAL State"
        let takeoverState = "TAKEOVER State"
        let stoppedState = "STOPPED State"
        let rebooting = "REBOOTING State"
        let elements = "System Elements"
        switch self {
        case .msgFields:
            return Entry(
                level: .must,
                statement: "Every status message carries the sender's system id, state indicator, generation and sequence, the generation and sequence last seen from the receiver, and the status protocol version.",
                citations: [
                    cite(4, "60-67", method, "Each message 124 includes the following information for \"this\" file server 110"),
                    cite(5, "30-32", method, "Each message 124 also includes a version number of the status protocol with which the message 124 is transmitted."),
                ])
        case .msgStateIndicator:
            return Entry(
                level: .must,
                statement: "The state indicator is one of NORMAL, TAKEOVER, NO-TAKEOVER or DISABLE; any other code is rejected.",
                citations: [cite(5, "1-10", method, "In a preferred embodiment, the state indicator can be one of the following:")])
        case .msgNewness:
            return Entry(
                level: .must,
                statement: "A message is new if and only if its generation is greater than that of the most recent new message, or equal to it with a greater sequence; the receiver records the generation and sequence of the most recent new message.",
                citations: [
                    cite(5, "46-50", method, "The file server 110 determines that the particular message 124 is new if and only if:"),
                    cite(5, "46-50", method, "its generation number $G_i$ is equal to the most recent new message 124 and its sequence number $S_i$ is greater than most recent new message 124."),
                ])
        case .msgIgnoreOld:
            return Entry(
                level: .may,
                statement: "A message that is not new is ignored: it changes no state (the model always takes this option).",
                citations: [cite(5, "40-45", method, "If either of the file servers 110 determines that the message 124 is not new, that file server 110 can ignore that message 124.")])
        case .msgMergedStream:
            return Entry(
                level: .must,
                statement: "The receiver applies the newness rule to the messages of all channels merged into one ordered stream.",
                citations: [
                    cite(1, "50-60", "Summary of the Invention", figure: nil, "each file server sequences messages on the redundant communication paths, so as to allow other file servers to combine the redundant communication paths into a single ordered stream of messages."),
                    claim([23], "determining, at each recipient, a unified order for mes- sages delivered using different ones of said plurality of independent communication paths"),
                ])
        case .msgPeerEcho:
            return Entry(
                level: .must,
                statement: "A message carries the generation and sequence of the most recent message the sender received from the receiver.",
                citations: [cite(5, "25-30", method, "comprising a monotonically increasing number identified with the most recent message 124 received from the other file server 110.")])
        case .seqIncrement:
            return Entry(
                level: .must,
                statement: "Each message a node sends carries a sequence number greater than that of its previous message.",
                citations: [cite(5, "20-25", method, "comprising a monotonically increasing number identified with the current message 124 transmitted by this file server 110.")])
        case .seqPerGeneration:
            return Entry(
                level: .modelChoice,
                statement: "The sequence restarts at 1 with every generation; only the generation survives a boot.",
                citations: [cite(5, "10-20", method, "the message 124 will indicate that it is subsequent to any message 124 sent before the service interruption.")],
                rationale: "The patent makes the generation carry order across a boot, so the sequence need not be persisted; restarting it is what exposes a receiver that compares sequence before generation.")
        case .genIncrementAtBoot:
            return Entry(
                level: .must,
                statement: "A node increments its generation every time it boots, so its messages after a service interruption are newer than any before it.",
                citations: [
                    cite(5, "10-20", method, "In a preferred embodiment, the instantiation of this file server 110 is incremented when this file server 110 is initiated on boot-up."),
                    claim([26], "determining a generation number in response to a service interrup- tion and a persistent memory for a sender of said message"),
                ])
        case .genPersisted:
            return Entry(
                level: .must,
                statement: "The generation is kept in persistent memory, so the increment at boot starts from the last generation used.",
                citations: [claim([10], "said generation number being responsive to a service interruption and a persistent memory for a sender of said message.")])
        case .sendAllChannels:
            return Entry(
                level: .must,
                statement: "A running node periodically sends its status on every channel: the mailbox disks, the SAN and the network.",
                citations: [
                    cite(4, "38-42", normalState, "In this state, each file server 110 periodically sends state information in messages 124 using the redundant communication paths between the two file servers 110."),
                    claim([24], "transmitting substantially each message in said sequence on at least two of said plurality of independent com- munication paths"),
                ])
        case .saveOwnState:
            return Entry(
                level: .must,
                statement: "A node records its own state with each message both on its own mailbox region and in its own persistent memory, and reads it back at reboot.",
                citations: [cite(5, "45-50", normalState, "Thus, each file server 110 records its state information both on its own mailbox disks and in its own persistent memory 113.")])
        case .mailboxRegions:
            return Entry(
                level: .must,
                statement: "Each mailbox disk has a designated region written by each node and read by the other.",
                citations: [cite(3, "40-50", elements, figure: "FIG. 1", "each of which has at least one designated region 123 into which one file server 110 can write messages 124 for reading by the other file server 110.")])
        case .mailboxTwoDisks:
            return Entry(
                level: .must,
                statement: "A message goes to the first mailbox disk and then to the second.",
                citations: [cite(4, "47-51", normalState, "messages 124 are transmitted using the mailbox disks by writing the messages 124 to a first mailbox disk and then to a second mailbox disk.")])
        case .sanPersistentMemory:
            return Entry(
                level: .must,
                statement: "Over the SAN a node copies its message into the other node's persistent memory (and its own).",
                citations: [cite(4, "50-54", normalState, "Each file server 110 transmits a message 124 by copying that message 124, using the SAN 130, to its persistent memory 113 (possibly both its own persistent memory 113 and that for the other file server 110).")])
        case .networkDatagram:
            return Entry(
                level: .must,
                statement: "Over the network a node sends its message encapsulated in UDP.",
                citations: [cite(4, "60-64", normalState, "using encapsulation in a communication protocol known to both file servers 110, such as UDP or IP.")])
        case .wireLayout:
            return Entry(
                level: .modelChoice,
                statement: "A status message is 44 bytes, big-endian, with magic \"VF\", version, state code, flags, length, system id, generation (32 bits), sequence (64 bits), the peer's generation and sequence, and a CRC-32C; decoding is strict.",
                citations: [cite(5, "30-32", method, "Each message 124 also includes a version number of the status protocol with which the message 124 is transmitted.")],
                rationale: "The patent lists the fields but no layout; fixed offsets keep the codec, the dissector and crafted packets simple, and 64-bit sequences never wrap in a run.")
        case .wireCarriage:
            return Entry(
                level: .modelChoice,
                statement: "Each channel wraps the same message in an 8-byte envelope: a 512-byte mailbox region, a 64-byte SAN record in persistent memory, a 52-byte UDP payload on port 7244.",
                citations: [cite(4, "1-5", elements, figure: "FIG. 1", "can have substantially differing formats, even though payload for those messages 124 is identical.")],
                rationale: "Sizes follow the medium (one disk sector, one persistent-memory slot, one datagram); the port is the patent's number mod 65536 kept under 10000.")
        case .wireIntegrity:
            return Entry(
                level: .modelChoice,
                statement: "A message whose CRC-32C, magic, length, state code or reserved bits are wrong is discarded before the newness rule sees it.",
                citations: [],
                rationale: "The patent names no integrity check; a torn mailbox write or a corrupted datagram must not move a node, so each message carries CRC-32C (Castagnoli).")
        case .statusPeriod:
            return Entry(
                level: .modelChoice,
                statement: "A running node sends its status every 100 ms and polls the mailbox regions at the same pace; node B's ticks are offset by 50 ms.",
                citations: [cite(4, "38-42", normalState, "In this state, each file server 110 periodically sends state information in messages 124 using the redundant communication paths between the two file servers 110.")],
                rationale: "The patent says only \"periodically\"; 100 ms is five times faster than the shortest time-out, so one lost message never looks like silence.")
        case .timeoutPerChannel:
            return Entry(
                level: .must,
                statement: "Each channel has its own time-out: 2.5 s for the mailbox disks and 0.5 s for the SAN.",
                citations: [
                    cite(5, "60-67", normalState, "In a preferred embodiment, this timeout period is two-half seconds for communication using the mailbox disks and"),
                    cite(6, "1-3", normalState, "one-half second for communication using the SAN 130."),
                ])
        case .timeoutNetwork:
            return Entry(
                level: .modelChoice,
                statement: "The network channel's time-out is 1 s.",
                citations: [cite(6, "1-6", normalState, "in alternative embodiments, different timeout values or techniques other than timeout periods may be used.")],
                rationale: "The patent gives no network figure; 1 s lies between the SAN's 0.5 s and the mailbox's 2.5 s, as the network's latency does.")
        case .channelUpdate:
            return Entry(
                level: .must,
                statement: "A channel counts as updated when a message newer than any earlier one on that channel arrives on it; silence on a channel is time since its last update.",
                citations: [cite(5, "55-60", normalState, "The first file server 110 notes that the second file server 110 has not updated its state information (using a message 124) for a timeout period.")])
        case .takeoverSilence:
            return Entry(
                level: .must,
                statement: "A node decides the peer has suffered a service interruption only when every channel has been silent for the multiple of its time-out.",
                citations: [cite(6, "10-20", normalState, "If there are no such messages 124 for a time period responsive to the timeout period described above (such as two to five times the timeout period), the first file server 110 decides that the second file server 110 has suffered a service interruption.")])
        case .silenceMultiple:
            return Entry(
                level: .modelChoice,
                statement: "The silence multiple is 2: 5 s on the mailbox, 1 s on the SAN, 2 s on the network.",
                citations: [cite(6, "10-20", normalState, "(such as two to five times the timeout period)")],
                rationale: "The lowest multiple the patent allows gives the fastest takeover; the checker's liveness bound follows from it.")
        case .t211Normal:
            return Entry(
                level: .must,
                statement: "In NORMAL, a new message showing the peer in NORMAL keeps this node in NORMAL (transition 211).",
                citations: [cite(6, "5-10", normalState, "If the first file server 110 determines that the second file server 110 is also in the NORMAL state, the NORMAL-OPERATION transition 211 is taken to remain in the state 210.")])
        case .t212Takeover:
            return Entry(
                level: .must,
                statement: "When the peer has suffered a service interruption and takeover is enabled, the node performs the takeover (transition 212) and enters TAKEOVER.",
                citations: [cite(6, "28-32", normalState, "the TAKEOVER-OPERATION transition 212 is taken to enter the TAKEOVER state 220.")])
        case .disablePeerMessage:
            return Entry(
                level: .must,
                statement: "A new message from the peer with state DISABLE or NO-TAKEOVER disables transition 212 until a new message says otherwise.",
                citations: [cite(6, "20-25", normalState, "The TAKEOVER-OPERATION transition 212 can be disabled by a message 124 state indicator such as DISABLE or NO-TAKEOVER.")])
        case .disableOperator:
            return Entry(
                level: .must,
                statement: "An operator command disables (and re-enables) transition 212; the setting is kept in persistent memory.",
                citations: [cite(6, "22-28", normalState, "either file server 110 can disable the TAKEOVER-OPERATION transition 212 responsive to (a) an operator command")])
        case .disableSyncError:
            return Entry(
                level: .must,
                statement: "A synchronization error between the persistent memories disables transition 212 while it lasts.",
                citations: [cite(6, "35-39", normalState, "(b) a synchronization error between the persistent memories 113")])
        case .disableVersion:
            return Entry(
                level: .must,
                statement: "A new message whose status protocol version differs from the node's own disables transition 212 until a matching one arrives.",
                citations: [cite(6, "36-40", normalState, "(c) any compatibility mismatch between the file servers 110.")])
        case .disableSignal:
            return Entry(
                level: .must,
                statement: "A node whose own takeover is disabled says so with the state indicator DISABLE, which disables takeover for both nodes.",
                citations: [cite(5, "1-10", method, "(DISABLE) takeover is disabled for both file servers 110.")])
        case .takeoverSend:
            return Entry(
                level: .must,
                statement: "Takeover step 213 first sends the state indicator TAKEOVER on every channel.",
                citations: [cite(6, "40-44", normalState, "This file server 110 sends the message 124 state indicator TAKEOVER to the other file server 110")])
        case .takeoverWait:
            return Entry(
                level: .must,
                statement: "After sending TAKEOVER the node waits for the peer to have the opportunity to receive it and suspend its access to the disks, before it reserves any of them.",
                citations: [cite(6, "35-40", normalState, "This file server 110 waits for the other file server 110 to have the opportunity to receive and act on the TAKEOVER-OPERATION transition 212")])
        case .takeoverWaitDuration:
            return Entry(
                level: .modelChoice,
                statement: "The wait of step 213 lasts 1 s.",
                citations: [],
                rationale: "It must exceed the longest delivery the fault hypothesis allows (a 400 ms delay plus a 100 ms mailbox poll and a 20 ms region write) on any one channel; 1 s leaves margin.")
        case .takeoverReserve:
            return Entry(
                level: .must,
                statement: "After the wait the node issues reservations for the disks normally assigned to the peer and takes control of all disks.",
                citations: [cite(6, "49-53", normalState, "This file server 110 issues disk reservation commands to the mass storage devices 120 normally assigned to the other file server 110.")])
        case .takeoverPassive:
            return Entry(
                level: .must,
                statement: "The takeover completes only if the peer is passive: a new message during the wait showing the peer operating means it is not.",
                citations: [cite(6, "51-55", normalState, "This file server 110 takes any other appropriate action to assure that the other file server 110 is passive.")],
                rationale: nil)
        case .takeoverAbort:
            return Entry(
                level: .must,
                statement: "A takeover that cannot complete (disabled, or the peer not passive) returns the node to NORMAL.",
                citations: [cite(6, "57-61", normalState, "Otherwise (such as if takeover is disabled), this file server 110 returns to the NORMAL state 210.")])
        case .takeoverMessages:
            return Entry(
                level: .must,
                statement: "In TAKEOVER the node keeps sending its status (TAKEOVER) on every channel and controls both its own and the peer's disks.",
                citations: [cite(6, "63-67", takeoverState, "In this state, this file server 110 continues to write messages 124 to the persistent memory 113 and to the mailbox disks 122, so as to preserve its own state in the event of a service interruption.")])
        case .claim14StopWriting:
            return Entry(
                level: .must,
                statement: "A node that learns from a new message that the peer is taking over stops writing to the shared disks at once (it enters STOPPED, or if rebooting waits for giveback).",
                citations: [
                    claim([13], "said message indicating that said first server is attempting said takeover;"),
                    claim([14], "said second server is disposed for altering its state in response to said message, in said altered state refraining from writing to said shared resource."),
                ])
        case .claim13Fenced:
            return Entry(
                level: .modelChoice,
                statement: "A node whose write is refused because the peer holds the disk's reservation treats it as the peer's takeover and stops writing.",
                citations: [claim([13], "receipt of said message being responsive to a state of said shared resource.")],
                rationale: "Claim 13 lets the shared resource itself carry the takeover news; a reservation conflict is the form it takes on a disk.")
        case .t221Giveback:
            return Entry(
                level: .must,
                statement: "On the operator's command a node in TAKEOVER gives back (transition 221) and enters NORMAL when the giveback completes.",
                citations: [cite(7, "1-10", takeoverState, "An operator for this file server 110 determines that the other file server 110 has recovered from its service interruption. The GIVEBACK-OPERATION transition 221 is taken to enter the NORMAL state 210.")])
        case .givebackRelease:
            return Entry(
                level: .must,
                statement: "Giveback step 222 first releases the reservations of the peer's disks and stops using them.",
                citations: [cite(7, "15-20", takeoverState, "This file server 110 releases its disk reservation commands to the mass storage devices 120 normally assigned to the other file server 110.")])
        case .givebackSendNormal:
            return Entry(
                level: .must,
                statement: "Giveback then sends the state indicator NORMAL on every channel.",
                citations: [cite(7, "27-31", takeoverState, "This file server 110 sends the message 124 state indicator NORMAL to the other file server 110, including using the mailbox disks 122, the SAN 130, and the PN 140.")])
        case .givebackHold:
            return Entry(
                level: .must,
                statement: "Until the peer is seen in NORMAL the giving-back node holds the peer's takeover disabled (it sends NO-TAKEOVER) and stays at step 222.",
                citations: [cite(7, "20-27", takeoverState, "This file server 110 disables the TAKEOVER-OPERATION transition 212 by the other file server 110 until the other file server 110 enters the NORMAL state 210.")],
                rationale: nil)
        case .stoppedNoOps:
            return Entry(
                level: .must,
                statement: "In STOPPED a node controls no disk and does nothing (sends nothing, reads nothing) until it reboots.",
                citations: [cite(7, "42-46", stoppedState, "In this state, this file server 110 performs no operations, until this file server 110 determines that it reboot.")])
        case .t231Reboot:
            return Entry(
                level: .must,
                statement: "On the operator's command a STOPPED node reboots (transition 231) and enters REBOOTING.",
                citations: [cite(7, "49-53", stoppedState, "The REBOOT-OPERATION transition 231 is taken to enter the REBOOTING state 240.")])
        case .t241RebootFailed:
            return Entry(
                level: .must,
                statement: "A rebooting node that cannot recover, or finds the peer in TAKEOVER, stays in REBOOTING (transition 241) and waits for the giveback.",
                citations: [
                    cite(7, "63-67", rebooting, "If this file server 110 is unable to recover from the service interruption, the REBOOT-FAILED transition 241 is taken"),
                    cite(8, "2-6", rebooting, "but the other file server 110 is in the TAKEOVER state 220, the REBOOT-FAILED transition 241 is taken"),
                ])
        case .t242RebootNormal:
            return Entry(
                level: .must,
                statement: "A recovered node that seized only its own disks enters NORMAL (transition 242).",
                citations: [cite(8, "14-18", rebooting, "the REBOOT-NORMAL transition 242 is taken and this file server 110 enters the NORMAL state 210.")])
        case .t243RebootTakeover:
            return Entry(
                level: .must,
                statement: "A recovered node that had taken over before the interruption and seized all disks enters TAKEOVER (transition 243).",
                citations: [cite(8, "19-23", rebooting, "the REBOOT-TAKEOVER transition 243 is taken and this file server 110 enters the TAKEOVER state 210.")])
        case .reboot251:
            return Entry(
                level: .must,
                statement: "Step 251: the node initiates recovery: it reads its persistent memory, increments and persists its generation, and reports its status.",
                citations: [cite(8, "24-28", rebooting, "At a step 251, this file server 110 initiates its recovery operation.")])
        case .reboot252:
            return Entry(
                level: .must,
                statement: "Step 252: the node checks whether it can write its disks; if the peer holds them it prompts the operator for a giveback and waits until the giveback is complete.",
                citations: [cite(8, "25-29", rebooting, "At a step 252, this file server 110 determines whether it is able to write to any of the mass storage devices 120")])
        case .reboot253:
            return Entry(
                level: .must,
                statement: "Step 253: from its persistent memory and the mailbox disks the node determines the peer's state and its own state before the interruption, and chooses step 254 or 255.",
                citations: [cite(8, "37-41", rebooting, "At a step 253, this file server 110 determines the state of the other file server 110.")])
        case .reboot254:
            return Entry(
                level: .must,
                statement: "Step 254: the node seizes its own disks only.",
                citations: [cite(8, "52-56", rebooting, "At a step 254, this file server 110 attempts to seize its own mass storage devices 120 but not those normally assigned to the other file server 110.")])
        case .reboot255:
            return Entry(
                level: .must,
                statement: "Step 255: the node seizes its own disks and the peer's.",
                citations: [cite(8, "56-60", rebooting, "At a step 255, this file server 110 attempts to seize both its own mass storage devices 120 and those normally assigned to the other file server 110.")])
        case .reboot256:
            return Entry(
                level: .must,
                statement: "Step 256: if its persistent memory holds pending operations that are not current, the node flushes them.",
                citations: [cite(8, "61-65", rebooting, "At a step 256, this file server 110 determines whether its persistent memory 113 is current with regard to pending file server operations.")])
        case .reboot257:
            return Entry(
                level: .must,
                statement: "Step 257: the node determines whether it can communicate with the peer and whether anything (operator command, sync error) prevents takeover.",
                citations: [cite(8, "65-67", rebooting, "At a step 257, this file server 110 determines if it is able to communicate with the other file server and if there is anything (such as an operator command) preventing takeover operations.")])
        case .reboot258:
            return Entry(
                level: .must,
                statement: "Step 258: the node enters NORMAL if it seized only its own disks, TAKEOVER if it seized all.",
                citations: [cite(9, "6-10", rebooting, "At a step 258, if this file server 110 was in the NORMAL state 210 before entering the REBOOTING state 240")])
        case .rebootStepPace:
            return Entry(
                level: .modelChoice,
                statement: "A rebooting node performs one of the steps 251-258 per tick (100 ms), so faults can strike between any two steps.",
                citations: [],
                rationale: "The patent gives no durations; one tick per step makes every step a distinct point of the exhaustive exploration.")
        case .recoveryReport:
            return Entry(
                level: .must,
                statement: "A node recovering from an error reports its status to the peer at every tick of REBOOTING, so that the peer does not seize its disks again.",
                citations: [
                    cite(2, "1-5", "Summary of the Invention", figure: nil, "each file server provides a status report to the others when recovering from an error, so as to prevent the possibility of multiple file servers each repeatedly failing and attempting to seize the resources of the others."),
                    claim([7], "each said server is disposed so that said takeover is responsive to said recovery information."),
                ])
        case .recoveryFlag:
            return Entry(
                level: .modelChoice,
                statement: "The status report on recovery is state NO-TAKEOVER with flag bit 0 (RECOVERING) set.",
                citations: [cite(7, "10-15", takeoverState, "If the second file server 110 sends messages 124 indicating that it has recovered from a service interruption (that is, it is in the REBOOTING state 240)")],
                rationale: "The four state indicators have no REBOOTING; NO-TAKEOVER keeps the peer from seizing the rebooting node's disks and the flag tells the peer why.")
        case .worldReservations:
            return Entry(
                level: .modelChoice,
                statement: "A disk has at most one reservation holder; a takeover reservation preempts the holder, a boot reservation (254/255) is refused when the peer holds the disk; data writes from a non-holder are refused; mailbox regions are outside reservations.",
                citations: [cite(6, "49-53", normalState, "This file server 110 issues disk reservation commands to the mass storage devices 120 normally assigned to the other file server 110.")],
                rationale: "A stopped node's reservation outlives it, so a takeover must break it (as a bus reset does); a booting node must not break a takeover; the mailbox must stay writable by both or the disks could not carry messages in TAKEOVER.")
        case .worldLatency:
            return Entry(
                level: .modelChoice,
                statement: "Delivery takes 50 µs on the SAN, 2 ms on the network and 10 ms per mailbox disk write (first disk, then second); injected delays are at most 400 ms.",
                citations: [],
                rationale: "Orders of magnitude of the media; the takeover wait and the liveness bound are derived from these figures.")
        case .worldFaultHypothesis:
            return Entry(
                level: .modelChoice,
                statement: "Split-brain freedom is claimed only for schedules that never cut all six channel directions at once; other schedules are still run and checked for every other invariant.",
                citations: [claim([24], "whereby there is no single point of failure for communication between said pair.")],
                rationale: "With every channel cut both ways two live nodes cannot tell a dead peer from a silent one; the patent's premise is a redundant path with no single point of failure.")
        case .noSplitBrain:
            return Entry(
                level: .must,
                statement: "No disk is ever controlled (written or reserved) by both nodes at the same time; both nodes never perform the takeover concurrently.",
                citations: [
                    claim([3], "whereby said communication path prevents both of said pair from concurrently performing said takeover."),
                    claim([8], "such that it does not occur that each of said first server and said second server both consider the other to be inoperative."),
                ])
        case .livenessTakeover:
            return Entry(
                level: .must,
                statement: "When one node really stops and the other runs in NORMAL with takeover enabled, the other takes over within 8 s of virtual time (silence multiple x longest time-out + wait + delivery and tick margins).",
                citations: [cite(1, "45-50", "Summary of the Invention", figure: nil, "attempts takeover operations only when the other file servers are clearly unable to provide their share of services.")],
                rationale: nil)
        case .noCycling:
            return Entry(
                level: .must,
                statement: "A node does not take over twice without an operator command or a reboot in between: takeover and giveback do not cycle on their own.",
                citations: [cite(2, "1-5", "Summary of the Invention", figure: nil, "In a preferred embodiment, each file server provides a status report to the others when recovering from an error")])
        }
    }
}
