import PropertyBased
import Testing
import VigilCore
@testable import VigilSAN

@Suite struct NotationTests {
    @Test func notationRoundTripsEveryPacket() async {
        await propertyCheck(count: 1000, input: PacketGen.packet) { packet in
            let written = SANWirePacket.packet(packet, nil).notation
            #expect((try? SANWirePacket(notation: written)) == .packet(packet, nil), "\(written)")
        }
    }

    @Test func malformationsAndRawBytesRoundTrip() throws {
        let p = PacketGen.sample(1, seed: 3)[0]
        let cases: [SANWirePacket] = [
            .packet(p, .init(crcXor: 1)), .packet(p, .init(length: 600, setReservedBit: true)),
            .packet(p, .init(transactionTypeCode: 9, truncateTo: 7, trailing: [1, 2])), .raw([0xDE, 0xAD, 0xBE, 0xEF]), .raw([]),
        ]
        for c in cases {
            #expect(try SANWirePacket(notation: c.notation) == c, "\(c.notation)")
        }
        #expect(SANWirePacket(bytes: p.encode()) == .packet(p, nil))
        #expect(SANWirePacket(bytes: [1, 2, 3]) == .raw([1, 2, 3]))
    }

    @Test func readableExample() throws {
        let text = "did=0xB00 sid=0xA00 acb=lane0 f=0 tsn=1 req send ord first last seq=0 vi=1 data=07ab"
        guard case .packet(let p, nil) = try SANWirePacket(notation: text), case .request(let r) = p.body else {
            Issue.record("did not parse as a request")
            return
        }
        #expect(r.sequence == 0 && r.ordered && r.kind == .send(data: [7, 0xAB], immediate: nil))
        #expect(SANWirePacket.packet(p, nil).notation == text)
    }

    @Test(arguments: [
        ("did=0xB00 sid=0xA00 acb=lane9 f=0 tsn=1 req send seq=0 vi=1", 2, "lane9"),
        ("did=0xB00 sid=0xA00 acb=lane0 f=0 tsn=1 req fetch seq=0 vi=1", 6, "fetch"),
        ("did=0xB00 sid=0xA00 acb=lane0 f=0 tsn=1 req send seq=300 vi=1", 7, "300"),
        ("did=0xB00 sid=0xA00 acb=lane0 f=0 tsn=1 req send seq=0 vi=1 bogus", 9, "bogus"),
        ("did=0xB00 sid=0xA00 acb=lane0 f=0 req send seq=0 vi=1", 8, "tsn"),
        ("did=0xB00 sid=0xA00 acb=lane0 f=0 tsn=1 req send seq=0 vi=1 data=7", 9, "data"),
    ])
    func errorsNameTheToken(text: String, token: Int, mention: String) {
        do {
            _ = try SANWirePacket(notation: text)
            Issue.record("parsed: \(text)")
        } catch {
            #expect(error.token == token && error.description.contains(mention), "\(error)")
        }
    }
}

@Suite struct ScriptTests {
    static let sample = """
        # FIG. 8 in brief
        @case fig8-lost-request
        @role san-responder
        @rules SAN-RSP-SEQ-AHEAD-NACK SAN-RSP-SEQ-AHEAD-DISCARD
        0.000000 > command create-vi vi=1
        0.000002 > packet port=0 did=0xB00 sid=0xA00 acb=lane0 f=0 tsn=2 req send ord seq=1 vi=1 data=07  # SEQ=0 was lost
        0.000002 < packet port=0 did=0xA00 sid=0xB00 acb=lane0 f=0 tsn=2 nack send ord seq=1 vi=1 reason=sequence-error
        0.0000025 > time

        """

    @Test func parseThenWriteIsTheIdentityOnCanonicalText() throws {
        let script = try Script.parse(Self.sample)
        #expect(script.text == Self.sample.replacingOccurrences(of: "        ", with: ""))
        #expect(try Script.parse(script.text) == script)
        #expect(script[header: "role"] == "san-responder")
        #expect(script.lines.count == 4 && script.lines[1].comment == "SEQ=0 was lost")
        #expect(script.lines[3].time == VirtualTime(nanoseconds: 2_500))
        let packet = try SANWirePacket(notation: String(script.lines[1].argument.dropFirst("port=0 ".count)))
        guard case .packet(let p, nil) = packet else { Issue.record("not a packet"); return }
        #expect(p.tsn == 2)
    }

    @Test func writeThenParseIsTheIdentityOnScripts() throws {
        var rng = SplitMix64(seed: 5)
        for _ in 0..<200 {
            var t: UInt64 = 0
            var s = Script(preface: ["generated"], headers: [.init(key: "case", value: "x\(rng.below(100))")])
            for _ in 0..<Int(rng.below(10)) {
                t += rng.below(5_000_000)
                let p = PacketGen.sample(1, seed: rng.next())[0]
                s.lines.append(.init(time: VirtualTime(nanoseconds: t), direction: rng.below(2) == 0 ? .stimulus : .observation,
                                     verb: "packet", argument: "port=\(rng.below(2)) " + SANWirePacket.packet(p, nil).notation,
                                     comment: rng.below(3) == 0 ? "note \(rng.below(9))" : nil))
            }
            #expect(try Script.parse(s.text) == s)
        }
    }

    @Test(arguments: [
        ("0.1 > packet x\nbad line", 2, 1, "time"),
        ("0.1 ? packet", 1, 5, "'>'"),
        ("0.2 > packet\n0.1 > packet", 2, 1, "earlier"),
        ("@ no-name", 1, 2, "header"),
        ("  0.1 > 9packet", 1, 9, "verb"),
        ("0.1234567891 > time", 1, 1, "time"),
    ])
    func errorsGiveLineAndColumn(text: String, line: Int, column: Int, mention: String) {
        do {
            _ = try Script.parse(text)
            Issue.record("parsed: \(text)")
        } catch {
            #expect(error.line == line && error.column == column && error.message.contains(mention), "\(error)")
        }
    }
}
