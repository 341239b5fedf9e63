import VigilCore

/// A packet as a script writes it: a well-formed packet in notation (optionally made wrong on purpose by a
/// malformation), or raw bytes for anything else.
///
///     did=0xB00 sid=0xA00 acb=lane0 f=0 tsn=1 req send ord first last seq=0 vi=1 data=07ab
///     did=0xA00 sid=0xB00 acb=lane0 f=0 tsn=1 nack send ord first last seq=5 vi=1 reason=sequence-error
///     did=0xB00 sid=0xA00 acb=lane0 f=0 tsn=9 sup path-bad path=01
///     did=0xB00 sid=0xA00 acb=lane0 f=0 tsn=1 req send ord first last seq=0 vi=1 data=07 crc-xor=0x1
///     hex=00b00010...
///
/// `notation` and `init(notation:)` are inverses (specs/script.md).
public enum SANWirePacket: Hashable, Sendable {
    case packet(SANPacket, SANPacket.Malformation?)
    case raw([UInt8])

    public var bytes: [UInt8] {
        switch self {
        case .packet(let p, let m): return m.map { p.encode($0) } ?? p.encode()
        case .raw(let b): return b
        }
    }

    /// The notation of received bytes: the packet when they decode, raw bytes otherwise.
    public init(bytes: [UInt8]) {
        if let p = try? SANPacket.decode(bytes) { self = .packet(p, nil) } else { self = .raw(bytes) }
    }

    public var notation: String {
        switch self {
        case .raw(let b): return "hex=" + hexString(b)
        case .packet(let p, let m):
            var t = p.notationTokens
            if let m { t += m.notationTokens }
            return t.joined(separator: " ")
        }
    }

    public struct NotationError: Error, Hashable, Sendable, CustomStringConvertible {
        /// 0-based index of the offending token.
        public var token: Int
        public var message: String
        public var description: String { "token \(token + 1): \(message)" }
    }

    public init(notation: String) throws(NotationError) {
        let tokens = notation.split(separator: " ").map(String.init)
        if tokens.count == 1, tokens[0].hasPrefix("hex=") {
            guard let b = parseHex(String(tokens[0].dropFirst(4))) else { throw NotationError(token: 0, message: "hex= needs an even number of hex digits") }
            self = .raw(b)
            return
        }
        var p = NotationParser(tokens: tokens)
        self = try p.parse()
    }
}

extension SANPacket {
    var notationTokens: [String] {
        var t = ["did=\(destination)", "sid=\(source)", "acb=\(acb)", "f=\(fabric ? 1 : 0)", "tsn=\(tsn)"]
        func control(_ c: VIControl) -> [String] {
            [c.operation.description] + (c.ordered ? ["ord"] : []) + (c.first ? ["first"] : []) + (c.last ? ["last"] : [])
        }
        switch body {
        case .request(let r):
            t += ["req"] + control(r.control)
            t += ["seq=\(r.sequence)", "vi=\(r.vi)"]
            switch r.kind {
            case .send(let d, let imm):
                if let imm { t.append("imm=\(imm)") }
                if !d.isEmpty { t.append("data=\(hexString(d))") }
            case .rdmaWrite(let a, let d):
                t.append("addr=\(hex64(a))")
                if !d.isEmpty { t.append("data=\(hexString(d))") }
            case .rdmaRead(let a, let n):
                t += ["addr=\(hex64(a))", "len=\(n)"]
            }
        case .ack(let f, let d):
            t += ["ack"] + control(f.control) + (f.control.immediate ? ["immflag"] : []) + ["seq=\(f.sequence)", "vi=\(f.vi)"]
            if !d.isEmpty { t.append("data=\(hexString(d))") }
        case .nack(let f, let reason):
            t += ["nack"] + control(f.control) + (f.control.immediate ? ["immflag"] : []) + ["seq=\(f.sequence)", "vi=\(f.vi)", "reason=\(reason)"]
        case .supervisory(let m):
            t += ["sup", m.op.description, "path=\(m.path.requestorPort)\(m.path.responderPort)"]
            if m.vi != 0 || m.address != 0 { t += ["vi=\(m.vi)", "addr=\(hex64(m.address))"] }
        }
        return t
    }
}

extension SANPacket.Malformation {
    var notationTokens: [String] {
        var t: [String] = []
        if let v = crc { t.append("crc=\(hex(v))") }
        if let v = crcXor { t.append("crc-xor=\(hex(v))") }
        if let v = length { t.append("len-force=\(v)") }
        if let v = transactionTypeCode { t.append("tt-force=\(v)") }
        if let v = acbCode { t.append("acb-force=\(v)") }
        if let v = operationCode { t.append("op-force=\(v)") }
        if let v = nackReasonCode { t.append("reason-force=\(v)") }
        if let v = supervisoryOpCode { t.append("supop-force=\(v)") }
        if setReservedBit { t.append("reserved-bit") }
        if let v = truncateTo { t.append("truncate=\(v)") }
        if !trailing.isEmpty { t.append("trailing=\(hexString(trailing))") }
        return t
    }

    var isEmpty: Bool { self == SANPacket.Malformation() }
}

private struct NotationParser {
    let tokens: [String]
    var i = 0
    var fields: [String: (String, Int)] = [:]
    var words: [(String, Int)] = []

    init(tokens: [String]) { self.tokens = tokens }

    typealias E = SANWirePacket.NotationError

    mutating func parse() throws(E) -> SANWirePacket {
        for (index, token) in tokens.enumerated() {
            if let eq = token.firstIndex(of: "=") {
                let key = String(token[..<eq])
                guard fields[key] == nil else { throw E(token: index, message: "\(key)= given twice") }
                fields[key] = (String(token[token.index(after: eq)...]), index)
            } else {
                words.append((token, index))
            }
        }
        let destination = try snid("did"), source = try snid("sid")
        let acb = try field("acb") { AdaptiveControl(notation: $0) }
        let fabric = try field("f") { $0 == "1" ? true : $0 == "0" ? false : nil }
        let tsn = try number("tsn", UInt16.self)
        guard let (kind, kindIndex) = words.first else { throw E(token: tokens.count, message: "expected req, ack, nack or sup") }
        words.removeFirst()
        let body: PacketBody
        switch kind {
        case "req", "ack", "nack":
            guard let (opWord, opIndex) = words.first else { throw E(token: tokens.count, message: "expected send, rdma-write or rdma-read") }
            words.removeFirst()
            guard let op = VIOperation.allCases.first(where: { $0.description == opWord }) else {
                throw E(token: opIndex, message: "unknown operation '\(opWord)' (send, rdma-write, rdma-read)")
            }
            let ordered = take("ord"), first = take("first"), last = take("last"), immflag = take("immflag")
            let seq = try number("seq", UInt8.self), vi = try number("vi", UInt16.self)
            let data = try hexField("data")
            switch kind {
            case "req":
                let requestKind: RequestKind
                switch op {
                case .send: requestKind = .send(data: data, immediate: try optionalNumber("imm", UInt32.self))
                case .rdmaWrite: requestKind = .rdmaWrite(address: try number("addr", UInt64.self), data: data)
                case .rdmaRead: requestKind = .rdmaRead(address: try number("addr", UInt64.self), length: try number("len", UInt16.self))
                }
                body = .request(Request(kind: requestKind, ordered: ordered, first: first, last: last, sequence: seq, vi: vi))
            case "ack":
                body = .ack(ResponseFields(control: VIControl(operation: op, ordered: ordered, first: first, last: last, immediate: immflag),
                                           sequence: seq, vi: vi), data: data)
            default:
                let reason = try field("reason") { r in NackReason.allCases.first { $0.description == r } }
                body = .nack(ResponseFields(control: VIControl(operation: op, ordered: ordered, first: first, last: last, immediate: immflag),
                                            sequence: seq, vi: vi), reason: reason)
            }
        case "sup":
            guard let (opWord, opIndex) = words.first else { throw E(token: tokens.count, message: "expected a supervisory op such as path-bad") }
            words.removeFirst()
            guard let op = SupervisoryOp.allCases.first(where: { $0.description == opWord }) else {
                throw E(token: opIndex, message: "unknown supervisory op '\(opWord)'")
            }
            let path = try field("path") { s -> PathID? in
                guard s.count == 2, let a = UInt8(String(s.first!)), let b = UInt8(String(s.last!)), a < 2, b < 2 else { return nil }
                return PathID(requestorPort: a, responderPort: b)
            }
            body = .supervisory(Supervisory(op: op, path: path, vi: try optionalNumber("vi", UInt16.self) ?? 0,
                                            address: try optionalNumber("addr", UInt64.self) ?? 0))
        default:
            throw E(token: kindIndex, message: "expected req, ack, nack or sup, found '\(kind)'")
        }
        var m = SANPacket.Malformation()
        m.crc = try optionalNumber("crc", UInt32.self)
        m.crcXor = try optionalNumber("crc-xor", UInt32.self)
        m.length = try optionalNumber("len-force", UInt16.self)
        m.transactionTypeCode = try optionalNumber("tt-force", UInt8.self)
        m.acbCode = try optionalNumber("acb-force", UInt8.self)
        m.operationCode = try optionalNumber("op-force", UInt8.self)
        m.nackReasonCode = try optionalNumber("reason-force", UInt8.self)
        m.supervisoryOpCode = try optionalNumber("supop-force", UInt8.self)
        m.setReservedBit = take("reserved-bit")
        m.truncateTo = try optionalNumber("truncate", Int.self)
        m.trailing = try hexField("trailing")
        if let (word, index) = words.first { throw E(token: index, message: "'\(word)' is not a flag of this packet") }
        if let (key, (_, index)) = fields.min(by: { $0.value.1 < $1.value.1 }) { throw E(token: index, message: "\(key)= is not a field of this packet") }
        let packet = SANPacket(destination: destination, acb: acb, fabric: fabric, source: source, tsn: tsn, body: body)
        return .packet(packet, m.isEmpty ? nil : m)
    }

    mutating func take(_ word: String) -> Bool {
        guard let i = words.firstIndex(where: { $0.0 == word }) else { return false }
        words.remove(at: i)
        return true
    }

    mutating func field<T>(_ key: String, _ convert: (String) -> T?) throws(E) -> T {
        guard let (value, index) = fields.removeValue(forKey: key) else { throw E(token: tokens.count, message: "\(key)= is missing") }
        guard let v = convert(value) else { throw E(token: index, message: "'\(value)' is not a valid \(key)") }
        return v
    }

    mutating func number<T: FixedWidthInteger>(_ key: String, _: T.Type) throws(E) -> T {
        try field(key) { parseNumber($0) }
    }

    mutating func optionalNumber<T: FixedWidthInteger>(_ key: String, _: T.Type) throws(E) -> T? {
        guard fields[key] != nil else { return nil }
        return try number(key, T.self)
    }

    mutating func snid(_ key: String) throws(E) -> SNID {
        try field(key) { s in parseNumber(s).flatMap { (v: UInt32) in SNID(v) } }
    }

    mutating func hexField(_ key: String) throws(E) -> [UInt8] {
        guard fields[key] != nil else { return [] }
        return try field(key) { parseHex($0) }
    }
}

extension AdaptiveControl {
    init?(notation: String) {
        if notation == "adaptive" {
            self = .adaptive
        } else if notation.hasPrefix("lane"), let l = UInt8(notation.dropFirst(4)), l < 4 {
            self = .lane(l)
        } else {
            return nil
        }
    }
}

/// "0x1F" (hex) or "31" (decimal).
func parseNumber<T: FixedWidthInteger>(_ s: String) -> T? {
    if s.hasPrefix("0x") || s.hasPrefix("0X") { return T(s.dropFirst(2), radix: 16) }
    return T(s)
}

func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    var out = ""
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 0xF)])
    }
    return out
}

func parseHex(_ s: String) -> [UInt8]? {
    let chars = Array(s.utf8)
    guard chars.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(chars.count / 2)
    var i = 0
    while i < chars.count {
        guard let hi = hexValue(chars[i]), let lo = hexValue(chars[i + 1]) else { return nil }
        out.append(hi << 4 | lo)
        i += 2
    }
    return out
}

private func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case 48...57: return c - 48
    case 97...102: return c - 87
    case 65...70: return c - 55
    default: return nil
    }
}

extension SANWirePacket {
    /// Hex digits in pairs to bytes, nil when malformed.
    public static func parseHexData(_ s: String) -> [UInt8]? { parseHex(s) }
}
