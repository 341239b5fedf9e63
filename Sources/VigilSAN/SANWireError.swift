/// Why bytes are not a valid SAN packet: a stable code, the field, and the byte offset where decoding
/// stopped. Two errors are equal when their codes are, so tests and the model can match on the code while
/// people read the detail.
public struct SANWireError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        /// The bytes end inside the fixed part of the packet.
        case truncated
        /// LEN is above 512: code space reserved for larger payloads.
        case lengthTooLarge
        /// The packet's size disagrees with what LEN and the transaction type imply.
        case lengthMismatch
        case crcMismatch
        case unknownTransactionType
        case unknownOperation
        case unknownAdaptiveControl
        case unknownNackReason
        case unknownSupervisoryOp
        /// A reserved bit or an unused field is not zero.
        case reservedBitsSet
    }

    public enum Field: String, Sendable {
        case destination = "DID", acb = "ACB", fabric = "F", transactionType = "TT", source = "SID", tsn = "TSN"
        case length = "LEN", viOperation = "VIOP", sequence = "SEQ", vi = "VI", address = "ADDRESS"
        case immediate = "IMMEDIATE", nackReason = "REASON", supervisoryOp = "SUPOP", path = "PATH"
        case payload = "PAYLOAD", crc = "CRC"
    }

    public let code: Code
    public let field: Field
    /// Offset of the first byte of the field at fault (for `truncated`, the offset where the bytes end).
    public let offset: Int
    public let detail: String

    public init(_ code: Code, field: Field, offset: Int, _ detail: String) {
        self.code = code
        self.field = field
        self.offset = offset
        self.detail = detail
    }

    public static func == (a: SANWireError, b: SANWireError) -> Bool { a.code == b.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String { "\(code.rawValue) at byte \(offset) (\(field.rawValue)): \(detail)" }
}
