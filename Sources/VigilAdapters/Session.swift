import VigilCore

/// Why a conversation with an IUT broke down: the adapter rule broken and what was seen. A verdict against
/// the IUT, never a crash of the kit.
public struct AdapterFailure: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Rule: String, Sendable, Hashable {
        /// Bytes that are not a well-formed frame, or a frame over the size limit.
        case frame = "ADAPTER-FRAME"
        /// No valid HELLO-ACK in time, or the role is not offered.
        case handshake = "ADAPTER-HANDSHAKE"
        /// A stimulus not answered by IDLE in time, or answered with a flood.
        case quiesce = "ADAPTER-QUIESCE"
        /// The IUT exited (or could not be started).
        case alive = "ADAPTER-ALIVE"
    }

    public var rule: Rule
    public var detail: String
    /// The end of what the IUT wrote on stderr, for the report.
    public var stderrTail: String

    public init(_ rule: Rule, _ detail: String, stderrTail: String = "") {
        self.rule = rule
        self.detail = detail
        self.stderrTail = stderrTail
    }

    public var description: String { "\(rule.rawValue): \(detail)" }
}

/// A two-way frame channel to one IUT instance: a child process's stdio, or a core linked in-process.
public protocol FrameTransport: AnyObject {
    /// Starts the IUT (a fresh instance).
    func start() throws(AdapterFailure)
    func send(_ frame: KitFrame) throws(AdapterFailure)
    /// The next frame, waiting at most until `deadline` (wall clock).
    func receive(before deadline: ContinuousClock.Instant) throws(AdapterFailure) -> IUTFrame
    /// Ends the IUT: BYE, then by force if it does not go.
    func stop()
    /// The last part of the IUT's log.
    var stderrTail: String { get }
}

/// Limits the kit holds an IUT to (specs/adapter.md §1).
public struct AdapterLimits: Sendable, Hashable {
    public var stepTimeout: Duration
    public var maxFrame: Int
    public var floodLimit: Int

    public init(stepTimeout: Duration = .seconds(2), maxFrame: Int = AdapterProtocol.defaultMaxFrame, floodLimit: Int = 10_000) {
        self.stepTimeout = stepTimeout
        self.maxFrame = maxFrame
        self.floodLimit = floodLimit
    }
}

/// What the IUT said in its HELLO-ACK.
public struct IUTIdentity: Sendable, Hashable {
    public var name: String
    public var roles: UInt8
    public var clocks: UInt8
    public var options: [AdapterOption]
}

/// What an IUT did in answer to one stimulus: its frames before IDLE, and IDLE's fields.
public struct Reaction: Sendable, Hashable {
    public var frames: [IUTFrame]
    public var next: VirtualTime?
    public var datagrams: UInt32
}

/// The conversation of specs/adapter.md §2 over any transport: handshake, reset, stimulus → frames + IDLE,
/// with the deadlines and the flood limit enforced in one place.
public final class AdapterSession {
    public let transport: any FrameTransport
    public let limits: AdapterLimits
    public private(set) var identity: IUTIdentity?

    public init(transport: any FrameTransport, limits: AdapterLimits = AdapterLimits()) {
        self.transport = transport
        self.limits = limits
    }

    /// Starts the IUT and shakes hands for `role`.
    public func open(role: Role, options: [AdapterOption], udp: Bool = false) throws(AdapterFailure) -> IUTIdentity {
        let frame: IUTFrame
        do {
            try transport.start()
            try transport.send(.hello(version: AdapterProtocol.version, role: role, virtualClock: true, udp: udp, options: options))
            frame = try transport.receive(before: ContinuousClock.now + limits.stepTimeout)
        } catch {
            throw AdapterFailure(.handshake, "no HELLO-ACK: \(error.detail)", stderrTail: error.stderrTail)
        }
        guard case .helloAck(let version, let roles, let clocks, let name, let options) = frame else {
            throw AdapterFailure(.handshake, "expected HELLO-ACK, got \(frame.name)", stderrTail: transport.stderrTail)
        }
        guard version == AdapterProtocol.version else {
            throw AdapterFailure(.handshake, "IUT speaks adapter version \(version), the kit \(AdapterProtocol.version)", stderrTail: transport.stderrTail)
        }
        guard roles & role.bit != 0 else {
            throw AdapterFailure(.handshake, "IUT '\(name)' does not offer the role \(role)", stderrTail: transport.stderrTail)
        }
        guard clocks & 1 != 0 else {
            throw AdapterFailure(.handshake, "IUT '\(name)' does not accept a virtual clock", stderrTail: transport.stderrTail)
        }
        let id = IUTIdentity(name: name, roles: roles, clocks: clocks, options: options)
        identity = id
        return id
    }

    /// Begins a case: RESET, then READY.
    public func reset() throws(AdapterFailure) {
        try transport.send(.reset)
        let frame = try transport.receive(before: ContinuousClock.now + limits.stepTimeout)
        guard frame == .ready else {
            throw AdapterFailure(.quiesce, "expected READY after RESET, got \(frame.name)", stderrTail: transport.stderrTail)
        }
    }

    /// Sends one stimulus and collects everything up to IDLE.
    public func stimulate(_ frame: KitFrame) throws(AdapterFailure) -> Reaction {
        try transport.send(frame)
        let deadline = ContinuousClock.now + limits.stepTimeout
        var frames: [IUTFrame] = []
        while true {
            let f: IUTFrame
            do {
                f = try transport.receive(before: deadline)
            } catch where error.rule == .quiesce {
                throw AdapterFailure(.quiesce, "no IDLE within \(limits.stepTimeout) after \(frame.name) (\(frames.count) frames so far)",
                                     stderrTail: transport.stderrTail)
            }
            if case .idle(let next, let datagrams) = f { return Reaction(frames: frames, next: next, datagrams: datagrams) }
            frames.append(f)
            if frames.count > limits.floodLimit {
                throw AdapterFailure(.quiesce, "more than \(limits.floodLimit) frames in answer to \(frame.name): a flood",
                                     stderrTail: transport.stderrTail)
            }
        }
    }

    public func close() { transport.stop() }
}

extension IUTFrame {
    /// The frame's name in specs/adapter.md.
    public var name: String {
        switch self {
        case .helloAck: return "HELLO-ACK"
        case .ready: return "READY"
        case .packet: return "PACKET"
        case .event: return "EVENT"
        case .idle: return "IDLE"
        case .error: return "ERROR"
        case .disk: return "DISK"
        }
    }
}

extension KitFrame {
    public var name: String {
        switch self {
        case .hello: return "HELLO"
        case .reset: return "RESET"
        case .packet: return "PACKET"
        case .command: return "COMMAND"
        case .time: return "TIME"
        case .diskResult: return "DISK-RESULT"
        case .bye: return "BYE"
        }
    }
}
