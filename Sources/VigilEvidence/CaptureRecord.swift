import VigilCore

/// One record of a Vigil capture: the pseudo-header of `specs/pcap.md` and the bytes after it.
///
/// The pseudo-header (24 bytes, big-endian, like both protocols' wire formats):
///
///      0  2  magic 0x5647 ("VG")
///      2  1  version 1
///      3  1  direction: 0 to the IUT, 1 from the IUT, 2 marker (a divergence)
///      4  1  protocol: 0 none (marker), 1 SAN transport, 2 failover status carrier, 3 note (text)
///      5  1  port (SAN: the IUT's port 0/1) or channel (failover: 0 mailbox, 1 san, 2 network); 0xFF none
///      6  1  device (failover: disk 0-3, 0xFE the IUT's persistent memory, 0xFF the peer's); 0xFF none
///      7  1  flags: bit 0 undecodable (the kit's codec rejects the bytes), bit 1 reconstructed (rebuilt
///            from a transcript's notation, not taken off the wire), bit 2 node B (a race: the record is
///            node B's, its direction relative to node B); bits 3-7 reserved, 0
///      8  8  virtual time, nanoseconds since the case began (also the pcap record's timestamp)
///     16  4  script line the record belongs to (the stimulus being answered), 0 when unknown
///     20  4  payload length (the rest of the record)
///     24  …  payload: SAN packet bytes, a failover carrier, a marker, or UTF-8 text (note)
public struct CaptureRecord: Hashable, Sendable {
    public enum Direction: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        case toIUT = 0
        case fromIUT = 1
        case marker = 2
        public var description: String {
            switch self {
            case .toIUT: "to-IUT"
            case .fromIUT: "from-IUT"
            case .marker: "marker"
            }
        }
    }

    public enum Proto: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        case none = 0
        case san = 1
        case failover = 2
        /// A transcript line the kit could not turn back into bytes (for instance a failover message the
        /// runner described only as `bad=integrityMismatch`): the payload is that line's text, so the
        /// capture still shows that something crossed the wire at that instant.
        case note = 3
        public var description: String {
            switch self {
            case .none: "none"
            case .san: "san"
            case .failover: "failover"
            case .note: "note"
            }
        }
    }

    public struct Flags: OptionSet, Hashable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let undecodable = Flags(rawValue: 1 << 0)
        public static let reconstructed = Flags(rawValue: 1 << 1)
        /// The record belongs to node B's side of a race (`vigil race`): its direction is relative to node B
        /// (to node B, from node B). Node A's records, and those of every single-IUT capture, have it clear.
        public static let nodeB = Flags(rawValue: 1 << 2)
        public static let defined: Flags = [.undecodable, .reconstructed, .nodeB]
    }

    public static let magic: UInt16 = 0x5647
    public static let version: UInt8 = 1
    public static let headerSize = 24
    /// The value of `port` and `device` when the field does not apply.
    public static let none: UInt8 = 0xFF

    public var direction: Direction
    public var proto: Proto
    public var port: UInt8
    public var device: UInt8
    public var flags: Flags
    public var time: VirtualTime
    public var line: UInt32
    public var payload: [UInt8]

    public init(direction: Direction, proto: Proto, port: UInt8 = CaptureRecord.none, device: UInt8 = CaptureRecord.none,
                flags: Flags = [], time: VirtualTime, line: UInt32 = 0, payload: [UInt8]) {
        self.direction = direction
        self.proto = proto
        self.port = port
        self.device = device
        self.flags = flags
        self.time = time
        self.line = line
        self.payload = payload
    }

    /// The marker record of a divergence, at its time and script line.
    public init(marker: Marker, time: VirtualTime, line: UInt32) {
        self.init(direction: .marker, proto: .none, time: time, line: line, payload: marker.encoded())
    }

    /// Pseudo-header and payload: the bytes of the pcap record.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.headerSize + payload.count)
        out.appendBE(Self.magic)
        out.append(Self.version)
        out.append(direction.rawValue)
        out.append(proto.rawValue)
        out.append(port)
        out.append(device)
        out.append(flags.rawValue)
        out.appendBE(time.nanoseconds)
        out.appendBE(line)
        out.appendBE(UInt32(clamping: payload.count))
        out += payload
        return out
    }

    /// Strict decoding of one record's bytes. Errors name the field and its byte offset in the record.
    public init(decoding bytes: [UInt8]) throws(RecordError) {
        guard bytes.count >= Self.headerSize else {
            throw RecordError(offset: bytes.count, "the record has \(bytes.count) bytes, fewer than the \(Self.headerSize)-byte Vigil pseudo-header")
        }
        let magic = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        guard magic == Self.magic else {
            throw RecordError(offset: 0, "magic is 0x\(String(magic, radix: 16)), expected 0x5647 (\"VG\"): not a Vigil record")
        }
        guard bytes[2] == Self.version else { throw RecordError(offset: 2, "pseudo-header version \(bytes[2]), this kit reads version 1") }
        guard let direction = Direction(rawValue: bytes[3]) else { throw RecordError(offset: 3, "direction code \(bytes[3]) is not 0, 1 or 2") }
        guard let proto = Proto(rawValue: bytes[4]) else { throw RecordError(offset: 4, "protocol code \(bytes[4]) is not 0-3") }
        guard (direction == .marker) == (proto == .none) else {
            throw RecordError(offset: 4, "protocol \(proto) does not go with direction \(direction) (markers, and only markers, have protocol 0)")
        }
        let flags = Flags(rawValue: bytes[7])
        guard flags.isSubset(of: .defined) else {
            throw RecordError(offset: 7, "reserved flag bits 0x\(String(bytes[7] & ~Flags.defined.rawValue, radix: 16)) set")
        }
        var time: UInt64 = 0
        for b in bytes[8..<16] { time = time << 8 | UInt64(b) }
        var line: UInt32 = 0
        for b in bytes[16..<20] { line = line << 8 | UInt32(b) }
        var length: UInt32 = 0
        for b in bytes[20..<24] { length = length << 8 | UInt32(b) }
        guard Int(length) == bytes.count - Self.headerSize else {
            throw RecordError(offset: 20, "payload length field says \(length), the record holds \(bytes.count - Self.headerSize) bytes after the pseudo-header")
        }
        let payload = Array(bytes[Self.headerSize...])
        if direction == .marker {
            do { _ = try Marker(decoding: payload) } catch { throw RecordError(offset: Self.headerSize + error.offset, "marker: \(error.message)") }
        }
        self.init(direction: direction, proto: proto, port: bytes[5], device: bytes[6], flags: flags,
                  time: VirtualTime(nanoseconds: time), line: line, payload: payload)
    }

    /// The marker this record carries, nil for packet records.
    public var marker: Marker? { direction == .marker ? try? Marker(decoding: payload) : nil }
}

/// What a marker record carries: the divergence's rule id and its citation, and the expected-versus-observed
/// text. Payload: four strings, each a u16 big-endian byte count and that many bytes of UTF-8, in the order
/// rule, citation, expected, observed; nothing after them.
public struct Marker: Hashable, Sendable {
    public var rule: String
    public var citation: String
    public var expected: String
    public var observed: String

    public init(rule: String, citation: String = "", expected: String, observed: String) {
        self.rule = rule
        self.citation = citation
        self.expected = expected
        self.observed = observed
    }

    public init(_ d: Divergence) {
        self.init(rule: d.rule, citation: d.citation, expected: d.expected, observed: d.observed)
    }

    /// Longest string a marker field holds; longer text is cut at a character boundary so that a huge
    /// observation (a flood of frames described in words) cannot make a record the reader refuses.
    public static let fieldLimit = 16_384

    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        for field in [rule, citation, expected, observed] {
            var utf8 = Array(field.utf8)
            if utf8.count > Self.fieldLimit {
                var cut = Substring(field)
                while cut.utf8.count > Self.fieldLimit { cut = cut.dropLast() }
                utf8 = Array(cut.utf8)
            }
            out.appendBE(UInt16(utf8.count))
            out += utf8
        }
        return out
    }

    public init(decoding payload: [UInt8]) throws(RecordError) {
        var fields: [String] = []
        var i = 0
        for name in ["rule", "citation", "expected", "observed"] {
            guard i + 2 <= payload.count else { throw RecordError(offset: i, "the \(name) field's length is missing (the payload ends)") }
            let n = Int(payload[i]) << 8 | Int(payload[i + 1])
            guard i + 2 + n <= payload.count else {
                throw RecordError(offset: i, "the \(name) field says \(n) bytes, only \(payload.count - i - 2) remain")
            }
            guard let s = String(validating: payload[(i + 2)..<(i + 2 + n)], as: UTF8.self) else {
                throw RecordError(offset: i + 2, "the \(name) field is not UTF-8")
            }
            fields.append(s)
            i += 2 + n
        }
        guard i == payload.count else { throw RecordError(offset: i, "\(payload.count - i) bytes after the observed field") }
        guard !fields[0].isEmpty else { throw RecordError(offset: 2, "the rule id is empty") }
        self.init(rule: fields[0], citation: fields[1], expected: fields[2], observed: fields[3])
    }
}

/// A fault inside one record: what, and the byte offset within the record (pseudo-header included).
public struct RecordError: Error, Hashable, Sendable {
    public var offset: Int
    public var message: String
    public init(offset: Int, _ message: String) {
        self.offset = offset
        self.message = message
    }
}

extension Array where Element == UInt8 {
    mutating func appendBE<T: FixedWidthInteger>(_ v: T) {
        var x = v.bigEndian
        Swift.withUnsafeBytes(of: &x) { append(contentsOf: $0) }
    }
}
