import VigilCore

// The SAN packet codec: encode and decode side by side, one function each, following the layout of
// `specs/san-wire.md` (a model choice, rule SAN-WIRE-LAYOUT; the patent names the fields, not their bits).
//
//   offset  size  field
//   0       3     DID[23:4] ACB[3:1] F[0]             big-endian
//   3       1     TT[7:4] reserved[3:0]              1 request, 2 ACK, 3 NACK, 4 supervisory
//   4       3     SID[23:4] reserved[3:0]
//   7       2     TSN
//   9       2     LEN                                payload bytes (RDMA read request: bytes asked for)
//   -- request, ACK, NACK --
//   11      1     VIOP: OP[7:6] ORD[5] FIRST[4] LAST[3] IMM[2] reserved[1:0]
//   12      1     SEQ
//   13      2     VI
//   15      8     ADDRESS     request with OP = RDMA write or RDMA read
//   15      4     IMMEDIATE   request with OP = send and IMM = 1
//   15      1     REASON      NACK only
//   --      LEN   PAYLOAD     send / RDMA write request, ACK to an RDMA read
//   -- supervisory --
//   11      1     SUPOP
//   12      1     PATH: reserved[7:2] REQPORT[1] RSPPORT[0]
//   13      2     VI          barrier-location and its ACK, else 0
//   15      8     ADDRESS     barrier-location and its ACK, else 0
//   -- all --
//   end-4   4     CRC-32C over every byte before it, big-endian

extension SANPacket {
    static let commonHeaderSize = 11
    static let viHeaderSize = 4
    static let crcSize = 4
    static let supervisoryBodySize = 12
    /// The largest well-formed packet: header, VI header, address, 512 bytes, CRC.
    public static let maxEncodedSize = commonHeaderSize + viHeaderSize + 8 + maxPayload + crcSize

    /// The packet's bytes, with LEN, TT and CRC computed.
    public func encode() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.maxEncodedSize)
        let routing = destination.value << 4 | UInt32(acb.code) << 1 | (fabric ? 1 : 0)
        out.append(UInt8(truncatingIfNeeded: routing >> 16))
        out.append(UInt8(truncatingIfNeeded: routing >> 8))
        out.append(UInt8(truncatingIfNeeded: routing))
        out.append(body.transactionType.rawValue << 4)
        let sid = source.value << 4
        out.append(UInt8(truncatingIfNeeded: sid >> 16))
        out.append(UInt8(truncatingIfNeeded: sid >> 8))
        out.append(UInt8(truncatingIfNeeded: sid))
        out.appendBigEndian(tsn)
        switch body {
        case .request(let request):
            let length: Int
            switch request.kind {
            case .send(let data, _), .rdmaWrite(_, let data): length = data.count
            case .rdmaRead(_, let n): length = Int(n)
            }
            out.appendBigEndian(UInt16(truncatingIfNeeded: length))
            out.append(request.control.byte)
            out.append(request.sequence)
            out.appendBigEndian(request.vi)
            switch request.kind {
            case .send(let data, let immediate):
                if let immediate { out.appendBigEndian(immediate) }
                out.append(contentsOf: data)
            case .rdmaWrite(let address, let data):
                out.appendBigEndian(address)
                out.append(contentsOf: data)
            case .rdmaRead(let address, _):
                out.appendBigEndian(address)
            }
        case .ack(let fields, let data):
            out.appendBigEndian(UInt16(truncatingIfNeeded: data.count))
            out.appendResponseFields(fields)
            out.append(contentsOf: data)
        case .nack(let fields, let reason):
            out.appendBigEndian(UInt16(0))
            out.appendResponseFields(fields)
            out.append(reason.rawValue)
        case .supervisory(let message):
            out.appendBigEndian(UInt16(0))
            out.append(message.op.rawValue)
            out.append(UInt8(message.path.requestorPort << 1 | message.path.responderPort))
            out.appendBigEndian(message.vi)
            out.appendBigEndian(message.address)
        }
        out.appendBigEndian(CRC32C.checksum(out))
        return out
    }

    /// Decodes exactly one packet from `bytes`, strictly: every length, code, reserved bit and the CRC
    /// is checked, and the first fault is returned as a typed error. Never traps.
    ///
    /// Order of checks (documented in `specs/san-wire.md`): fixed header complete, TT code and its
    /// reserved bits, SID reserved bits, LEN range, VIOP operation, total size against LEN, CRC, then
    /// the remaining codes and reserved fields.
    public static func decode(_ bytes: [UInt8]) throws(SANWireError) -> SANPacket {
        let count = bytes.count
        guard count >= commonHeaderSize else { throw truncation(at: count, fixedSize: commonHeaderSize) }
        guard let type = TransactionType(rawValue: bytes[3] >> 4) else {
            throw SANWireError(.unknownTransactionType, field: .transactionType, offset: 3,
                               "transaction type code \(bytes[3] >> 4) is not assigned")
        }
        guard bytes[3] & 0x0F == 0 else {
            throw SANWireError(.reservedBitsSet, field: .transactionType, offset: 3,
                               "reserved low nibble of byte 3 is \(bytes[3] & 0x0F), must be 0")
        }
        guard bytes[6] & 0x0F == 0 else {
            throw SANWireError(.reservedBitsSet, field: .source, offset: 6,
                               "reserved low nibble of byte 6 is \(bytes[6] & 0x0F), must be 0")
        }
        let length = Int(bytes.readBigEndianUInt16(at: 9))
        guard length <= maxPayload else {
            throw SANWireError(.lengthTooLarge, field: .length, offset: 9,
                               "LEN is \(length); payloads above \(maxPayload) bytes are reserved")
        }

        // The fixed part and the payload size follow from TT, and for a request from the operation.
        var operation: VIOperation? = nil
        let fixedSize: Int
        var payloadSize = 0
        switch type {
        case .request, .ack, .nack:
            guard count >= commonHeaderSize + 1 else { throw truncation(at: count, fixedSize: commonHeaderSize + viHeaderSize) }
            guard let op = VIOperation(rawValue: bytes[11] >> 6) else {
                throw SANWireError(.unknownOperation, field: .viOperation, offset: 11,
                                   "operation code \(bytes[11] >> 6) is not assigned")
            }
            operation = op
            let immediate = bytes[11] & 0b100 != 0
            switch type {
            case .request:
                fixedSize = commonHeaderSize + viHeaderSize + (op.isRDMA ? 8 : (immediate ? 4 : 0))
                payloadSize = op == .rdmaRead ? 0 : length
            case .ack:
                fixedSize = commonHeaderSize + viHeaderSize
                payloadSize = length
            default:
                fixedSize = commonHeaderSize + viHeaderSize + 1
                payloadSize = length
            }
        case .supervisory:
            fixedSize = commonHeaderSize + supervisoryBodySize
            payloadSize = length
        }
        guard count >= fixedSize + crcSize else {
            throw truncation(at: count, fixedSize: fixedSize)
        }
        let expected = fixedSize + payloadSize + crcSize
        guard count == expected else {
            throw SANWireError(.lengthMismatch, field: .length, offset: 9,
                               "LEN \(length) makes a \(type) packet of \(expected) bytes, but it has \(count)")
        }
        let crcOffset = count - crcSize
        let carried = bytes.readBigEndianUInt32(at: crcOffset)
        let computed = CRC32C.checksum(bytes, range: 0..<crcOffset)
        guard carried == computed else {
            throw SANWireError(.crcMismatch, field: .crc, offset: crcOffset,
                               "CRC is \(hex(carried)), the bytes before it give \(hex(computed))")
        }

        let routing = UInt32(bytes[0]) << 16 | UInt32(bytes[1]) << 8 | UInt32(bytes[2])
        guard let acb = AdaptiveControl(code: UInt8((routing >> 1) & 0b111)) else {
            throw SANWireError(.unknownAdaptiveControl, field: .acb, offset: 2,
                               "ACB code \((routing >> 1) & 0b111) is not assigned")
        }
        let destination = SNID(unchecked: routing >> 4)
        let fabric = routing & 1 == 1
        let source = SNID(unchecked: (UInt32(bytes[4]) << 16 | UInt32(bytes[5]) << 8 | UInt32(bytes[6])) >> 4)
        let tsn = bytes.readBigEndianUInt16(at: 7)

        let body: PacketBody
        if let operation {
            let control = try decodeControl(bytes[11], operation: operation)
            let sequence = bytes[12]
            let vi = bytes.readBigEndianUInt16(at: 13)
            let payloadStart = fixedSize
            let payload = Array(bytes[payloadStart..<(payloadStart + payloadSize)])
            switch type {
            case .request:
                let kind: RequestKind
                switch operation {
                case .send:
                    kind = .send(data: payload, immediate: control.immediate ? bytes.readBigEndianUInt32(at: 15) : nil)
                case .rdmaWrite:
                    kind = .rdmaWrite(address: bytes.readBigEndianUInt64(at: 15), data: payload)
                case .rdmaRead:
                    kind = .rdmaRead(address: bytes.readBigEndianUInt64(at: 15), length: UInt16(length))
                }
                body = .request(Request(kind: kind, ordered: control.ordered, first: control.first,
                                        last: control.last, sequence: sequence, vi: vi))
            case .ack:
                guard operation == .rdmaRead || length == 0 else {
                    throw SANWireError(.lengthMismatch, field: .length, offset: 9,
                                       "an ACK to a \(operation) carries no data, but LEN is \(length)")
                }
                body = .ack(ResponseFields(control: control, sequence: sequence, vi: vi), data: payload)
            default:
                guard length == 0 else {
                    throw SANWireError(.lengthMismatch, field: .length, offset: 9, "a NACK carries no data, but LEN is \(length)")
                }
                guard let reason = NackReason(rawValue: bytes[15]) else {
                    throw SANWireError(.unknownNackReason, field: .nackReason, offset: 15,
                                       "NACK reason code \(bytes[15]) is not assigned")
                }
                body = .nack(ResponseFields(control: control, sequence: sequence, vi: vi), reason: reason)
            }
        } else {
            guard length == 0 else {
                throw SANWireError(.lengthMismatch, field: .length, offset: 9,
                                   "a supervisory message carries no data, but LEN is \(length)")
            }
            guard let op = SupervisoryOp(rawValue: bytes[11]) else {
                throw SANWireError(.unknownSupervisoryOp, field: .supervisoryOp, offset: 11,
                                   "supervisory code \(bytes[11]) is not assigned")
            }
            guard bytes[12] & 0xFC == 0 else {
                throw SANWireError(.reservedBitsSet, field: .path, offset: 12,
                                   "reserved bits 7-2 of PATH are \(bytes[12] >> 2), must be 0")
            }
            let vi = bytes.readBigEndianUInt16(at: 13)
            let address = bytes.readBigEndianUInt64(at: 15)
            let carriesLocation = op == .barrierLocation || op == .barrierLocationAck
            if !carriesLocation, vi != 0 || address != 0 {
                throw SANWireError(.reservedBitsSet, field: vi != 0 ? .vi : .address, offset: vi != 0 ? 13 : 15,
                                   "\(op) carries no barrier location; VI and ADDRESS must be 0")
            }
            body = .supervisory(Supervisory(op: op, path: PathID(requestorPort: bytes[12] >> 1, responderPort: bytes[12]),
                                            vi: vi, address: address))
        }
        return SANPacket(destination: destination, acb: acb, fabric: fabric, source: source, tsn: tsn, body: body)
    }

    private static func decodeControl(_ byte: UInt8, operation: VIOperation) throws(SANWireError) -> VIControl {
        guard byte & 0b11 == 0 else {
            throw SANWireError(.reservedBitsSet, field: .viOperation, offset: 11,
                               "reserved bits 1-0 of VIOP are \(byte & 0b11), must be 0")
        }
        let immediate = byte & 0b100 != 0
        guard !(immediate && operation.isRDMA) else {
            throw SANWireError(.reservedBitsSet, field: .viOperation, offset: 11,
                               "IMM is set on an \(operation); only a send carries immediate data")
        }
        return VIControl(operation: operation, ordered: byte & 0b10_0000 != 0, first: byte & 0b1_0000 != 0,
                         last: byte & 0b1000 != 0, immediate: immediate)
    }

    /// A `truncated` error naming the field in which the bytes end.
    private static func truncation(at count: Int, fixedSize: Int) -> SANWireError {
        let field: SANWireError.Field
        switch count {
        case 0..<3: field = .destination
        case 3: field = .transactionType
        case 4..<7: field = .source
        case 7..<9: field = .tsn
        case 9..<11: field = .length
        case 11: field = .viOperation
        case 12: field = .sequence
        case 13..<15: field = .vi
        default: field = count < fixedSize ? .address : .payload
        }
        return SANWireError(.truncated, field: field, offset: count,
                            "packet ends after \(count) bytes, inside \(field.rawValue) (fixed part is \(fixedSize) bytes plus CRC)")
    }
}

extension VIControl {
    var byte: UInt8 {
        operation.rawValue << 6 | (ordered ? 0b10_0000 : 0) | (first ? 0b1_0000 : 0) | (last ? 0b1000 : 0)
            | (immediate ? 0b100 : 0)
    }
}

func hex(_ v: UInt32) -> String {
    let s = String(v, radix: 16, uppercase: true)
    return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        var v = value.bigEndian
        Swift.withUnsafeBytes(of: &v) { append(contentsOf: $0) }
    }

    fileprivate mutating func appendResponseFields(_ fields: ResponseFields) {
        append(fields.control.byte)
        append(fields.sequence)
        appendBigEndian(fields.vi)
    }

    /// Callers check bounds first.
    func readBigEndianUInt16(at i: Int) -> UInt16 { UInt16(self[i]) << 8 | UInt16(self[i + 1]) }
    func readBigEndianUInt32(at i: Int) -> UInt32 {
        UInt32(self[i]) << 24 | UInt32(self[i + 1]) << 16 | UInt32(self[i + 2]) << 8 | UInt32(self[i + 3])
    }
    func readBigEndianUInt64(at i: Int) -> UInt64 {
        UInt64(readBigEndianUInt32(at: i)) << 32 | UInt64(readBigEndianUInt32(at: i + 4))
    }
}
