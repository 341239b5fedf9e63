import VigilCore

/// A fault that strikes the next message sent on one channel in one direction.
public enum ChannelFault: Sendable, Hashable, CustomStringConvertible {
    case drop
    /// Delivered late by this much (capped at `World.maximumInjectedDelay`, FO-WORLD-LATENCY).
    case delay(VirtualTime)
    /// Delivered twice, the copy 1 ms after the original.
    case duplicate
    /// Held back and delivered just after the following message.
    case reorder
    /// One byte (index taken modulo the carrier size) xored with `mask` (0 counts as 1).
    case corrupt(byte: Int, mask: UInt8)

    public var description: String {
        switch self {
        case .drop: "drop"
        case .delay(let d): "delay \(d)"
        case .duplicate: "duplicate"
        case .reorder: "reorder"
        case .corrupt(let byte, let mask): "corrupt byte \(byte) ^ 0x\(String(mask, radix: 16))"
        }
    }
}

/// One channel in one direction: from `from` to its peer.
public struct ChannelDirection: Sendable, Hashable, CustomStringConvertible, CaseIterable {
    public var channel: Channel
    public var from: NodeID
    public init(_ channel: Channel, from: NodeID) {
        self.channel = channel
        self.from = from
    }
    public static let allCases: [ChannelDirection] = Channel.allCases.flatMap { c in
        NodeID.allCases.map { ChannelDirection(c, from: $0) }
    }
    public var description: String { "\(channel) \(from)→\(from.peer)" }
}

/// What a schedule does to the world: faults, crashes, operator commands.
public enum WorldEvent: Sendable, Hashable, CustomStringConvertible {
    case cut(ChannelDirection)
    case heal(ChannelDirection)
    case fault(ChannelDirection, ChannelFault)
    /// The node loses its volatile state and stops (STOPPED, 230).
    case crash(NodeID)
    case command(NodeID, OperatorCommand)
    /// The persistent memories fall out of (or back into) sync at this node.
    case syncError(NodeID)
    case syncRestored(NodeID)
    /// The next recovery attempt of this node fails (transition 241).
    case failRecovery(NodeID)

    public var description: String {
        switch self {
        case .cut(let d): "cut \(d)"
        case .heal(let d): "heal \(d)"
        case .fault(let d, let f): "\(f) on \(d)"
        case .crash(let n): "crash \(n)"
        case .command(let n, let c): "operator \(c.rawValue) at \(n)"
        case .syncError(let n): "persistent-memory sync error at \(n)"
        case .syncRestored(let n): "persistent-memory sync restored at \(n)"
        case .failRecovery(let n): "next recovery of \(n) fails"
        }
    }
}

public struct ScheduledEvent: Sendable, Hashable, CustomStringConvertible {
    public var at: VirtualTime
    public var event: WorldEvent
    public init(at: VirtualTime, _ event: WorldEvent) {
        self.at = at
        self.event = event
    }
    public var description: String { "\(at)  \(event)" }
}

/// A run of the pair: events at virtual times, and how long to run.
public struct Schedule: Sendable, Hashable, CustomStringConvertible {
    public var events: [ScheduledEvent]
    public var duration: VirtualTime

    public init(_ events: [ScheduledEvent] = [], duration: VirtualTime) {
        self.events = events
        self.duration = duration
    }

    /// Human-readable, one event a line, in time order: the repro.
    public var description: String {
        var out = "schedule: \(events.count) event\(events.count == 1 ? "" : "s"), run to \(duration)\n"
        for e in events.sorted(by: { $0.at < $1.at }) { out += "  \(e)\n" }
        return out
    }
}

/// A shared disk (FIG. 1, 120): who holds its reservation, the mailbox regions if it is a mailbox disk,
/// and what data writes it took from whom.
public struct Disk: Sendable, Hashable {
    public var reservedBy: NodeID? = nil
    /// Designated regions 123, one per writer (FO-MAILBOX-REGIONS); outside reservations.
    public var regions: [[UInt8]?] = [nil, nil]
    public var writesAccepted: [Int] = [0, 0]
    public var writesRefused: [Int] = [0, 0]
}

/// Latencies and bounds of the world (FO-WORLD-LATENCY).
public enum World {
    public static func latency(_ channel: Channel) -> VirtualTime {
        switch channel {
        case .mailbox: .milliseconds(10)
        case .san: .microseconds(50)
        case .network: .milliseconds(2)
        }
    }
    public static let maximumInjectedDelay: VirtualTime = .milliseconds(400)
    public static let duplicateGap: VirtualTime = .milliseconds(1)
}

/// The pair's configuration: each node's settings (a variant is just a setting) and whether the checker
/// runs.
public struct PairConfiguration: Sendable, Hashable {
    public var nodes: [NodeConfiguration]
    /// With false the invariants are not evaluated: tests use it to show that a variant is caught by the
    /// checker and by nothing else.
    public var checks: Bool = true
    /// Keep a readable log of transitions and events.
    public var recordsLog: Bool = true
    /// Stop at the first violation.
    public var stopsAtFirstViolation: Bool = true

    public init(a: NodeConfiguration = .reference, b: NodeConfiguration = .reference) {
        nodes = [a, b]
    }

    public init(variant: NodeVariant) {
        self.init(a: variant.configuration, b: variant.configuration)
    }

    public static let reference = PairConfiguration()
}
