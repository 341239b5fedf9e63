import VigilCore

/// Which node of the pair: A (writer slot 0, disks 0-1) or B (writer slot 1, disks 2-3).
public enum NodeID: UInt8, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    case a = 0
    case b = 1

    public var peer: NodeID { self == .a ? .b : .a }
    public var description: String { self == .a ? "a" : "b" }
    /// The system id a node puts in its messages (model choice FO-WIRE-LAYOUT).
    public var systemID: UInt64 { 0x5649_4749_4C00_0000 | UInt64(rawValue + 1) }
    public static func < (l: NodeID, r: NodeID) -> Bool { l.rawValue < r.rawValue }
}

/// The three redundant channels of US 6,119,244 FIG. 1: mailbox disks 122, the SAN 130 into persistent
/// memory 113, and the public network 140.
public enum Channel: UInt8, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    case mailbox = 0
    case san = 1
    case network = 2

    public var description: String {
        switch self {
        case .mailbox: "mailbox"
        case .san: "san"
        case .network: "network"
        }
    }
    public static func < (l: Channel, r: Channel) -> Bool { l.rawValue < r.rawValue }
}

/// The state indicator of a message 124 (US 6,119,244 col. 5). Codes are a model choice.
public enum StateIndicator: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case normal = 1
    case takeover = 2
    case noTakeover = 3
    case disable = 4

    public var description: String {
        switch self {
        case .normal: "NORMAL"
        case .takeover: "TAKEOVER"
        case .noTakeover: "NO-TAKEOVER"
        case .disable: "DISABLE"
        }
    }

    /// NORMAL, NO-TAKEOVER and DISABLE all say the sender runs and controls its own disks; only the
    /// takeover permission differs.
    var saysOperating: Bool { self != .takeover }
}

/// Flag bits of a status message. Model choice FO-RECOVERY-FLAG: bit 0 is the status report on recovery.
public struct StatusFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// The sender is in REBOOTING (240), recovering from a service interruption.
    public static let recovering = StatusFlags(rawValue: 1 << 0)
    public static let defined: StatusFlags = [.recovering]
}

/// A (generation, sequence) pair: where a message stands in its sender's stream.
public struct Stamp: Sendable, Hashable, CustomStringConvertible {
    public var generation: UInt32
    public var sequence: UInt64
    public init(generation: UInt32, sequence: UInt64) {
        self.generation = generation
        self.sequence = sequence
    }
    public static let zero = Stamp(generation: 0, sequence: 0)
    public var description: String { "g\(generation)/s\(sequence)" }
}

/// Which field a node compares first when it decides newness. The patent's order is generation first;
/// the other order exists only as a deliberately broken node variant.
public enum NewnessOrder: Sendable, Hashable {
    case generationThenSequence
    case sequenceThenGeneration
}

extension Stamp {
    /// The newness rule of US 6,119,244 col. 5 (FO-MSG-NEWNESS): a message is new if and only if its
    /// generation is greater than that of the most recent new message, or equal with a greater sequence.
    public func isNew(after mostRecent: Stamp, order: NewnessOrder = .generationThenSequence) -> Bool {
        switch order {
        case .generationThenSequence:
            return generation > mostRecent.generation
                || (generation == mostRecent.generation && sequence > mostRecent.sequence)
        case .sequenceThenGeneration:
            return sequence > mostRecent.sequence
                || (sequence == mostRecent.sequence && generation > mostRecent.generation)
        }
    }
}

/// Message 124: a node's status as it sends it on every channel (US 6,119,244 col. 4-5).
///
/// Wire form (big-endian, 44 bytes; `specs/failover-wire.md` §1):
///
///     0  2  magic "VF" (0x56 0x46)
///     2  1  protocol version
///     3  1  state indicator (1 NORMAL, 2 TAKEOVER, 3 NO-TAKEOVER, 4 DISABLE)
///     4  2  flags (bit 0 RECOVERING; bits 1-15 reserved, zero)
///     6  2  length = 44
///     8  8  system id of the sender
///    16  4  sender's generation
///    20  8  sender's sequence
///    28  4  generation last seen from the receiver
///    32  8  sequence last seen from the receiver
///    40  4  CRC-32C of bytes 0..<40
public struct StatusMessage: Sendable, Hashable, CustomStringConvertible {
    public var version: UInt8
    public var systemID: UInt64
    public var state: StateIndicator
    public var flags: StatusFlags
    public var generation: UInt32
    public var sequence: UInt64
    public var peerGeneration: UInt32
    public var peerSequence: UInt64

    public init(
        version: UInt8 = StatusMessage.currentVersion, systemID: UInt64, state: StateIndicator,
        flags: StatusFlags = [], generation: UInt32, sequence: UInt64, peerGeneration: UInt32 = 0,
        peerSequence: UInt64 = 0
    ) {
        self.version = version
        self.systemID = systemID
        self.state = state
        self.flags = flags
        self.generation = generation
        self.sequence = sequence
        self.peerGeneration = peerGeneration
        self.peerSequence = peerSequence
    }

    public static let currentVersion: UInt8 = 1
    public static let size = 44
    public static let magic: UInt16 = 0x5646

    public var stamp: Stamp { Stamp(generation: generation, sequence: sequence) }
    public var peerStamp: Stamp { Stamp(generation: peerGeneration, sequence: peerSequence) }

    public var description: String {
        var s = "\(state) \(stamp) saw \(peerStamp)"
        if flags.contains(.recovering) { s += " RECOVERING" }
        if version != Self.currentVersion { s += " v\(version)" }
        return s
    }

    /// The raw fields, for crafting: every field settable, computed ones (length, check) computed unless
    /// forced.
    public var frame: StatusFrame {
        StatusFrame(
            version: version, stateCode: state.rawValue, flags: flags.rawValue, systemID: systemID,
            generation: generation, sequence: sequence, peerGeneration: peerGeneration, peerSequence: peerSequence)
    }

    public func encoded() -> [UInt8] { frame.bytes() }

    /// Strict decoding of exactly one message starting at `offset`; `bytes` may hold more after it only
    /// when the caller says so (carriers do), otherwise trailing bytes are an error.
    public init(decoding bytes: [UInt8], at start: Int = 0, allowTrailing: Bool = false) throws(FailoverWireError) {
        guard bytes.count - start >= Self.size else {
            var r = ByteReader(bytes, offset: start)
            // Walk the fields so the error names the first one that does not fit.
            _ = try r.integer(UInt16.self, field: "magic")
            _ = try r.integer(UInt8.self, field: "version")
            _ = try r.integer(UInt8.self, field: "state")
            _ = try r.integer(UInt16.self, field: "flags")
            _ = try r.integer(UInt16.self, field: "length")
            _ = try r.integer(UInt64.self, field: "system_id")
            _ = try r.integer(UInt32.self, field: "generation")
            _ = try r.integer(UInt64.self, field: "sequence")
            _ = try r.integer(UInt32.self, field: "peer_generation")
            _ = try r.integer(UInt64.self, field: "peer_sequence")
            _ = try r.integer(UInt32.self, field: "crc32c")
            throw FailoverWireError(.truncated, field: "crc32c", offset: start + 40, reason: "short message")
        }
        if !allowTrailing, bytes.count - start > Self.size {
            throw FailoverWireError(
                .trailingBytes, field: "message", offset: start + Self.size,
                reason: "\(bytes.count - start - Self.size) bytes after the 44-byte message")
        }
        var r = ByteReader(bytes, offset: start)
        let magic = try r.integer(UInt16.self, field: "magic")
        guard magic == Self.magic else {
            throw FailoverWireError(.badMagic, field: "magic", offset: start, reason: "0x\(String(magic, radix: 16)), expected 0x5646")
        }
        let version = try r.integer(UInt8.self, field: "version")
        let stateCode = try r.integer(UInt8.self, field: "state")
        let flagBits = try r.integer(UInt16.self, field: "flags")
        let length = try r.integer(UInt16.self, field: "length")
        guard Int(length) == Self.size else {
            throw FailoverWireError(.wrongLength, field: "length", offset: start + 6, reason: "\(length), expected 44")
        }
        let systemID = try r.integer(UInt64.self, field: "system_id")
        let generation = try r.integer(UInt32.self, field: "generation")
        let sequence = try r.integer(UInt64.self, field: "sequence")
        let peerGeneration = try r.integer(UInt32.self, field: "peer_generation")
        let peerSequence = try r.integer(UInt64.self, field: "peer_sequence")
        let check = try r.integer(UInt32.self, field: "crc32c")
        // The check comes before the field values: a corrupted byte anywhere reads as corruption, not as
        // whatever odd value it happens to make.
        let computed = CRC32C.checksum(bytes[start..<(start + 40)])
        guard check == computed else {
            throw FailoverWireError(
                .integrityMismatch, field: "crc32c", offset: start + 40,
                reason: "carried 0x\(String(check, radix: 16)), computed 0x\(String(computed, radix: 16))")
        }
        guard let state = StateIndicator(rawValue: stateCode) else {
            throw FailoverWireError(.unknownState, field: "state", offset: start + 3, reason: "code \(stateCode)")
        }
        let flags = StatusFlags(rawValue: flagBits)
        guard flags.isSubset(of: .defined) else {
            throw FailoverWireError(
                .reservedBitsSet, field: "flags", offset: start + 4,
                reason: "reserved bits 0x\(String(flagBits & ~StatusFlags.defined.rawValue, radix: 16)) set")
        }
        self.init(
            version: version, systemID: systemID, state: state, flags: flags, generation: generation,
            sequence: sequence, peerGeneration: peerGeneration, peerSequence: peerSequence)
    }
}

/// A status message as raw fields, Scapy style: `length` and `check` are computed when nil and can be
/// forced to a wrong value; `stateCode` and `flags` take any bits; `truncate` and `extra` cut or extend
/// the bytes. This is how tests and the fuzzer craft malformed messages.
public struct StatusFrame: Sendable, Hashable {
    public var magic: UInt16 = StatusMessage.magic
    public var version: UInt8
    public var stateCode: UInt8
    public var flags: UInt16
    public var length: UInt16? = nil
    public var systemID: UInt64
    public var generation: UInt32
    public var sequence: UInt64
    public var peerGeneration: UInt32
    public var peerSequence: UInt64
    public var check: UInt32? = nil
    public var truncate: Int? = nil
    public var extra: [UInt8] = []

    public func bytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(StatusMessage.size + extra.count)
        out.appendBigEndian(magic)
        out.appendBigEndian(version)
        out.appendBigEndian(stateCode)
        out.appendBigEndian(flags)
        out.appendBigEndian(length ?? UInt16(StatusMessage.size))
        out.appendBigEndian(systemID)
        out.appendBigEndian(generation)
        out.appendBigEndian(sequence)
        out.appendBigEndian(peerGeneration)
        out.appendBigEndian(peerSequence)
        out.appendBigEndian(check ?? CRC32C.checksum(out))
        out += extra
        if let truncate { out = Array(out.prefix(max(0, truncate))) }
        return out
    }
}
