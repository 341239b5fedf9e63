import VigilCore

// The frames of the wire adapter protocol, version 1 (specs/adapter.md): one enum for each direction,
// encode and decode side by side. Decoding is strict and never traps; every fault is an AdapterError
// naming the frame type and the byte offset.

/// The role an IUT plays in a session.
public enum Role: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case sanResponder = "san-responder"
    case sanRequestor = "san-requestor"
    case failoverNode = "failover-node"

    public var code: UInt8 {
        switch self {
        case .sanResponder: return 1
        case .sanRequestor: return 2
        case .failoverNode: return 3
        }
    }

    public init?(code: UInt8) {
        guard let r = Role.allCases.first(where: { $0.code == code }) else { return nil }
        self = r
    }

    /// Bit in HELLO-ACK's role mask.
    public var bit: UInt8 { 1 << (code - 1) }
    public var description: String { rawValue }
}

/// A command of the COMMAND frame (specs/adapter.md §4).
public enum AdapterCommand: Hashable, Sendable {
    case createVI(vi: UInt16)
    case enableRDMA(vi: UInt16, address: UInt64, length: UInt32)
    case post(vi: UInt16, descriptor: UInt32, op: UInt8, flags: UInt8, address: UInt64, length: UInt32, immediate: UInt32, data: [UInt8])
    case readMemory(vi: UInt16, address: UInt64, length: UInt32)
    case boot, disable, enable, giveback, stop, reboot
}

/// An option of HELLO (§5) or HELLO-ACK (§7): tag and raw value.
public struct AdapterOption: Hashable, Sendable {
    public var tag: UInt8
    public var value: [UInt8]
    public init(tag: UInt8, value: [UInt8]) {
        self.tag = tag
        self.value = value
    }
}

/// Frames the kit sends.
public enum KitFrame: Hashable, Sendable {
    case hello(version: UInt16, role: Role, virtualClock: Bool, udp: Bool, options: [AdapterOption])
    case reset
    case packet(port: UInt8, bytes: [UInt8])
    case command(AdapterCommand)
    case time(VirtualTime)
    case diskResult(tag: UInt16, status: UInt8, data: [UInt8])
    case bye
}

/// An event of the EVENT frame (§7).
public enum AdapterEvent: Hashable, Sendable {
    case completion(vi: UInt16, descriptor: UInt32, status: UInt8, data: [UInt8])
    case deliver(vi: UInt16, flags: UInt8, immediate: UInt32, data: [UInt8])
    case memory(vi: UInt16, address: UInt64, data: [UInt8])
    case state(state: UInt8, step: UInt8, generation: UInt32, takeoverEnabled: Bool)
}

/// Frames the IUT sends.
public enum IUTFrame: Hashable, Sendable {
    case helloAck(version: UInt16, roles: UInt8, clocks: UInt8, name: String, options: [AdapterOption])
    case ready
    case packet(port: UInt8, bytes: [UInt8])
    case event(AdapterEvent)
    /// Done reacting; `next` is the IUT's next timer (nil: none); `datagrams` sent over UDP meanwhile.
    case idle(next: VirtualTime?, datagrams: UInt32)
    case error(String)
    case disk(tag: UInt16, op: UInt8, device: UInt8, block: UInt32, count: UInt32, data: [UInt8])
}

/// A malformed frame: what, where.
public struct AdapterError: Error, Hashable, Sendable, CustomStringConvertible {
    public var frameType: UInt8
    public var offset: Int
    public var reason: String

    public init(frameType: UInt8, offset: Int, _ reason: String) {
        self.frameType = frameType
        self.offset = offset
        self.reason = reason
    }

    public var description: String {
        "frame type 0x\(String(frameType, radix: 16, uppercase: true)), body byte \(offset): \(reason)"
    }
}

public enum AdapterProtocol {
    public static let version: UInt16 = 1
    public static let never: UInt64 = .max
    /// Default largest frame the kit accepts (length field), 1 MiB.
    public static let defaultMaxFrame = 1 << 20
}

// MARK: - encoding

struct BodyWriter {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { int(v) }
    mutating func u32(_ v: UInt32) { int(v) }
    mutating func u64(_ v: UInt64) { int(v) }
    mutating func int<T: FixedWidthInteger>(_ v: T) {
        for i in stride(from: MemoryLayout<T>.size - 1, through: 0, by: -1) { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) }
    }
    mutating func str(_ s: String) {
        let utf8 = Array(s.utf8.prefix(Int(UInt16.max)))
        u16(UInt16(utf8.count))
        bytes += utf8
    }
    mutating func options(_ options: [AdapterOption]) {
        for o in options {
            u8(o.tag)
            u16(UInt16(truncatingIfNeeded: o.value.count))
            bytes += o.value.prefix(Int(UInt16.max))
        }
    }
}

/// Reads a body; every read past the end throws, naming the field.
struct BodyReader {
    let type: UInt8
    let bytes: [UInt8]
    var offset = 0

    init(type: UInt8, _ bytes: [UInt8]) {
        self.type = type
        self.bytes = bytes
    }

    mutating func int<T: FixedWidthInteger>(_: T.Type, _ field: String) throws(AdapterError) -> T {
        let n = MemoryLayout<T>.size
        guard bytes.count - offset >= n else {
            throw AdapterError(frameType: type, offset: offset, "body ends inside \(field) (\(n) bytes needed, \(bytes.count - offset) left)")
        }
        var v: T = 0
        for i in 0..<n { v = v << 8 | T(bytes[offset + i]) }
        offset += n
        return v
    }
    mutating func u8(_ f: String) throws(AdapterError) -> UInt8 { try int(UInt8.self, f) }
    mutating func u16(_ f: String) throws(AdapterError) -> UInt16 { try int(UInt16.self, f) }
    mutating func u32(_ f: String) throws(AdapterError) -> UInt32 { try int(UInt32.self, f) }
    mutating func u64(_ f: String) throws(AdapterError) -> UInt64 { try int(UInt64.self, f) }
    mutating func str(_ f: String) throws(AdapterError) -> String {
        let n = Int(try u16(f + " length"))
        guard bytes.count - offset >= n else {
            throw AdapterError(frameType: type, offset: offset, "\(f) says \(n) bytes, \(bytes.count - offset) left")
        }
        defer { offset += n }
        return String(decoding: bytes[offset..<(offset + n)], as: UTF8.self)
    }
    mutating func rest() -> [UInt8] {
        defer { offset = bytes.count }
        return Array(bytes[offset...])
    }
    mutating func options() throws(AdapterError) -> [AdapterOption] {
        var out: [AdapterOption] = []
        while offset < bytes.count {
            let tag = try u8("option tag")
            let n = Int(try u16("option length"))
            guard bytes.count - offset >= n else {
                throw AdapterError(frameType: type, offset: offset, "option 0x\(String(tag, radix: 16)) says \(n) bytes, \(bytes.count - offset) left")
            }
            out.append(AdapterOption(tag: tag, value: Array(bytes[offset..<(offset + n)])))
            offset += n
        }
        return out
    }
    func end() throws(AdapterError) {
        guard offset == bytes.count else {
            throw AdapterError(frameType: type, offset: offset, "\(bytes.count - offset) bytes after the last field")
        }
    }
}

extension KitFrame {
    /// Type byte and body.
    public var typeAndBody: (UInt8, [UInt8]) {
        var w = BodyWriter()
        switch self {
        case .hello(let version, let role, let virtualClock, let udp, let options):
            w.u16(version); w.u8(role.code); w.u8(virtualClock ? 0 : 1); w.u8(udp ? 1 : 0); w.options(options)
            return (0x01, w.bytes)
        case .reset: return (0x02, [])
        case .packet(let port, let bytes): return (0x03, [port] + bytes)
        case .command(let c):
            switch c {
            case .createVI(let vi): w.u8(0x01); w.u16(vi)
            case .enableRDMA(let vi, let address, let length): w.u8(0x02); w.u16(vi); w.u64(address); w.u32(length)
            case .post(let vi, let d, let op, let flags, let address, let length, let imm, let data):
                w.u8(0x03); w.u16(vi); w.u32(d); w.u8(op); w.u8(flags); w.u64(address); w.u32(length); w.u32(imm); w.bytes += data
            case .readMemory(let vi, let address, let length): w.u8(0x04); w.u16(vi); w.u64(address); w.u32(length)
            case .boot: w.u8(0x10)
            case .disable: w.u8(0x11)
            case .enable: w.u8(0x12)
            case .giveback: w.u8(0x13)
            case .stop: w.u8(0x14)
            case .reboot: w.u8(0x15)
            }
            return (0x04, w.bytes)
        case .time(let t): w.u64(t.nanoseconds); return (0x05, w.bytes)
        case .diskResult(let tag, let status, let data): w.u16(tag); w.u8(status); w.bytes += data; return (0x06, w.bytes)
        case .bye: return (0x07, [])
        }
    }

    public static func decode(type: UInt8, body: [UInt8]) throws(AdapterError) -> KitFrame {
        var r = BodyReader(type: type, body)
        let frame: KitFrame
        switch type {
        case 0x01:
            let version = try r.u16("version")
            let roleCode = try r.u8("role")
            guard let role = Role(code: roleCode) else { throw AdapterError(frameType: type, offset: 2, "unknown role \(roleCode)") }
            let clock = try r.u8("clock"), udp = try r.u8("packets")
            frame = .hello(version: version, role: role, virtualClock: clock == 0, udp: udp == 1, options: try r.options())
        case 0x02: frame = .reset
        case 0x03: frame = .packet(port: try r.u8("port"), bytes: r.rest())
        case 0x04:
            let c = try r.u8("command")
            switch c {
            case 0x01: frame = .command(.createVI(vi: try r.u16("vi")))
            case 0x02: frame = .command(.enableRDMA(vi: try r.u16("vi"), address: try r.u64("address"), length: try r.u32("length")))
            case 0x03:
                frame = .command(.post(vi: try r.u16("vi"), descriptor: try r.u32("descriptor"), op: try r.u8("op"), flags: try r.u8("flags"),
                                       address: try r.u64("address"), length: try r.u32("length"), immediate: try r.u32("immediate"), data: r.rest()))
            case 0x04: frame = .command(.readMemory(vi: try r.u16("vi"), address: try r.u64("address"), length: try r.u32("length")))
            case 0x10: frame = .command(.boot)
            case 0x11: frame = .command(.disable)
            case 0x12: frame = .command(.enable)
            case 0x13: frame = .command(.giveback)
            case 0x14: frame = .command(.stop)
            case 0x15: frame = .command(.reboot)
            default: throw AdapterError(frameType: type, offset: 0, "unknown command 0x\(String(c, radix: 16))")
            }
        case 0x05: frame = .time(VirtualTime(nanoseconds: try r.u64("now")))
        case 0x06: frame = .diskResult(tag: try r.u16("tag"), status: try r.u8("status"), data: r.rest())
        case 0x07: frame = .bye
        default: throw AdapterError(frameType: type, offset: 0, "unknown kit frame type")
        }
        try r.end()
        return frame
    }
}

extension IUTFrame {
    public var typeAndBody: (UInt8, [UInt8]) {
        var w = BodyWriter()
        switch self {
        case .helloAck(let version, let roles, let clocks, let name, let options):
            w.u16(version); w.u8(roles); w.u8(clocks); w.str(name); w.options(options)
            return (0x81, w.bytes)
        case .ready: return (0x82, [])
        case .packet(let port, let bytes): return (0x83, [port] + bytes)
        case .event(let e):
            switch e {
            case .completion(let vi, let d, let status, let data): w.u8(0x01); w.u16(vi); w.u32(d); w.u8(status); w.bytes += data
            case .deliver(let vi, let flags, let imm, let data): w.u8(0x02); w.u16(vi); w.u8(flags); w.u32(imm); w.bytes += data
            case .memory(let vi, let address, let data): w.u8(0x03); w.u16(vi); w.u64(address); w.bytes += data
            case .state(let state, let step, let generation, let enabled): w.u8(0x20); w.u8(state); w.u8(step); w.u32(generation); w.u8(enabled ? 1 : 0)
            }
            return (0x84, w.bytes)
        case .idle(let next, let datagrams): w.u64(next?.nanoseconds ?? AdapterProtocol.never); w.u32(datagrams); return (0x85, w.bytes)
        case .error(let reason): w.str(reason); return (0x86, w.bytes)
        case .disk(let tag, let op, let device, let block, let count, let data):
            w.u16(tag); w.u8(op); w.u8(device); w.u32(block); w.u32(count); w.bytes += data
            return (0x87, w.bytes)
        }
    }

    public static func decode(type: UInt8, body: [UInt8]) throws(AdapterError) -> IUTFrame {
        var r = BodyReader(type: type, body)
        let frame: IUTFrame
        switch type {
        case 0x81:
            frame = .helloAck(version: try r.u16("version"), roles: try r.u8("roles"), clocks: try r.u8("clocks"), name: try r.str("name"),
                              options: try r.options())
        case 0x82: frame = .ready
        case 0x83: frame = .packet(port: try r.u8("port"), bytes: r.rest())
        case 0x84:
            let kind = try r.u8("kind")
            switch kind {
            case 0x01: frame = .event(.completion(vi: try r.u16("vi"), descriptor: try r.u32("descriptor"), status: try r.u8("status"), data: r.rest()))
            case 0x02: frame = .event(.deliver(vi: try r.u16("vi"), flags: try r.u8("flags"), immediate: try r.u32("immediate"), data: r.rest()))
            case 0x03: frame = .event(.memory(vi: try r.u16("vi"), address: try r.u64("address"), data: r.rest()))
            case 0x20:
                frame = .event(.state(state: try r.u8("state"), step: try r.u8("step"), generation: try r.u32("generation"),
                                      takeoverEnabled: try r.u8("takeover-enabled") != 0))
            default: throw AdapterError(frameType: type, offset: 0, "unknown event kind 0x\(String(kind, radix: 16))")
            }
        case 0x85:
            let next = try r.u64("next")
            frame = .idle(next: next == AdapterProtocol.never ? nil : VirtualTime(nanoseconds: next), datagrams: try r.u32("datagrams"))
        case 0x86: frame = .error(try r.str("reason"))
        case 0x87:
            frame = .disk(tag: try r.u16("tag"), op: try r.u8("op"), device: try r.u8("device"), block: try r.u32("block"),
                          count: try r.u32("count"), data: r.rest())
        default: throw AdapterError(frameType: type, offset: 0, "unknown IUT frame type")
        }
        try r.end()
        return frame
    }
}

/// Length-prefixed framing: `u32 length` (type + body), `u8 type`, body.
public enum Framing {
    public static func encode(type: UInt8, body: [UInt8]) -> [UInt8] {
        var w = BodyWriter()
        w.u32(UInt32(body.count + 1))
        w.u8(type)
        return w.bytes + body
    }

    public static func encode(_ frame: KitFrame) -> [UInt8] {
        let (t, b) = frame.typeAndBody
        return encode(type: t, body: b)
    }

    public static func encode(_ frame: IUTFrame) -> [UInt8] {
        let (t, b) = frame.typeAndBody
        return encode(type: t, body: b)
    }
}

/// An incremental frame splitter for a byte stream: feed it bytes as they come, take whole frames out.
/// Keeps its state between reads, in the manner of a ByteToMessageDecoder.
public struct FrameSplitter: Sendable {
    public let maxFrame: Int
    private var buffer: [UInt8] = []
    private var start = 0

    public init(maxFrame: Int = AdapterProtocol.defaultMaxFrame) { self.maxFrame = maxFrame }

    public enum Fault: Error, Hashable, Sendable {
        case zeroLength
        case tooLarge(Int)
    }

    public mutating func feed(_ bytes: some Sequence<UInt8>) { buffer.append(contentsOf: bytes) }

    /// The next whole frame, nil when more bytes are needed; throws on a length the protocol forbids.
    public mutating func next() throws(Fault) -> (type: UInt8, body: [UInt8])? {
        guard buffer.count - start >= 4 else { return nil }
        let n = Int(buffer[start]) << 24 | Int(buffer[start + 1]) << 16 | Int(buffer[start + 2]) << 8 | Int(buffer[start + 3])
        guard n >= 1 else { throw .zeroLength }
        guard n <= maxFrame else { throw .tooLarge(n) }
        guard buffer.count - start - 4 >= n else { return nil }
        let type = buffer[start + 4]
        let body = Array(buffer[(start + 5)..<(start + 4 + n)])
        start += 4 + n
        if start > 65_536 {
            buffer.removeFirst(start)
            start = 0
        }
        return (type, body)
    }

    /// Bytes received that do not yet form a frame.
    public var pending: Int { buffer.count - start }
}
