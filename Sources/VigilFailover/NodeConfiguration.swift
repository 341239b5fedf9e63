import VigilCore

/// Everything about a node that is a setting rather than state: timing (model choices where the patent
/// gives no figure) and the switches that make the deliberately broken variants. A variant is an ordinary
/// configuration value; the world and the checker treat every node alike.
public struct NodeConfiguration: Sendable, Hashable {
    public var protocolVersion: UInt8 = StatusMessage.currentVersion
    /// FO-STATUS-PERIOD.
    public var statusPeriod: VirtualTime = .milliseconds(100)
    /// FO-TIMEOUT-PER-CHANNEL (mailbox 2.5 s, SAN 0.5 s) and FO-TIMEOUT-NETWORK (1 s), indexed by channel.
    public var timeouts: [VirtualTime] = [.milliseconds(2_500), .milliseconds(500), .milliseconds(1_000)]
    /// FO-SILENCE-MULTIPLE.
    public var silenceMultiple: UInt64 = 2
    /// FO-213-WAIT-DURATION.
    public var takeoverWait: VirtualTime = .seconds(1)

    // Variant switches; the reference node has them all at the patent's behaviour.
    /// Channels whose messages the node reads. The reference reads all three.
    public var listensOn: Set<Channel> = Set(Channel.allCases)
    /// FO-213-WAIT: the reference waits before it reserves the peer's disks.
    public var waitsBeforeReserving = true
    /// FO-GEN-INCREMENT-AT-BOOT.
    public var incrementsGenerationAtBoot = true
    /// FO-MSG-NEWNESS: generation first.
    public var newnessOrder: NewnessOrder = .generationThenSequence
    /// FO-CLAIM14-STOP-WRITING.
    public var stopsWritingOnPeerTakeover = true

    public init() {}

    public static let reference = NodeConfiguration()

    /// Silence that makes a channel count as dead: the multiple of its time-out.
    public func silenceLimit(_ channel: Channel) -> VirtualTime {
        VirtualTime(nanoseconds: timeouts[Int(channel.rawValue)].nanoseconds * silenceMultiple)
    }

    /// The longest silence limit over all channels.
    public var longestSilenceLimit: VirtualTime {
        Channel.allCases.map(silenceLimit).max() ?? .zero
    }
}

/// The deliberately broken nodes the checker must catch, and the reference.
public enum NodeVariant: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case reference
    case ignoresMailbox = "ignores-mailbox"
    case reservesWithoutWaiting = "reserves-without-waiting"
    case keepsGeneration = "keeps-generation-at-boot"
    case sequenceBeforeGeneration = "sequence-before-generation"
    case keepsWritingAfterTakeover = "keeps-writing-after-takeover"

    public var configuration: NodeConfiguration {
        var c = NodeConfiguration.reference
        switch self {
        case .reference: break
        case .ignoresMailbox: c.listensOn = [.san, .network]
        case .reservesWithoutWaiting: c.waitsBeforeReserving = false
        case .keepsGeneration: c.incrementsGenerationAtBoot = false
        case .sequenceBeforeGeneration: c.newnessOrder = .sequenceThenGeneration
        case .keepsWritingAfterTakeover: c.stopsWritingOnPeerTakeover = false
        }
        return c
    }

    public var description: String { rawValue }
}

/// Which disks belong to whom. Node A normally controls disks 0 and 1, node B disks 2 and 3; disks 0 and 2
/// are the first and second mailbox disks (model choice, FO-MAILBOX-REGIONS).
public enum DiskLayout {
    public static let diskCount = 4
    public static func own(_ node: NodeID) -> [Int] { node == .a ? [0, 1] : [2, 3] }
    public static let all = [0, 1, 2, 3]
    public static let mailboxDisks = [0, 2]
}
