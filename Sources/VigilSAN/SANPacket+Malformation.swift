import VigilCore

extension SANPacket {
    /// Ways to make a packet wrong on purpose, Scapy-style: a computed field forced to a given value, a
    /// code outside the assigned ones, a reserved bit set, the bytes cut or extended. The fuzzer crafts
    /// invalid input with these; each one is caught by a specific check of `decode`.
    public struct Malformation: Hashable, Sendable {
        /// Forces the CRC field (otherwise it is recomputed after the other changes).
        public var crc: UInt32?
        /// XORs the computed CRC with this value (a CRC that is wrong by a known amount).
        public var crcXor: UInt32?
        /// Forces LEN.
        public var length: UInt16?
        /// Forces the 4-bit transaction type code.
        public var transactionTypeCode: UInt8?
        /// Forces the 3-bit ACB code.
        public var acbCode: UInt8?
        /// Forces the 2-bit operation code (requests and responses).
        public var operationCode: UInt8?
        /// Forces the NACK reason byte (NACKs only).
        public var nackReasonCode: UInt8?
        /// Forces the supervisory op byte (supervisory messages only).
        public var supervisoryOpCode: UInt8?
        /// Sets reserved bit 0 of byte 3.
        public var setReservedBit: Bool
        /// Keeps only the first N bytes (after the CRC is written).
        public var truncateTo: Int?
        /// Appends these bytes after the CRC.
        public var trailing: [UInt8]

        public init(
            crc: UInt32? = nil, crcXor: UInt32? = nil, length: UInt16? = nil, transactionTypeCode: UInt8? = nil,
            acbCode: UInt8? = nil, operationCode: UInt8? = nil, nackReasonCode: UInt8? = nil,
            supervisoryOpCode: UInt8? = nil, setReservedBit: Bool = false, truncateTo: Int? = nil,
            trailing: [UInt8] = []
        ) {
            self.crc = crc
            self.crcXor = crcXor
            self.length = length
            self.transactionTypeCode = transactionTypeCode
            self.acbCode = acbCode
            self.operationCode = operationCode
            self.nackReasonCode = nackReasonCode
            self.supervisoryOpCode = supervisoryOpCode
            self.setReservedBit = setReservedBit
            self.truncateTo = truncateTo
            self.trailing = trailing
        }
    }

    /// The packet's bytes with `malformation` applied. Field overrides are written first, then the CRC
    /// (recomputed, unless forced or XORed), then the bytes are cut or extended.
    public func encode(_ malformation: Malformation) -> [UInt8] {
        var bytes = encode()
        let crcOffset = bytes.count - Self.crcSize
        if let length = malformation.length {
            bytes[9] = UInt8(truncatingIfNeeded: length >> 8)
            bytes[10] = UInt8(truncatingIfNeeded: length)
        }
        if let code = malformation.transactionTypeCode { bytes[3] = (bytes[3] & 0x0F) | (code << 4) }
        if malformation.setReservedBit { bytes[3] |= 1 }
        if let code = malformation.acbCode { bytes[2] = (bytes[2] & 0b1111_0001) | ((code & 0b111) << 1) }
        switch body {
        case .request, .ack, .nack:
            if let code = malformation.operationCode { bytes[11] = (bytes[11] & 0b0011_1111) | (code << 6) }
            if case .nack = body, let code = malformation.nackReasonCode { bytes[15] = code }
        case .supervisory:
            if let code = malformation.supervisoryOpCode { bytes[11] = code }
        }
        var crc = CRC32C.checksum(bytes, range: 0..<crcOffset)
        if let forced = malformation.crc { crc = forced }
        if let xor = malformation.crcXor { crc ^= xor }
        bytes[crcOffset] = UInt8(truncatingIfNeeded: crc >> 24)
        bytes[crcOffset + 1] = UInt8(truncatingIfNeeded: crc >> 16)
        bytes[crcOffset + 2] = UInt8(truncatingIfNeeded: crc >> 8)
        bytes[crcOffset + 3] = UInt8(truncatingIfNeeded: crc)
        if let n = malformation.truncateTo { bytes = Array(bytes.prefix(max(0, n))) }
        bytes.append(contentsOf: malformation.trailing)
        return bytes
    }
}
