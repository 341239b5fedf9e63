import VigilCore

/// Named schedules: the base runs of the exhaustive exploration, and the scenario library whose rule
/// traces together must cover the whole catalog.
public enum FailoverScenario: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Both nodes run; nothing happens unless the exploration injects it (at 1 s).
    case steady
    /// Node B crashes at 2 s; A takes over (212, 213).
    case takeover
    /// B crashes, A takes over, B is rebooted (231) and waits (241, 252); the operator gives back (221,
    /// 222); B comes up NORMAL (242).
    case rebootAfterTakeover = "reboot-after-takeover"
    /// B crashes at 10 s and is rebooted 0.2 s later, before A's silence runs out.
    case quickRestart = "quick-restart"
    /// The network and the SAN are cut both ways at 1 s; the disks stay.
    case symmetricPartition = "symmetric-partition"
    /// Every channel from B to A is cut at 1 s: A sees silence while B runs.
    case oneWaySilence = "one-way-silence"
    /// A takes over, crashes in TAKEOVER, and reboots into TAKEOVER (243) via step 255.
    case rebootIntoTakeover = "reboot-into-takeover"
    /// Operator disables takeover at A, a sync error at B, recovery failures, flush at 256, channel faults.
    case disabledTakeover = "disabled-takeover"
    /// Faults of every kind on every channel, then a crash, a reboot and a giveback.
    case faultyChannels = "faulty-channels"
    /// Every channel cut both ways at 1 s (outside the fault hypothesis), healed at 8 s.
    case totalPartition = "total-partition"
    /// B's links to A go quiet long enough for A to begin a takeover, then heal during A's wait.
    case lateAnswer = "late-answer"

    public var description: String { rawValue }

    public var schedule: Schedule {
        func at(_ ms: UInt64, _ e: WorldEvent) -> ScheduledEvent { ScheduledEvent(at: .milliseconds(ms), e) }
        switch self {
        case .steady:
            return Schedule(duration: .seconds(12))
        case .takeover:
            return Schedule([at(2_000, .crash(.b))], duration: .seconds(12))
        case .rebootAfterTakeover:
            return Schedule(
                [at(2_000, .crash(.b)), at(10_000, .command(.b, .reboot)), at(12_000, .command(.a, .giveback))],
                duration: .seconds(20))
        case .quickRestart:
            return Schedule([at(10_000, .crash(.b)), at(10_200, .command(.b, .reboot))], duration: .seconds(22))
        case .symmetricPartition:
            return Schedule(
                [.san, .network].flatMap { c in NodeID.allCases.map { at(1_000, .cut(ChannelDirection(c, from: $0))) } },
                duration: .seconds(20))
        case .oneWaySilence:
            return Schedule(Channel.allCases.map { at(1_000, .cut(ChannelDirection($0, from: .b))) }, duration: .seconds(12))
        case .rebootIntoTakeover:
            return Schedule(
                [
                    at(2_000, .crash(.b)), at(9_000, .crash(.a)), at(9_500, .failRecovery(.a)),
                    at(10_000, .command(.a, .reboot)),
                ], duration: .seconds(14))
        case .disabledTakeover:
            return Schedule(
                [
                    at(1_000, .command(.a, .disableTakeover)), at(1_500, .syncError(.b)), at(2_000, .crash(.b)),
                    at(9_000, .command(.a, .enableTakeover)), at(9_200, .failRecovery(.b)),
                    at(9_300, .command(.b, .reboot)), at(12_000, .syncRestored(.b)),
                    at(17_000, .command(.b, .stop)),
                ], duration: .seconds(20))
        case .faultyChannels:
            var events: [ScheduledEvent] = []
            var t: UInt64 = 1_000
            for d in ChannelDirection.allCases {
                for f in [
                    ChannelFault.drop, .delay(.milliseconds(300)), .duplicate, .reorder, .corrupt(byte: 20, mask: 0x40),
                ] {
                    events.append(at(t, .fault(d, f)))
                    t += 37
                }
            }
            events.append(at(6_000, .crash(.b)))
            events.append(at(14_000, .command(.b, .reboot)))
            events.append(at(16_000, .command(.a, .giveback)))
            return Schedule(events, duration: .seconds(24))
        case .totalPartition:
            let all = ChannelDirection.allCases
            return Schedule(
                all.map { at(1_000, .cut($0)) } + all.map { at(8_000, .heal($0)) }, duration: .seconds(12))
        case .lateAnswer:
            let fromB = Channel.allCases.map { ChannelDirection($0, from: .b) }
            // A begins at 6 s (5 s of silence). B's SAN heals at 5.94 s, and B's message of 5.95 s is delayed
            // 300 ms: it arrives inside A's 1 s wait, after B has already stopped on A's TAKEOVER.
            return Schedule(
                fromB.map { at(1_000, .cut($0)) }
                    + [at(5_940, .heal(ChannelDirection(.san, from: .b))), at(5_940, .fault(ChannelDirection(.san, from: .b), .delay(.milliseconds(300))))],
                duration: .seconds(14))
        }
    }
}
