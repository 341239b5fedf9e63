import PropertyBased
import Testing
import VigilCore
import VigilFailover

/// A status message from generated fields.
private let messages = zip(
    Gen.uint32(), Gen.uint64(), Gen.uint32(), Gen.uint64(), Gen<StateIndicator>.case, Gen.bool, Gen.uint8()
).map { g, s, pg, ps, state, recovering, version in
    StatusMessage(
        version: version, systemID: NodeID.a.systemID, state: state, flags: recovering ? .recovering : [],
        generation: g, sequence: s, peerGeneration: pg, peerSequence: ps)
}

private func decodeError(_ body: () throws -> Void) -> FailoverWireError? {
    do {
        try body()
        return nil
    } catch let error as FailoverWireError {
        return error
    } catch {
        Issue.record("not a FailoverWireError: \(error)")
        return nil
    }
}

@Suite("Status message codec (specs/failover-wire.md)")
struct CodecTests {
    @Test("decode(encode(m)) == m for every message")
    func messageRoundTrip() async {
        await propertyCheck(count: 300, input: messages) { m in
            let bytes = m.encoded()
            #expect(bytes.count == StatusMessage.size)
            #expect((try? StatusMessage(decoding: bytes)) == m)
        }
    }

    @Test("every carrier round-trips and has its size", arguments: Channel.allCases)
    func carrierRoundTrip(channel: Channel) async {
        await propertyCheck(count: 100, input: messages, Gen<NodeID>.case) { m, writer in
            var m = m
            m.systemID = writer.systemID
            let carriage = Carriage(channel: channel, writer: writer, message: m)
            let bytes = carriage.encoded()
            #expect(bytes.count == Carriage.size(of: channel))
            #expect((try? Carriage(decoding: bytes, channel: channel)) == carriage)
        }
    }

    @Test("the layout is the one the spec draws: big-endian fields at fixed offsets")
    func layoutByteForByte() {
        let m = StatusMessage(
            systemID: 0x0102_0304_0506_0708, state: .noTakeover, flags: .recovering, generation: 0x0A0B_0C0D,
            sequence: 0x1112_1314_1516_1718, peerGeneration: 0x2122_2324, peerSequence: 0x3132_3334_3536_3738)
        let b = m.encoded()
        #expect(Array(b[0..<8]) == [0x56, 0x46, 0x01, 0x03, 0x00, 0x01, 0x00, 0x2C])
        #expect(Array(b[8..<16]) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(Array(b[16..<20]) == [0x0A, 0x0B, 0x0C, 0x0D])
        #expect(Array(b[20..<28]) == [0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18])
        #expect(Array(b[28..<32]) == [0x21, 0x22, 0x23, 0x24])
        #expect(Array(b[32..<40]) == [0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38])
        #expect(CRC32C.checksum(Array(b[0..<40])) == UInt32(b[40]) << 24 | UInt32(b[41]) << 16 | UInt32(b[42]) << 8 | UInt32(b[43]))
        let udp = Carriage(channel: .network, writer: .b, message: m).encoded()
        #expect(Array(udp[0..<8]) == [0x56, 0x46, 0x55, 0x44, 0x01, 0x01, 0x00, 0x2C])
    }

    @Test("CRC-32C check value of \"123456789\" is 0xE3069283")
    func crcCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    private var sample: StatusMessage {
        StatusMessage(systemID: NodeID.b.systemID, state: .normal, generation: 3, sequence: 7, peerGeneration: 2, peerSequence: 9)
    }

    @Test("a crafted bad integrity check is refused at offset 40")
    func badCheck() {
        var frame = sample.frame
        frame.check = 0xDEAD_BEEF
        let e = decodeError { _ = try StatusMessage(decoding: frame.bytes()) }
        #expect(e?.code == .integrityMismatch)
        #expect(e?.field == "crc32c")
        #expect(e?.offset == 40)
    }

    @Test("a wrong length field is refused at offset 6")
    func wrongLength() {
        var frame = sample.frame
        frame.length = 45
        let e = decodeError { _ = try StatusMessage(decoding: frame.bytes()) }
        #expect(e?.code == .wrongLength)
        #expect(e?.offset == 6)
    }

    @Test("an unknown state code with a valid check is refused at offset 3", arguments: [0, 5, 0xFF] as [UInt8])
    func unknownState(code: UInt8) {
        var frame = sample.frame
        frame.stateCode = code
        let e = decodeError { _ = try StatusMessage(decoding: frame.bytes()) }
        #expect(e?.code == .unknownState)
        #expect(e?.field == "state")
        #expect(e?.offset == 3)
    }

    @Test("reserved flag bits are refused at offset 4", arguments: [0x0002, 0x8000, 0xFFFE] as [UInt16])
    func reservedBits(bits: UInt16) {
        var frame = sample.frame
        frame.flags = bits
        let e = decodeError { _ = try StatusMessage(decoding: frame.bytes()) }
        #expect(e?.code == .reservedBitsSet)
        #expect(e?.offset == 4)
    }

    @Test("every truncation names the field it cuts")
    func truncations() {
        let bytes = sample.encoded()
        let fieldAt: [(Int, String)] = [
            (0, "magic"), (2, "version"), (3, "state"), (4, "flags"), (6, "length"), (8, "system_id"),
            (16, "generation"), (20, "sequence"), (28, "peer_generation"), (32, "peer_sequence"), (40, "crc32c"),
        ]
        for cut in 0..<bytes.count {
            let e = decodeError { _ = try StatusMessage(decoding: Array(bytes.prefix(cut))) }
            let expected = fieldAt.last(where: { $0.0 <= cut })!
            #expect(e?.code == .truncated, "cut at \(cut)")
            #expect(e?.field == expected.1, "cut at \(cut)")
        }
        let e = decodeError { _ = try StatusMessage(decoding: bytes + [0]) }
        #expect(e?.code == .trailingBytes)
        #expect(e?.offset == 44)
    }

    @Test("carrier errors: magic, version, slot, padding, size")
    func carrierErrors() {
        let good = Carriage(channel: .mailbox, writer: .b, message: sample).encoded()
        var b = good
        b[0] = 0
        #expect(decodeError { _ = try Carriage(decoding: b, channel: .mailbox) }?.code == .badMagic)
        #expect(decodeError { _ = try Carriage(decoding: good, channel: .san) }?.code == .badMagic)
        b = good
        b[4] = 2
        #expect(decodeError { _ = try Carriage(decoding: b, channel: .mailbox) }?.offset == 4)
        let slot = Carriage.encode(sample.encoded(), channel: .san, writer: .a, writerSlot: 7)
        #expect(decodeError { _ = try Carriage(decoding: slot, channel: .san) }?.code == .badWriterSlot)
        // Slot 0 is a valid slot, but the message inside is B's: the envelope lies.
        let lying = Carriage.encode(sample.encoded(), channel: .san, writer: .a)
        #expect(decodeError { _ = try Carriage(decoding: lying, channel: .san) }?.code == .badWriterSlot)
        b = good
        b[300] = 1
        let padding = decodeError { _ = try Carriage(decoding: b, channel: .mailbox) }
        #expect(padding?.code == .nonZeroPadding)
        #expect(padding?.offset == 300)
        #expect(decodeError { _ = try Carriage(decoding: Array(good.prefix(100)), channel: .mailbox) }?.code == .truncated)
        #expect(decodeError { _ = try Carriage(decoding: good + [0], channel: .mailbox) }?.code == .trailingBytes)
    }

    @Test("any single flipped bit in a carrier is refused, never accepted as another message")
    func bitFlips() async {
        let bytes = Carriage(channel: .network, writer: .b, message: sample).encoded()
        await propertyCheck(count: 300, input: Gen.int(in: 0..<(bytes.count * 8))) { bit in
            var b = bytes
            b[bit / 8] ^= UInt8(1 << (bit % 8))
            #expect(decodeError { _ = try Carriage(decoding: b, channel: .network) } != nil)
        }
    }

    @Test("arbitrary bytes never trap the decoder")
    func garbage() async {
        await propertyCheck(count: 300, input: Gen.uint8().array(of: 0...80), Gen<Channel>.case) { bytes, channel in
            _ = try? StatusMessage(decoding: bytes)
            _ = try? Carriage(decoding: bytes, channel: channel)
        }
    }
}

@Suite("Newness rule (FO-MSG-NEWNESS)")
struct NewnessTests {
    /// The patent's sentence, word for word as a predicate (US 6,119,244 col. 5).
    private func plainlyNew(_ g: UInt32, _ s: UInt64, mostRecent: (g: UInt32, s: UInt64)) -> Bool {
        let generationIsGreater = g > mostRecent.g
        let generationEqualAndSequenceGreater = g == mostRecent.g && s > mostRecent.s
        return generationIsGreater || generationEqualAndSequenceGreater
    }

    @Test("isNew agrees with the plain statement of the rule")
    func agreesWithPlainStatement() async {
        // Small ranges so that equal generations and sequences come up often.
        await propertyCheck(
            count: 1000, input: Gen.uint32(in: 0...4), Gen.uint64(in: 0...4), Gen.uint32(in: 0...4), Gen.uint64(in: 0...4)
        ) { g, s, rg, rs in
            let m = Stamp(generation: g, sequence: s)
            #expect(m.isNew(after: Stamp(generation: rg, sequence: rs)) == plainlyNew(g, s, mostRecent: (rg, rs)))
        }
    }

    @Test("newness is a strict order: never new after itself, and of two distinct stamps exactly one is new after the other")
    func strictTotalOrder() async {
        await propertyCheck(count: 500, input: Gen.uint32(in: 0...3), Gen.uint64(in: 0...3), Gen.uint32(in: 0...3), Gen.uint64(in: 0...3)) {
            g1, s1, g2, s2 in
            let x = Stamp(generation: g1, sequence: s1)
            let y = Stamp(generation: g2, sequence: s2)
            #expect(!x.isNew(after: x))
            if x != y { #expect(x.isNew(after: y) != y.isNew(after: x)) }
        }
    }

    @Test("a new generation beats any sequence of the old one; the broken order does not")
    func generationFirst() {
        let beforeReboot = Stamp(generation: 1, sequence: 500)
        let afterReboot = Stamp(generation: 2, sequence: 1)
        #expect(afterReboot.isNew(after: beforeReboot))
        #expect(!beforeReboot.isNew(after: afterReboot))
        #expect(!afterReboot.isNew(after: beforeReboot, order: .sequenceThenGeneration))
    }

    @Test("a merged stream from three channels applies each message once, in order")
    func mergedStream() async {
        // Each channel delivers a subsequence of the sender's stream in order; merged arbitrarily, the
        // messages judged new must be strictly increasing and end at the newest message delivered.
        await propertyCheck(count: 200, input: Gen.int(in: 0...7).array(of: 1...40)) { picks in
            var mostRecent = Stamp.zero
            var accepted: [Stamp] = []
            var next = [UInt64](repeating: 1, count: 3)
            for p in picks {
                let channel = p % 3
                let stamp = Stamp(generation: 1 + UInt32(p / 6), sequence: next[channel])
                next[channel] += UInt64(1 + p % 2)
                if stamp.isNew(after: mostRecent) {
                    accepted.append(stamp)
                    mostRecent = stamp
                }
            }
            for (x, y) in zip(accepted, accepted.dropFirst()) { #expect(y.isNew(after: x)) }
        }
    }
}
