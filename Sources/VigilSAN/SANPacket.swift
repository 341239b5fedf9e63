/// A 20-bit ServerNet node id (SNID) of one port. US 6,545,981 col. 4: "Each NIC end node port in the
/// network is uniquely defined by a 20 bit Port SNID".
public struct SNID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let bits = 20
    public static let max: UInt32 = (1 << 20) - 1
    public let value: UInt32

    /// nil when `value` does not fit in 20 bits.
    public init?(_ value: UInt32) {
        guard value <= Self.max else { return nil }
        self.value = value
    }

    init(unchecked value: UInt32) { self.value = value & Self.max }

    public static func < (a: SNID, b: SNID) -> Bool { a.value < b.value }
    public var description: String { "0x" + String(value, radix: 16, uppercase: true) }
}

/// Adaptive control bits (3): deterministic routing on one lane, or link-set adaptive routing.
/// US 6,545,981 col. 5: "the ACB field selects a single path or lane through an adaptive link-set" /
/// "the ACB field can specify link-set adaptivity".
public enum AdaptiveControl: Hashable, Sendable, CustomStringConvertible {
    /// Deterministic on lane 0...3 (code 0b0LL).
    case lane(UInt8)
    /// Link-set adaptive: the fabric may use any lane (code 0b100).
    case adaptive

    public static let laneCount: UInt8 = 4

    public var code: UInt8 {
        switch self {
        case .lane(let l): return l & 0b11
        case .adaptive: return 0b100
        }
    }

    public init?(code: UInt8) {
        switch code {
        case 0...3: self = .lane(code)
        case 0b100: self = .adaptive
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .lane(let l): return "lane\(l)"
        case .adaptive: return "adaptive"
        }
    }
}

/// The VI operation of a request (2 bits of the VI operation byte).
public enum VIOperation: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case send = 0
    case rdmaWrite = 1
    case rdmaRead = 2

    public var isRDMA: Bool { self != .send }
    public var description: String {
        switch self {
        case .send: return "send"
        case .rdmaWrite: return "rdma-write"
        case .rdmaRead: return "rdma-read"
        }
    }
}

/// The VI operation byte as a response copies it: operation and control flags.
public struct VIControl: Hashable, Sendable {
    public var operation: VIOperation
    public var ordered: Bool
    public var first: Bool
    public var last: Bool
    public var immediate: Bool

    public init(operation: VIOperation, ordered: Bool, first: Bool, last: Bool, immediate: Bool = false) {
        self.operation = operation
        self.ordered = ordered
        self.first = first
        self.last = last
        self.immediate = immediate
    }
}

/// What a request asks the responder to do. The immediate and address fields follow from the kind, so a
/// request with an RDMA operation and no address cannot be built.
public enum RequestKind: Hashable, Sendable {
    case send(data: [UInt8], immediate: UInt32?)
    case rdmaWrite(address: UInt64, data: [UInt8])
    /// `length` bytes are read at `address`; the request itself carries no payload.
    case rdmaRead(address: UInt64, length: UInt16)

    public var operation: VIOperation {
        switch self {
        case .send: return .send
        case .rdmaWrite: return .rdmaWrite
        case .rdmaRead: return .rdmaRead
        }
    }
}

/// A request packet's VI session fields.
public struct Request: Hashable, Sendable {
    public var kind: RequestKind
    /// The ORD bit: 1 for ordered packets. US 6,545,981 col. 7: "A bit in the packet header is set to 1
    /// for ordered packets and is set to 0 for unordered packets."
    public var ordered: Bool
    public var first: Bool
    public var last: Bool
    public var sequence: UInt8
    public var vi: UInt16

    public init(kind: RequestKind, ordered: Bool, first: Bool = true, last: Bool = true, sequence: UInt8, vi: UInt16) {
        self.kind = kind
        self.ordered = ordered
        self.first = first
        self.last = last
        self.sequence = sequence
        self.vi = vi
    }

    public var control: VIControl {
        var immediate = false
        if case .send(_, let imm) = kind { immediate = imm != nil }
        return VIControl(operation: kind.operation, ordered: ordered, first: first, last: last, immediate: immediate)
    }
}

/// The VI fields every response carries: copies of the request's.
public struct ResponseFields: Hashable, Sendable {
    public var control: VIControl
    public var sequence: UInt8
    public var vi: UInt16

    public init(control: VIControl, sequence: UInt8, vi: UInt16) {
        self.control = control
        self.sequence = sequence
        self.vi = vi
    }
}

/// Why a responder refused a request. Code values are a model choice (`SAN-WIRE-NACK-CODES`).
public enum NackReason: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// The request's sequence number is ahead of the one expected.
    case sequenceError = 1
    /// RDMA address not enabled for the VI.
    case accessViolation = 2
    /// No such VI at the responder.
    case noSuchVI = 3

    public var description: String {
        switch self {
        case .sequenceError: return "sequence-error"
        case .accessViolation: return "access-violation"
        case .noSuchVI: return "no-such-vi"
        }
    }
}

/// Kernel-agent to kernel-agent supervisory messages (US 6,545,981 col. 11). Codes are a model choice.
public enum SupervisoryOp: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case pathBad = 1
    case pathBadAck = 2
    case pathGood = 3
    case pathGoodAck = 4
    /// Agrees, a priori, where barrier numbers are written (the VI and address).
    case barrierLocation = 5
    case barrierLocationAck = 6

    public var isAcknowledgement: Bool { self == .pathBadAck || self == .pathGoodAck || self == .barrierLocationAck }
    /// The acknowledgement a message asks for; nil for acknowledgements.
    public var acknowledgement: SupervisoryOp? {
        switch self {
        case .pathBad: return .pathBadAck
        case .pathGood: return .pathGoodAck
        case .barrierLocation: return .barrierLocationAck
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .pathBad: return "path-bad"
        case .pathBadAck: return "path-bad-ack"
        case .pathGood: return "path-good"
        case .pathGoodAck: return "path-good-ack"
        case .barrierLocation: return "barrier-location"
        case .barrierLocationAck: return "barrier-location-ack"
        }
    }
}

/// One of the four paths between two dual-ported nodes: the requestor's port and the responder's port.
/// US 6,545,981 col. 4-5 (FIG. 4): "there are up to four possible paths between ServerNet II end nodes."
public struct PathID: Hashable, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    public var requestorPort: UInt8
    public var responderPort: UInt8

    public init(requestorPort: UInt8, responderPort: UInt8) {
        self.requestorPort = requestorPort & 1
        self.responderPort = responderPort & 1
    }

    /// Bit index in the ReqInPath vector: requestor port * 2 + responder port.
    public var index: Int { Int(requestorPort) * 2 + Int(responderPort) }
    public init(index: Int) { self.init(requestorPort: UInt8((index >> 1) & 1), responderPort: UInt8(index & 1)) }

    public static let allCases: [PathID] = (0..<4).map(PathID.init(index:))
    public static func < (a: PathID, b: PathID) -> Bool { a.index < b.index }
    public var description: String { "path\(requestorPort)\(responderPort)" }
}

/// A supervisory message's fields.
public struct Supervisory: Hashable, Sendable {
    public var op: SupervisoryOp
    /// The path a path-bad / path-good message (and its acknowledgement) is about.
    public var path: PathID
    /// For barrier-location: the VI barriers are written to. Zero otherwise.
    public var vi: UInt16
    /// For barrier-location: the address barrier numbers are written to. Zero otherwise.
    public var address: UInt64

    public init(op: SupervisoryOp, path: PathID = PathID(index: 0), vi: UInt16 = 0, address: UInt64 = 0) {
        self.op = op
        self.path = path
        self.vi = vi
        self.address = address
    }
}

/// The transaction-specific part of a packet; the transaction type code follows from it.
public enum PacketBody: Hashable, Sendable {
    case request(Request)
    /// A positive acknowledgement; `data` is the read data of an RDMA read, empty otherwise.
    case ack(ResponseFields, data: [UInt8])
    case nack(ResponseFields, reason: NackReason)
    case supervisory(Supervisory)

    public var transactionType: TransactionType {
        switch self {
        case .request: return .request
        case .ack: return .ack
        case .nack: return .nack
        case .supervisory: return .supervisory
        }
    }
}

/// Transaction type codes (4 bits). Values are a model choice (`SAN-WIRE-LAYOUT`).
public enum TransactionType: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case request = 1
    case ack = 2
    case nack = 3
    case supervisory = 4

    public var description: String {
        switch self {
        case .request: return "request"
        case .ack: return "ack"
        case .nack: return "nack"
        case .supervisory: return "supervisory"
        }
    }
}

/// A SAN packet as the model sees it. Length, transaction type code and CRC are not stored: they are
/// computed when the packet is encoded (and can be forced wrong with `SANPacket.Malformation`).
/// The byte layout is in `specs/san-wire.md`.
public struct SANPacket: Hashable, Sendable {
    public var destination: SNID
    public var acb: AdaptiveControl
    /// The fabric bit: which of the two fabrics the packet travels (must match the receiving port's).
    public var fabric: Bool
    public var source: SNID
    /// Transaction serial number: lets a port match responses to its outstanding requests.
    public var tsn: UInt16
    public var body: PacketBody

    public init(destination: SNID, acb: AdaptiveControl, fabric: Bool, source: SNID, tsn: UInt16, body: PacketBody) {
        self.destination = destination
        self.acb = acb
        self.fabric = fabric
        self.source = source
        self.tsn = tsn
        self.body = body
    }

    /// Largest payload a packet carries. US 6,545,981 col. 4: "Payloads up to 512 bytes are supported".
    public static let maxPayload = 512
}
