import VigilCore

/// A work request posted to a VI's send queue: what the upper layer asks the requestor to do.
public struct Descriptor: Hashable, Sendable {
    public enum Operation: Hashable, Sendable {
        case send(data: [UInt8], immediate: UInt32?)
        case rdmaWrite(address: UInt64, data: [UInt8])
        case rdmaRead(address: UInt64, length: Int)
    }

    /// How the next descriptor may start (US 6,545,981 col. 6): after this one's last packet is launched
    /// (NDAL) or after all its packets are acknowledged (NDAA).
    public enum Mode: String, Hashable, Sendable {
        case ndal = "NDAL"
        case ndaa = "NDAA"
    }

    public var operation: Operation
    /// Sent ordered (incrementing sequence numbers, one path) or unordered (multipath).
    public var ordered: Bool
    public var mode: Mode

    /// A Send: always ordered (US 6,545,981 col. 7: "Sends from one VI must be sent strictly ordered").
    public static func send(_ data: [UInt8], immediate: UInt32? = nil, mode: Mode = .ndal) -> Descriptor {
        Descriptor(operation: .send(data: data, immediate: immediate), ordered: true, mode: mode)
    }

    /// An RDMA write; unordered (multipath) forces NDAA (rule SAN-REQ-NDAA).
    public static func rdmaWrite(_ data: [UInt8], to address: UInt64, ordered: Bool, mode: Mode = .ndal) -> Descriptor {
        Descriptor(operation: .rdmaWrite(address: address, data: data), ordered: ordered, mode: ordered ? mode : .ndaa)
    }

    public static func rdmaRead(_ length: Int, at address: UInt64, ordered: Bool, mode: Mode = .ndal) -> Descriptor {
        Descriptor(operation: .rdmaRead(address: address, length: length), ordered: ordered, mode: ordered ? mode : .ndaa)
    }

    init(operation: Operation, ordered: Bool, mode: Mode) {
        self.operation = operation
        self.ordered = ordered
        self.mode = ordered ? mode : .ndaa
    }

    /// Whether the next descriptor must wait for all of this one's acknowledgements.
    public var waitsForAcks: Bool { !ordered || mode == .ndaa }

    /// The request packets this descriptor becomes (rule SAN-REQ-PACKETIZE): 512-byte pieces, at least one,
    /// FIRST on the first, LAST on the last; RDMA pieces address consecutive 512-byte steps. Sequence numbers
    /// and VI are filled in when a packet is launched.
    public func packets() -> [Request] {
        let size = SANPacket.maxPayload
        func pieces(_ total: Int) -> [Range<Int>] {
            if total <= 0 { return [0..<0] }
            return stride(from: 0, to: total, by: size).map { $0..<min(total, $0 + size) }
        }
        switch operation {
        case .send(let data, let immediate):
            let ranges = pieces(data.count)
            return ranges.enumerated().map { i, r in
                // The immediate data travels with the last packet of the message.
                Request(kind: .send(data: Array(data[r]), immediate: i == ranges.count - 1 ? immediate : nil),
                        ordered: ordered, first: i == 0, last: i == ranges.count - 1, sequence: 0, vi: 0)
            }
        case .rdmaWrite(let address, let data):
            let ranges = pieces(data.count)
            return ranges.enumerated().map { i, r in
                Request(kind: .rdmaWrite(address: address &+ UInt64(r.lowerBound), data: Array(data[r])),
                        ordered: ordered, first: i == 0, last: i == ranges.count - 1, sequence: 0, vi: 0)
            }
        case .rdmaRead(let address, let length):
            let ranges = pieces(length)
            return ranges.enumerated().map { i, r in
                Request(kind: .rdmaRead(address: address &+ UInt64(r.lowerBound), length: UInt16(r.count)),
                        ordered: ordered, first: i == 0, last: i == ranges.count - 1, sequence: 0, vi: 0)
            }
        }
    }
}

/// A route: a path and, within it, a lane of the fat pipes. Barriers are per route.
public struct Route: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var path: PathID
    public var lane: UInt8

    public init(path: PathID, lane: UInt8) {
        self.path = path
        self.lane = lane & 3
    }

    public static func < (a: Route, b: Route) -> Bool { (a.path.index, a.lane) < (b.path.index, b.lane) }
    public var description: String { "\(path)/lane\(lane)" }

    /// The routes traffic with this ACB on `path` could have taken: one lane, or all four when adaptive.
    public static func routes(path: PathID, acb: AdaptiveControl) -> [Route] {
        switch acb {
        case .lane(let l): return [Route(path: path, lane: l)]
        case .adaptive: return (0..<AdaptiveControl.laneCount).map { Route(path: path, lane: $0) }
        }
    }
}

/// Time limits of the model (rule SAN-TIMEOUT-VALUES: a model choice; the patent gives no figures).
public struct SANTimers: Hashable, Sendable {
    public var responseTimeout: VirtualTime
    public var probeInterval: VirtualTime

    public init(responseTimeout: VirtualTime = .milliseconds(10), probeInterval: VirtualTime = .milliseconds(100)) {
        self.responseTimeout = responseTimeout
        self.probeInterval = probeInterval
    }
}
