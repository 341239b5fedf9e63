import PropertyBased
import Testing
import VigilCore
@testable import VigilSAN

/// Generators of well-formed packets, one per body kind.
enum PacketGen {
    static let packet = zip(
        Gen<UInt32>.value(in: 0...SNID.max),
        Gen<UInt32>.value(in: 0...SNID.max),
        Gen<UInt8>.value(in: 0...4),
        Gen<UInt16>.value(),
        Gen.int(in: 0...9),
        Gen<UInt8>.value().array(of: 0...SANPacket.maxPayload),
        Gen<UInt64>.value(),
        Gen<UInt8>.value(),
        Gen<UInt16>.value()
    ).map { did, sid, acb, tsn, selector, data, word, bits, vi in
        make(did: did, sid: sid, acb: acb, tsn: tsn, selector: selector, data: data, word: word, bits: bits, vi: vi)
    }

    static func make(did: UInt32, sid: UInt32, acb: UInt8, tsn: UInt16, selector: Int, data: [UInt8], word: UInt64,
                     bits: UInt8, vi: UInt16) -> SANPacket {
        let ordered = bits & 1 != 0, first = bits & 2 != 0, last = bits & 4 != 0
        let control = VIControl(operation: VIOperation(rawValue: (bits >> 3) % 3)!, ordered: ordered, first: first, last: last,
                                immediate: (bits >> 3) % 3 == 0 && bits & 0x80 != 0)
        let body: PacketBody
        switch selector {
        case 0: body = .request(Request(kind: .send(data: data, immediate: nil), ordered: ordered, first: first, last: last, sequence: bits, vi: vi))
        case 1: body = .request(Request(kind: .send(data: data, immediate: UInt32(truncatingIfNeeded: word)), ordered: ordered, first: first, last: last, sequence: bits, vi: vi))
        case 2: body = .request(Request(kind: .rdmaWrite(address: word, data: data), ordered: ordered, first: first, last: last, sequence: bits, vi: vi))
        case 3: body = .request(Request(kind: .rdmaRead(address: word, length: UInt16(data.count)), ordered: ordered, first: first, last: last, sequence: bits, vi: vi))
        case 4:
            var c = control
            c.operation = .rdmaRead
            c.immediate = false
            body = .ack(ResponseFields(control: c, sequence: bits, vi: vi), data: data)
        case 5:
            var c = control
            if c.operation == .rdmaRead { c.operation = .send }
            body = .ack(ResponseFields(control: c, sequence: bits, vi: vi), data: [])
        case 6: body = .nack(ResponseFields(control: control, sequence: bits, vi: vi), reason: NackReason.allCases[Int(bits) % NackReason.allCases.count])
        default:
            let op = SupervisoryOp.allCases[Int(bits) % SupervisoryOp.allCases.count]
            let located = op == .barrierLocation || op == .barrierLocationAck
            body = .supervisory(Supervisory(op: op, path: PathID(index: Int(bits) % 4), vi: located ? vi : 0, address: located ? word : 0))
        }
        return SANPacket(destination: SNID(did)!, acb: AdaptiveControl(code: acb)!, fabric: bits & 0x40 != 0,
                         source: SNID(sid)!, tsn: tsn, body: body)
    }

    /// A deterministic sample of packets for loops that need many.
    static func sample(_ n: Int, seed: UInt64) -> [SANPacket] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in
            let size = Int(rng.next() % 3 == 0 ? 512 : rng.next() % 600)
            return make(did: UInt32(truncatingIfNeeded: rng.next()) & SNID.max, sid: UInt32(truncatingIfNeeded: rng.next()) & SNID.max,
                        acb: UInt8(rng.next() % 5), tsn: UInt16(truncatingIfNeeded: rng.next()), selector: Int(rng.next() % 10),
                        data: rng.bytes(min(size, 512)), word: rng.next(), bits: UInt8(truncatingIfNeeded: rng.next()),
                        vi: UInt16(truncatingIfNeeded: rng.next()))
        }
    }
}

@Suite struct CodecTests {
    @Test func crc32cCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
    }

    @Test func decodeAfterEncodeIsIdentity() async {
        await propertyCheck(count: 1500, input: PacketGen.packet) { packet in
            #expect((try? SANPacket.decode(packet.encode())) == packet)
        }
    }

    @Test func encodeAfterDecodeIsIdentityOnValidBytes() async {
        await propertyCheck(count: 1500, input: PacketGen.packet) { packet in
            let bytes = packet.encode()
            #expect((try? SANPacket.decode(bytes))?.encode() == bytes)
        }
    }

    @Test func layoutOfAKnownPacketMatchesTheSpec() throws {
        // The worked example of specs/san-wire.md.
        let packet = SANPacket(destination: SNID(0xB00)!, acb: .lane(2), fabric: true, source: SNID(0xA01)!, tsn: 0x1234,
                               body: .request(Request(kind: .send(data: [0xDE, 0xAD], immediate: nil), ordered: true,
                                                      first: true, last: false, sequence: 7, vi: 3)))
        let bytes = packet.encode()
        let header: [UInt8] = [0x00, 0xB0, 0x05, 0x10, 0x00, 0xA0, 0x10, 0x12, 0x34, 0x00, 0x02, 0x30, 0x07, 0x00, 0x03, 0xDE, 0xAD]
        #expect(Array(bytes.prefix(17)) == header)
        #expect(bytes.count == 21)
        let crc = CRC32C.checksum(Array(bytes.prefix(17)))
        #expect(Array(bytes.suffix(4)) == [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)])
    }

    @Test func everyTruncationOfAValidPacketIsATypedError() {
        var checked = 0
        for packet in PacketGen.sample(150, seed: 0x5EED) {
            let bytes = packet.encode()
            for n in 0..<bytes.count {
                do {
                    _ = try SANPacket.decode(Array(bytes.prefix(n)))
                    Issue.record("a \(n)-byte prefix of \(packet.summary) decoded")
                } catch {
                    #expect(error.code == .truncated || error.code == .lengthMismatch, "prefix \(n): \(error)")
                    #expect(error.offset <= n)
                }
                checked += 1
            }
        }
        #expect(checked > 20_000)
    }

    @Test func randomBytesNeverTrapAndWhatDecodesReencodesExactly() {
        var rng = SplitMix64(seed: 42)
        var decoded = 0
        for round in 0..<60_000 {
            var bytes = rng.bytes(Int(rng.next() % 560))
            // Half the inputs carry a correct CRC so that the checks after the CRC are reached too.
            if round % 2 == 0, bytes.count >= 4 {
                let crc = CRC32C.checksum(bytes, range: 0..<(bytes.count - 4))
                for k in 0..<4 { bytes[bytes.count - 4 + k] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * k)) }
            }
            if let packet = try? SANPacket.decode(bytes) {
                decoded += 1
                #expect(packet.encode() == bytes)
            }
        }
        // Random bytes seldom form a packet; the seed is fixed, so the count is too.
        #expect(decoded < 60_000)
    }

    @Test(arguments: [
        (SANPacket.Malformation(crcXor: 1), SANWireError.Code.crcMismatch),
        (SANPacket.Malformation(crc: 0), .crcMismatch),
        (SANPacket.Malformation(length: 3), .lengthMismatch),
        (SANPacket.Malformation(length: 513), .lengthTooLarge),
        (SANPacket.Malformation(transactionTypeCode: 0), .unknownTransactionType),
        (SANPacket.Malformation(transactionTypeCode: 9), .unknownTransactionType),
        (SANPacket.Malformation(acbCode: 5), .unknownAdaptiveControl),
        (SANPacket.Malformation(operationCode: 3), .unknownOperation),
        (SANPacket.Malformation(setReservedBit: true), .reservedBitsSet),
        (SANPacket.Malformation(truncateTo: 7), .truncated),
        (SANPacket.Malformation(trailing: [0]), .lengthMismatch),
    ])
    func malformedRequestsAreCaughtByTheirCheck(malformation: SANPacket.Malformation, code: SANWireError.Code) {
        let request = SANPacket(destination: SNID(1)!, acb: .lane(0), fabric: false, source: SNID(2)!, tsn: 9,
                                body: .request(Request(kind: .send(data: [1, 2, 3, 4], immediate: nil), ordered: true, sequence: 0, vi: 1)))
        #expect(throws: SANWireError(code, field: .crc, offset: 0, "")) { try SANPacket.decode(request.encode(malformation)) }
    }

    @Test func malformedResponseAndSupervisoryCodes() {
        let fields = ResponseFields(control: VIControl(operation: .send, ordered: true, first: true, last: true), sequence: 1, vi: 1)
        let nack = SANPacket(destination: SNID(1)!, acb: .lane(0), fabric: false, source: SNID(2)!, tsn: 1,
                             body: .nack(fields, reason: .sequenceError))
        #expect(throws: SANWireError(.unknownNackReason, field: .nackReason, offset: 15, "")) {
            try SANPacket.decode(nack.encode(.init(nackReasonCode: 0)))
        }
        let sup = SANPacket(destination: SNID(1)!, acb: .lane(0), fabric: false, source: SNID(2)!, tsn: 1,
                            body: .supervisory(Supervisory(op: .pathBad, path: PathID(index: 2))))
        #expect(throws: SANWireError(.unknownSupervisoryOp, field: .supervisoryOp, offset: 11, "")) {
            try SANPacket.decode(sup.encode(.init(supervisoryOpCode: 0x7F)))
        }
    }

    @Test func errorsNameFieldAndOffset() {
        let packet = PacketGen.sample(1, seed: 7)[0].encode()
        do {
            _ = try SANPacket.decode(Array(packet.prefix(5)))
            Issue.record("decoded a 5-byte prefix")
        } catch {
            #expect(error.field == .source && error.offset == 5)
            #expect(error.description.contains("byte 5") && error.description.contains("SID"))
        }
        var wrong = packet
        wrong[wrong.count - 1] ^= 1
        do {
            _ = try SANPacket.decode(wrong)
            Issue.record("decoded a packet with a wrong CRC")
        } catch {
            #expect(error.field == .crc && error.offset == wrong.count - 4)
        }
    }
}
