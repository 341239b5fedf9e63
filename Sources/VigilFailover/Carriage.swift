/// How a status message rides on each channel (`specs/failover-wire.md` §2). US 6,119,244 col. 4: the
/// formats differ by pathway while the payload is identical; here every carrier wraps the same 44-byte
/// message in an 8-byte envelope and pads it to the carrier's size.
///
///     0  4  carrier magic: "VFMB" mailbox region, "VFNV" SAN record, "VFUD" UDP datagram
///     4  1  carrier version = 1
///     5  1  writer slot (0 node A, 1 node B)
///     6  2  message length = 44
///     8 44  status message
///    52  …  zero padding up to the carrier size (mailbox region 512, SAN record 64, datagram 52)
public struct Carriage: Sendable, Hashable {
    public var channel: Channel
    public var writer: NodeID
    public var message: StatusMessage

    public init(channel: Channel, writer: NodeID, message: StatusMessage) {
        self.channel = channel
        self.writer = writer
        self.message = message
    }

    public static let headerSize = 8
    public static let carrierVersion: UInt8 = 1
    /// UDP port for both ends (model choice FO-WIRE-CARRIAGE).
    public static let udpPort: UInt16 = 7244

    public static func magic(for channel: Channel) -> UInt32 {
        switch channel {
        case .mailbox: 0x5646_4D42  // "VFMB"
        case .san: 0x5646_4E56  // "VFNV"
        case .network: 0x5646_5544  // "VFUD"
        }
    }

    /// Total bytes of the carrier unit: one disk sector, one persistent-memory slot, one datagram payload.
    public static func size(of channel: Channel) -> Int {
        switch channel {
        case .mailbox: 512
        case .san: 64
        case .network: headerSize + StatusMessage.size
        }
    }

    public func encoded() -> [UInt8] { Self.encode(message.encoded(), channel: channel, writer: writer) }

    /// Wraps already-encoded message bytes (possibly crafted) in the carrier of `channel`.
    public static func encode(_ messageBytes: [UInt8], channel: Channel, writer: NodeID, writerSlot: UInt8? = nil)
        -> [UInt8]
    {
        var out: [UInt8] = []
        out.reserveCapacity(size(of: channel))
        out.appendBigEndian(magic(for: channel))
        out.appendBigEndian(carrierVersion)
        out.appendBigEndian(writerSlot ?? writer.rawValue)
        out.appendBigEndian(UInt16(StatusMessage.size))
        out += messageBytes
        let padded = size(of: channel)
        if out.count < padded { out += repeatElement(0, count: padded - out.count) }
        return out
    }

    public init(decoding bytes: [UInt8], channel: Channel) throws(FailoverWireError) {
        let size = Self.size(of: channel)
        var r = ByteReader(bytes)
        let magic = try r.integer(UInt32.self, field: "carrier_magic")
        guard magic == Self.magic(for: channel) else {
            throw FailoverWireError(.badMagic, field: "carrier_magic", offset: 0, reason: "not a \(channel) carrier")
        }
        let version = try r.integer(UInt8.self, field: "carrier_version")
        guard version == Self.carrierVersion else {
            throw FailoverWireError(.unsupportedCarrierVersion, field: "carrier_version", offset: 4, reason: "version \(version)")
        }
        let slot = try r.integer(UInt8.self, field: "writer_slot")
        guard let writer = NodeID(rawValue: slot) else {
            throw FailoverWireError(.badWriterSlot, field: "writer_slot", offset: 5, reason: "slot \(slot)")
        }
        let length = try r.integer(UInt16.self, field: "message_length")
        guard Int(length) == StatusMessage.size else {
            throw FailoverWireError(.wrongLength, field: "message_length", offset: 6, reason: "\(length), expected 44")
        }
        if bytes.count > size {
            throw FailoverWireError(
                .trailingBytes, field: "carrier", offset: size, reason: "\(bytes.count) bytes, carrier holds \(size)")
        }
        let message = try StatusMessage(decoding: bytes, at: Self.headerSize, allowTrailing: true)
        // The envelope is outside the CRC; the writer slot must name the same node as the covered system id.
        guard message.systemID == writer.systemID else {
            throw FailoverWireError(
                .badWriterSlot, field: "writer_slot", offset: 5, reason: "slot \(slot) disagrees with the message's system id")
        }
        guard bytes.count == size else {
            throw FailoverWireError(.truncated, field: "padding", offset: bytes.count, reason: "carrier holds \(size) bytes")
        }
        let paddingStart = Self.headerSize + StatusMessage.size
        let firstNonZero: Int? = bytes.withUnsafeBufferPointer { buffer in
            var i = paddingStart
            while i < size {
                if buffer[i] != 0 { return i }
                i += 1
            }
            return nil
        }
        if let i = firstNonZero {
            throw FailoverWireError(.nonZeroPadding, field: "padding", offset: i, reason: "byte 0x\(String(bytes[i], radix: 16))")
        }
        self.init(channel: channel, writer: writer, message: message)
    }
}
