import VigilCore
import VigilFailover

/// The failover-node conformance cases (US 6,119,244 FIG. 2), seen from one node: boot and the reboot
/// steps, the generation, newness over the merged stream, takeover after silence, step 213, DISABLE,
/// claims 13-14, giveback, the mailbox on both disks and the integrity check. Stored as scripts under
/// corpus/conformance/failover-node/. The IUT is node A; the kit's peer is node B, beating every status
/// period half a period after A. The order matters to nothing but the reports.
public enum FailoverNodeSuite {
    struct Builder {
        var script: Script

        init(_ id: String, _ title: String, rules: [FailoverRule], run: Double? = nil) {
            script = Script(headers: [.init(key: "case", value: id), .init(key: "role", value: "failover-node"),
                                      .init(key: "title", value: title), .init(key: "rules", value: rules.map(\.rawValue).joined(separator: " "))])
            if let run { script.headers.append(.init(key: "run", value: String(run))) }
        }

        /// A step at `seconds` of virtual time.
        mutating func at(_ seconds: Double, _ verb: String, _ argument: String, _ comment: String? = nil) {
            script.lines.append(Script.Line(time: VirtualTime(nanoseconds: UInt64((seconds * 1e9).rounded())), direction: .stimulus, verb: verb,
                                            argument: argument, comment: comment))
        }

        /// The usual start: the peer beats NORMAL on every channel and the IUT powers on.
        mutating func bootWithPeer(_ state: String = "normal") {
            at(0, "peer", "beat state=\(state)")
            at(0, "command", "boot", "step 251: read persistent memory, generation + 1, persist, report")
        }
    }

    public static var cases: [Script] {
        var out: [Script] = []

        var b = Builder("fo-boot", "Power on: steps 251-258 with the peer in NORMAL, generation 1 persisted, status on every channel",
                        rules: [.reboot251, .genIncrementAtBoot, .genPersisted, .recoveryReport, .recoveryFlag, .reboot252, .reboot253,
                                .reboot254, .reboot256, .reboot257, .reboot258, .t242RebootNormal, .sendAllChannels, .mailboxRegions,
                                .mailboxTwoDisks, .sanPersistentMemory, .networkDatagram, .saveOwnState, .msgFields, .seqIncrement,
                                .msgPeerEcho, .t211Normal, .wireLayout, .wireCarriage])
        b.bootWithPeer()
        b.at(1.5, "time", "", "NORMAL since step 258")
        out.append(b.script)

        b = Builder("fo-generation-persisted", "The generation comes from persistent memory: 41 there gives 42, a reboot after a stop gives 43",
                    rules: [.genPersisted, .genIncrementAtBoot, .seqPerGeneration, .t231Reboot, .stoppedNoOps])
        b.at(0, "memory", "node gen=41", "the node record left by the last instantiation")
        b.bootWithPeer()
        b.at(1.0, "command", "stop", "STOPPED: nothing until the reboot")
        b.at(1.5, "command", "reboot", "231: a new instantiation, generation 43")
        b.at(2.8, "time", "")
        out.append(b.script)

        b = Builder("fo-reboot-255-peer-silent", "Rebooting after its own takeover with the peer silent: step 255 seizes all disks, TAKEOVER (243)",
                    rules: [.reboot253, .reboot255, .t243RebootTakeover, .takeoverMessages, .saveOwnState])
        b.at(0, "memory", "node gen=7")
        b.at(0, "memory", "own state=takeover gen=7 seq=100", "its own last status: it had taken over")
        b.at(0, "command", "boot")
        b.at(1.5, "time", "")
        out.append(b.script)

        b = Builder("fo-reboot-254-peer-normal", "Rebooting after its own takeover while the peer says NORMAL: step 254 seizes its own disks only",
                    rules: [.reboot253, .reboot254, .t242RebootNormal])
        b.at(0, "memory", "node gen=7")
        b.at(0, "memory", "own state=takeover gen=7 seq=100")
        b.bootWithPeer()
        b.at(1.5, "time", "")
        out.append(b.script)

        b = Builder("fo-reboot-peer-in-takeover", "The peer is in TAKEOVER: the rebooting node waits at step 252 until the giveback (241)",
                    rules: [.t241RebootFailed, .reboot252, .recoveryReport, .claim14StopWriting, .disablePeerMessage])
        b.at(0, "peer", "reserve disks=0,1", "the peer holds this node's disks")
        b.bootWithPeer("takeover")
        b.at(1.5, "peer", "release disks=0,1", "the peer gives back (its step 222)")
        b.at(1.5, "peer", "beat state=no-takeover")
        b.at(2.5, "peer", "beat state=normal")
        b.at(3.5, "time", "")
        out.append(b.script)

        b = Builder("fo-reboot-reservation-refused", "A boot reservation is refused (the peer still holds a disk): back to step 252 until it is released",
                    rules: [.t241RebootFailed, .worldReservations, .reboot254])
        b.at(0, "peer", "reserve disks=1", "a reservation left from an earlier takeover")
        b.bootWithPeer()
        b.at(1.2, "peer", "release disks=1")
        b.at(2.5, "time", "")
        out.append(b.script)

        b = Builder("fo-duplicate-on-three-channels", "One message arrives on the network, then the SAN, then the mailbox: it is new once",
                    rules: [.msgMergedStream, .msgNewness, .channelUpdate, .msgPeerEcho, .msgIgnoreOld])
        b.bootWithPeer()
        b.at(1.0, "peer", "quiet")
        b.at(1.0, "peer", "send state=normal on=network")
        b.at(1.15, "peer", "send state=normal back=0 on=san", "the same generation and sequence, later, on the SAN")
        b.at(1.35, "peer", "send state=normal back=0 on=mailbox", "and later still on the mailbox")
        b.at(1.5, "peer", "beat state=normal")
        b.at(2.5, "time", "")
        out.append(b.script)

        b = Builder("fo-stale-late-channel", "An older message arriving late on one channel changes nothing: NO-TAKEOVER stays in force",
                    rules: [.msgMergedStream, .msgIgnoreOld, .disablePeerMessage, .channelUpdate])
        b.bootWithPeer()
        b.at(1.2, "peer", "quiet")
        b.at(1.2, "peer", "send state=normal on=network", "sequence S")
        b.at(1.21, "peer", "send state=no-takeover on=network,san", "sequence S+1: takeover disabled")
        b.at(1.22, "peer", "send state=normal back=1 on=mailbox", "sequence S reaches the mailbox late: new on that channel, old on the merged stream")
        b.at(1.45, "peer", "beat state=no-takeover")
        b.at(2.5, "time", "")
        out.append(b.script)

        b = Builder("fo-old-generation-ignored", "A message of the peer's previous generation is old, whatever its sequence: a stale TAKEOVER is ignored",
                    rules: [.msgNewness, .msgIgnoreOld, .seqPerGeneration])
        b.at(0, "peer", "reboot", "the peer is in its generation 2")
        b.bootWithPeer()
        b.at(1.2, "peer", "send state=takeover gen=1 seq=999 on=network", "generation 1, sequence 999: not new")
        b.at(2.2, "time", "")
        out.append(b.script)

        b = Builder("fo-new-generation-accepted", "The peer reboots: its generation 2 restarts at sequence 1 and is new",
                    rules: [.msgNewness, .genIncrementAtBoot, .seqPerGeneration, .disablePeerMessage, .recoveryFlag])
        b.bootWithPeer()
        b.at(1.2, "peer", "quiet")
        b.at(1.2, "peer", "reboot")
        b.at(1.2, "peer", "beat state=no-takeover recovering", "generation 2, sequence 1, 2, ...")
        b.at(2.0, "peer", "beat state=normal")
        b.at(3.0, "time", "")
        out.append(b.script)

        b = Builder("fo-corrupt-ignored", "Corrupted messages are discarded before the newness rule: a TAKEOVER with a bad CRC-32C changes nothing",
                    rules: [.wireIntegrity, .msgStateIndicator, .wireLayout, .wireCarriage])
        b.bootWithPeer()
        b.at(1.2, "peer", "send state=takeover corrupt=crc on=network", "the CRC-32C does not match")
        b.at(1.3, "peer", "send state=takeover corrupt=state on=network", "state code 9 (valid CRC)")
        b.at(1.4, "peer", "send state=takeover corrupt=magic on=san")
        b.at(1.6, "peer", "send state=takeover corrupt=length on=mailbox")
        b.at(1.8, "peer", "send state=takeover corrupt=flags on=network", "a reserved flag bit")
        b.at(1.9, "peer", "send state=takeover corrupt=writer on=network", "the envelope names the wrong writer")
        b.at(2.5, "time", "")
        out.append(b.script)

        b = Builder("fo-takeover-after-silence", "The peer falls silent on every channel: TAKEOVER after 2x the mailbox time-out, the 1 s wait, then the reservations",
                    rules: [.takeoverSilence, .silenceMultiple, .timeoutPerChannel, .timeoutNetwork, .channelUpdate, .t212Takeover,
                            .takeoverSend, .takeoverWait, .takeoverWaitDuration, .takeoverReserve, .takeoverMessages, .livenessTakeover])
        b.bootWithPeer()
        b.at(1.0, "peer", "quiet", "the peer stops")
        b.at(8.0, "time", "")
        out.append(b.script)

        b = Builder("fo-one-channel-silent", "Silence on the SAN, then also on the network, is not silence on every channel: no takeover",
                    rules: [.takeoverSilence, .timeoutPerChannel, .channelUpdate])
        b.at(0, "channel", "cut san", "the peer's SAN records never arrive")
        b.bootWithPeer()
        b.at(2.0, "channel", "cut network")
        b.at(2.5, "channel", "drop mailbox count=3", "three mailbox writes lost: 300 ms, far below the time-out")
        b.at(4.5, "time", "")
        out.append(b.script)

        b = Builder("fo-takeover-aborted", "The peer speaks again during the wait of step 213: it is not passive, the takeover stops before any reservation",
                    rules: [.takeoverPassive, .takeoverAbort])
        b.bootWithPeer()
        b.at(1.0, "peer", "quiet")
        b.at(6.5, "peer", "beat state=normal", "during the wait that follows TAKEOVER")
        b.at(8.5, "time", "")
        out.append(b.script)

        b = Builder("fo-peer-disable", "The peer says DISABLE and then falls silent: takeover stays disabled",
                    rules: [.disablePeerMessage, .disableSignal])
        b.bootWithPeer()
        b.at(1.0, "peer", "beat state=disable")
        b.at(1.5, "peer", "quiet")
        b.at(8.5, "time", "")
        out.append(b.script)

        b = Builder("fo-operator-disable", "The operator disables takeover: DISABLE on every channel, no takeover after silence; enabled again, it takes over",
                    rules: [.disableOperator, .disableSignal, .t212Takeover])
        b.bootWithPeer()
        b.at(1.0, "command", "disable")
        b.at(1.2, "peer", "quiet")
        b.at(8.0, "command", "enable")
        b.at(9.6, "time", "")
        out.append(b.script)

        b = Builder("fo-operator-disable-persists", "The operator's DISABLE is kept in persistent memory and survives a reboot",
                    rules: [.disableOperator, .disableSignal, .reboot257, .genPersisted])
        b.bootWithPeer()
        b.at(1.0, "command", "disable")
        b.at(1.3, "command", "stop")
        b.at(1.6, "command", "reboot")
        b.at(3.0, "time", "")
        out.append(b.script)

        b = Builder("fo-disable-during-wait", "The operator disables takeover during the wait of step 213: no reservation follows",
                    rules: [.takeoverAbort, .disableOperator])
        b.bootWithPeer()
        b.at(1.0, "peer", "quiet")
        b.at(6.5, "command", "disable")
        b.at(8.0, "time", "")
        out.append(b.script)

        b = Builder("fo-version-mismatch", "A new message of another status protocol version disables takeover",
                    rules: [.disableVersion])
        b.bootWithPeer()
        b.at(1.2, "peer", "quiet")
        b.at(1.2, "peer", "send state=normal version=2")
        b.at(8.0, "time", "")
        out.append(b.script)

        b = Builder("fo-claim14-peer-takeover", "A new message shows the peer in TAKEOVER: the node stops writing at once (STOPPED)",
                    rules: [.claim14StopWriting, .stoppedNoOps])
        b.bootWithPeer()
        b.at(1.2, "peer", "beat state=takeover")
        b.at(2.0, "time", "")
        out.append(b.script)

        b = Builder("fo-claim13-fenced", "A mailbox write is refused for the peer's reservation: the node stops writing (STOPPED)",
                    rules: [.claim13Fenced, .stoppedNoOps])
        b.bootWithPeer()
        b.at(1.2, "disk", "fence disk=0", "writes to disk 0 now end in a reservation conflict")
        b.at(2.0, "time", "")
        out.append(b.script)

        b = Builder("fo-giveback", "Giveback: release the peer's disks, NORMAL once, NO-TAKEOVER until the peer says NORMAL, then NORMAL (221)",
                    rules: [.givebackRelease, .givebackSendNormal, .givebackHold, .t221Giveback, .takeoverMessages])
        b.at(0, "memory", "node gen=3")
        b.at(0, "memory", "own state=takeover gen=3 seq=50")
        b.at(0, "command", "boot", "the peer is silent: 255, TAKEOVER")
        b.at(1.0, "peer", "reboot")
        b.at(1.0, "peer", "beat state=no-takeover recovering", "the peer recovers (its step 251 and on)")
        b.at(1.5, "command", "giveback")
        b.at(2.5, "peer", "beat state=normal")
        b.at(3.5, "time", "")
        out.append(b.script)

        return out
    }
}
