/// The one error the failover codec raises. It names what went wrong (a stable `code`), the field it was
/// reading and the byte offset of that field in the input, so a person can find the bad byte in a capture.
///
/// Two errors are equal when their codes are (as in swift-asn1); tests that care about the field or the
/// offset compare those properties directly.
public struct FailoverWireError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        /// The input ends before the field does.
        case truncated
        /// More bytes than the carrier or message allows.
        case trailingBytes
        /// A magic number is not the one the layout fixes.
        case badMagic
        /// The length field disagrees with the layout.
        case wrongLength
        /// The carrier version is not one this codec reads.
        case unsupportedCarrierVersion
        /// The state indicator is not NORMAL, TAKEOVER, NO-TAKEOVER or DISABLE.
        case unknownState
        /// A reserved flag bit is set.
        case reservedBitsSet
        /// The CRC-32C does not match the bytes it covers.
        case integrityMismatch
        /// Padding after the message is not zero.
        case nonZeroPadding
        /// The writer slot is neither 0 (node A) nor 1 (node B).
        case badWriterSlot
    }

    public let code: Code
    /// The field being read, as named in `specs/failover-wire.md` ("state", "crc32c", ...).
    public let field: String
    /// Byte offset of that field in the input.
    public let offset: Int
    public let reason: String

    public init(_ code: Code, field: String, offset: Int, reason: String) {
        self.code = code
        self.field = field
        self.offset = offset
        self.reason = reason
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String { "\(code.rawValue) in \(field) at byte \(offset): \(reason)" }
}

/// Big-endian readers and writers over a byte array. A read past the end returns nil (never traps), so a
/// decoder turns a short input into `FailoverWireError.truncated` naming the field.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var offset: Int

    init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    mutating func integer<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, field: String) throws(FailoverWireError) -> T {
        let width = MemoryLayout<T>.size
        guard offset >= 0, bytes.count - offset >= width else {
            throw FailoverWireError(
                .truncated, field: field, offset: offset,
                reason: "needs \(width) bytes, \(max(0, bytes.count - offset)) left")
        }
        var value: T = 0
        for i in 0..<width { value = (value << 8) | T(bytes[offset + i]) }
        offset += width
        return value
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        let width = MemoryLayout<T>.size
        for i in stride(from: width - 1, through: 0, by: -1) { append(UInt8(truncatingIfNeeded: value >> (i * 8))) }
    }
}
