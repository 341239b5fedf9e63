import VigilCore

/// A seeded generator of failover-node cases (US 6,119,244) in the notation `FailoverNodeOracle` drives
/// (`specs/script.md`, "failover-node notation"). The kit plays the peer node, the disks, both persistent
/// memories, the three channels, the operator and the clock; a case is a boot followed by a weighted random
/// stream of what those can do:
///
/// - the peer's status messages on any subset of the channels (mailbox disk, SAN / persistent memory,
///   network), with generation and sequence at the edges of the newness rule: the next one, equal to the
///   last (`back=0`), one older (`back=1`), a skip ahead, an older generation with a higher sequence, a
///   message of the generation before a peer reboot (stale), a message arriving late on the slow mailbox
///   channel after a newer one on the fast channels, the same message on all three channels in turn;
/// - corrupted messages (every `corrupt=` kind), another status protocol version;
/// - the peer's beat with each state, its silence, its crash and reboot (a new generation), its disk
///   reservations;
/// - channel cuts and heals, dropped messages;
/// - silence: the clock jumping past a channel's time-out, its multiple (2x), the mailbox's, and on
///   through the wait of step 213;
/// - the operator: takeover disable / enable, giveback, stop, reboot;
/// - fenced disks (claim 13) and the node's persistent memory before a boot (its node record, its own
///   last status, e.g. TAKEOVER, so that the reboot goes through step 255).
///
/// Same rng state, same script: only `rng` is drawn from, and nothing depends on dictionary order.
public enum FailoverGenerators {
    /// The channels as the notation names them, in a fixed order.
    static let channels = ["mailbox", "san", "network"]
    static let states = ["normal", "takeover", "no-takeover", "disable"]
    static let corruptions = ["crc", "magic", "state", "flags", "length", "writer"]

    /// A builder of one case: the clock, the lines, and what the generator remembers of the peer.
    struct Builder {
        var script = Script(headers: [.init(key: "case", value: "fuzz"), .init(key: "role", value: "failover-node")])
        /// Virtual time of the next line, in nanoseconds.
        var t: UInt64 = 0
        /// The peer's generation as the kit's peer counts it (1, then one more per `peer reboot`).
        var peerGeneration: UInt32 = 1
        var beating = false
        var bootGeneration: UInt32 = 0

        mutating func add(_ verb: String, _ argument: String) {
            script.lines.append(Script.Line(time: VirtualTime(nanoseconds: t), direction: .stimulus, verb: verb, argument: argument))
        }

        mutating func advance(ms: UInt64) { t += ms * 1_000_000 }

        var stimuli: Int { script.lines.count }
    }

    /// A failover-node case with about `events` stimuli after the boot.
    public static func nodeCase(_ rng: inout SplitMix64, events: Int) -> Script {
        var b = Builder()
        preamble(&rng, &b)
        // Most cases are short (the protocol's reactions come within a few status periods, and a short case
        // runs fast); a third have one silence long enough for every channel's multiple of its time-out and
        // the wait of step 213 to pass.
        let long = rng.below(3) == 0
        let count = max(2, events)
        let silenceAt = long ? Int(rng.below(UInt64(count))) : -1
        for i in 0..<count {
            // The gap before the next stimulus: mostly within a few status periods.
            switch rng.below(10) {
            case 0..<6: b.advance(ms: rng.below(150))
            case 6..<9: b.advance(ms: 150 + rng.below(450))
            default: b.advance(ms: silenceGap(&rng, long: false))
            }
            event(&rng, &b, long: long)
            if i == silenceAt {
                // The peer falls silent (or is already) and the clock runs past the mailbox's 2x time-out,
                // into or through the wait of step 213.
                if b.beating || rng.below(2) == 0 {
                    b.add("peer", "quiet")
                    b.beating = false
                }
                b.advance(ms: silenceGap(&rng, long: true))
                b.add("time", "")
            }
        }
        // Let the last stimulus's consequences show.
        b.advance(ms: long ? 300 + rng.below(1_500) : 100 + rng.below(800))
        b.add("time", "")
        return b.script
    }

    /// What the node's persistent memory and the peer hold before the boot, then the boot.
    static func preamble(_ rng: inout SplitMix64, _ b: inout Builder) {
        // The node record of the previous instantiation (none: a node booting for the first time).
        if rng.below(3) == 0 {
            b.bootGeneration = [1, 2, 7, 41, 1_000][Int(rng.below(5))]
            b.add("memory", "node gen=\(b.bootGeneration)" + (rng.below(6) == 0 ? " disabled" : ""))
        }
        // Its own last status: had it taken over before the interruption (step 253 goes to 255)?
        switch rng.below(8) {
        case 0, 1: b.add("memory", "own state=takeover gen=\(b.bootGeneration) seq=\(1 + rng.below(200))")
        case 2: b.add("memory", "own state=\(pick(&rng, states)) gen=\(b.bootGeneration) seq=\(1 + rng.below(200))")
        default: break
        }
        // The record the peer left in this node's persistent memory.
        if rng.below(8) == 0 {
            b.add("memory", "peer state=\(pick(&rng, states)) gen=\(1 + rng.below(2)) seq=\(rng.below(3) == 0 ? 999 : 1 + rng.below(20))")
        }
        if rng.below(10) == 0 {
            b.add("peer", "reboot")
            b.peerGeneration &+= 1
        }
        if rng.below(10) == 0 { b.add("peer", "reserve disks=\(pick(&rng, ["0", "1", "0,1", "2,3"]))") }
        if rng.below(8) != 0 {
            let state = rng.below(8) == 0 ? pick(&rng, states) : "normal"
            b.add("peer", "beat state=\(state)" + channelsArgument(&rng, sometimes: 6))
            b.beating = true
        }
        b.add("command", "boot")
    }

    /// One stimulus (or a short group of them: a message on three channels in turn, a late copy).
    static func event(_ rng: inout SplitMix64, _ b: inout Builder, long: Bool) {
        switch rng.below(100) {
        case 0..<16:
            // One crafted message, its stamp at an edge of the newness rule.
            b.add("peer", "send state=\(messageState(&rng))" + recovering(&rng) + stampArgument(&rng, b) + channelsArgument(&rng, sometimes: 2))
        case 16..<22:
            // The same message on the network, then the SAN, then the mailbox (any order of the three).
            let order = permutation(&rng)
            b.add("peer", "send state=\(messageState(&rng)) on=\(channels[order[0]])")
            for k in 1..<3 {
                b.advance(ms: rng.below(250))
                b.add("peer", "send state=\(messageState(&rng)) back=0 on=\(channels[order[k]])")
            }
        case 22..<28:
            // A newer message on the fast channels, the one before it late on the slow one.
            let first = messageState(&rng), second = messageState(&rng)
            b.add("peer", "send state=\(first) on=network")
            b.advance(ms: rng.below(30))
            b.add("peer", "send state=\(second) on=network,san")
            b.advance(ms: rng.below(60))
            b.add("peer", "send state=\(first) back=1 on=\(pick(&rng, ["mailbox", "san", "mailbox"]))")
        case 28..<33:
            // A corrupted message (a state that would matter if it were believed).
            let state = rng.below(3) == 0 ? messageState(&rng) : "takeover"
            b.add("peer", "send state=\(state) corrupt=\(pick(&rng, corruptions))" + channelsArgument(&rng, sometimes: 1))
        case 33..<43:
            // The peer's beat, in any state, on some channels.
            b.add("peer", "beat state=\(messageState(&rng))" + recovering(&rng) + channelsArgument(&rng, sometimes: 4))
            b.beating = true
        case 43..<49:
            b.add("peer", "quiet")
            b.beating = false
        case 49..<53:
            // The peer crashes and comes back: a new generation, recovering, then normal.
            b.add("peer", "reboot")
            b.peerGeneration &+= 1
            if rng.below(2) == 0 {
                b.add("peer", "beat state=no-takeover recovering")
                b.beating = true
            }
        case 53..<61:
            let action = pick(&rng, ["cut", "cut", "heal", "drop"])
            let channel = pick(&rng, channels)
            b.add("channel", action == "drop" ? "drop \(channel) count=\(1 + rng.below(12))" : "\(action) \(channel)")
        case 61..<69:
            // Silence: the clock alone.
            b.advance(ms: silenceGap(&rng, long: false))
            b.add("time", "")
        case 69..<75:
            b.add("command", pick(&rng, ["disable", "enable", "enable"]))
        case 75..<80:
            b.add("command", "giveback")
        case 80..<82:
            b.add("command", "stop")
        case 82..<86:
            // A reboot, sometimes of a node whose own last status will read TAKEOVER.
            if rng.below(3) == 0 { b.add("memory", "own state=takeover gen=\(b.bootGeneration) seq=\(1 + rng.below(200))") }
            b.add("command", pick(&rng, ["reboot", "reboot", "boot"]))
        case 86..<90:
            b.add("disk", "\(pick(&rng, ["fence", "unfence"])) disks=\(pick(&rng, ["0", "1", "2", "3", "0,2"]))")
        case 90..<94:
            b.add("peer", "\(pick(&rng, ["reserve", "release"])) disks=\(pick(&rng, ["0", "1", "0,1", "2,3"]))")
        default:
            // The peer stops: silence on every channel (the crash of the patent's FIG. 2).
            b.add("peer", "quiet")
            b.beating = false
        }
    }

    /// Time-outs (model): SAN 0.5 s, network 1 s, mailbox 2.5 s; the multiple is 2; the wait of step 213 1 s.
    /// A gap just below or just past one of them (`long`: past the mailbox's multiple, up to the end of the
    /// wait and beyond).
    static func silenceGap(_ rng: inout SplitMix64, long: Bool) -> UInt64 {
        let edges: [UInt64] = long ? [4_900, 5_150, 5_600, 6_150, 6_600, 7_300] : [450, 550, 950, 1_050, 1_950, 2_100, 2_450, 2_600]
        return edges[Int(rng.below(UInt64(edges.count)))] + rng.below(100)
    }

    static func messageState(_ rng: inout SplitMix64) -> String {
        switch rng.below(10) {
        case 0..<4: "normal"
        case 4..<6: "takeover"
        case 6..<8: "no-takeover"
        default: "disable"
        }
    }

    static func recovering(_ rng: inout SplitMix64) -> String { rng.below(8) == 0 ? " recovering" : "" }

    /// The stamp of a crafted message, relative to the peer's last one.
    static func stampArgument(_ rng: inout SplitMix64, _ b: Builder) -> String {
        switch rng.below(12) {
        case 0..<4: return ""  // the next one: new
        case 4: return " back=0"  // equal: a duplicate
        case 5: return " back=1"  // one older
        case 6: return " back=\(2 + rng.below(5))"
        case 7:
            // An older generation with a higher sequence: old whatever the sequence.
            return b.peerGeneration > 1 ? " gen=\(b.peerGeneration - 1) seq=\(999 + rng.below(2))" : " back=1"
        case 8:
            // A newer generation with a lower sequence: new whatever the sequence.
            return " gen=\(b.peerGeneration + 1) seq=\(1 + rng.below(2))"
        case 9: return " version=2"
        default: return ""
        }
    }

    /// ` on=…` with a random nonempty subset of the channels, one time in `sometimes` (0: never); else all.
    static func channelsArgument(_ rng: inout SplitMix64, sometimes: UInt64) -> String {
        guard sometimes > 0, rng.below(sometimes) == 0 else { return "" }
        let mask = 1 + rng.below(7)
        let chosen = (0..<3).filter { mask & (1 << UInt64($0)) != 0 }.map { channels[$0] }
        return " on=" + chosen.joined(separator: ",")
    }

    static func permutation(_ rng: inout SplitMix64) -> [Int] {
        var p = [0, 1, 2]
        for i in stride(from: 2, to: 0, by: -1) { p.swapAt(i, Int(rng.below(UInt64(i + 1)))) }
        return p
    }

    static func pick(_ rng: inout SplitMix64, _ choices: [String]) -> String { choices[Int(rng.below(UInt64(choices.count)))] }
}
