import Foundation
import Testing
import VigilCore
import VigilEvidence
import VigilFailover
import VigilSAN

/// The repository's root, found from this file's path, so that the tests read specs/vigil.lua in place.
private let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

private func temporaryPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-evidence-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

/// A hand-built san-responder transcript in the runner's notation: a request, its ACK, a malformed packet
/// and a duplicate ACKed wrongly, then the divergence.
private let sanTranscript = """
    @case rsp-demo
    @role san-responder
    0.000000 > command create-vi vi=1
    0.000010 > packet port=0 did=0xB00 sid=0xA00 acb=lane0 f=0 tsn=1 req send ord first last seq=0 vi=1 data=005a
    0.000010 < event deliver vi=1 first last data=005a
    0.000010 < packet port=0 did=0xA00 sid=0xB00 acb=lane0 f=0 tsn=1 ack send ord first last seq=0 vi=1
    0.000020 > packet port=1 did=0xB01 sid=0xA00 acb=lane2 f=0 tsn=2 req send ord first last seq=1 vi=1 data=07 crc-xor=0x1
    0.000030 > packet port=0 did=0xB00 sid=0xA00 acb=lane0 f=0 tsn=3 req send ord first last seq=2 vi=1 data=08
    0.000030 < packet port=0 did=0xA00 sid=0xB00 acb=lane0 f=0 tsn=3 nack send ord first last seq=2 vi=1 reason=sequence-error
    """

private let sanDivergence = Divergence(
    rule: "SAN-RSP-SEQ-ERROR-NACK", citation: "US 6,545,981, col. 8", statement: "a demo", step: 7,
    time: .microseconds(30), expected: "an ACK of SEQ 2", observed: "a sequence-error NACK")

/// A race's two transcripts (one per failover-node IUT, in the runner's notation): node A and node B boot,
/// exchange network heartbeats and mailbox messages; some records of both nodes share a virtual time.
private let raceTranscriptA = """
    @case race-demo
    @role failover-node
    0.000000 > command boot
    0.100000 < packet port=2 network from=a NORMAL_g1/s1_saw_g0/s0
    0.100000 < disk tag=1 write dev=0 block=8 count=1 mailbox from=a NORMAL_g1/s1_saw_g0/s0
    0.100000 < event state NORMAL step=0 gen=1 enabled=1
    0.200000 > packet port=2 network from=b NORMAL_g1/s1_saw_g1/s1
    0.300000 < packet port=2 network from=a NORMAL_g1/s2_saw_g1/s1
    """

private let raceTranscriptB = """
    @case race-demo
    @role failover-node
    0.000000 > command boot
    0.100000 < packet port=2 network from=b NORMAL_g1/s1_saw_g0/s0
    0.150000 > disk-result tag=2 status=0 mailbox from=a NORMAL_g1/s1_saw_g0/s0
    0.200000 < packet port=2 network from=b NORMAL_g1/s1_saw_g1/s1
    0.200000 > time
    0.300000 > packet port=2 network from=a NORMAL_g1/s2_saw_g1/s1
    0.300000 < disk tag=3 write dev=2 block=8 count=1 mailbox from=b NORMAL_g1/s2_saw_g1/s2
    """

private let raceDivergence = Divergence(
    rule: "FO-MSG-NEWNESS", citation: "US 6,119,244, col. 5", statement: "a demo", step: 6,
    time: .milliseconds(250), expected: "sequence 2 from node A", observed: "node B still saw sequence 1")

@Suite struct PcapTests {
    @Test func transcriptRoundTripsThroughLibpcap() throws {
        let script = try Script.parse(sanTranscript)
        let records = CaptureConversion.records(from: script, divergence: sanDivergence)
        #expect(records.count == 6)
        #expect(records.last?.direction == .marker)
        #expect(records.last?.marker?.rule == "SAN-RSP-SEQ-ERROR-NACK")
        #expect(records[2].flags.contains(.undecodable))  // the bad CRC
        #expect(records[2].port == 1)
        let path = temporaryPath("roundtrip.pcap")
        try VigilPcap.write(records, to: path)
        let back = try VigilPcap.read(path)
        #expect(back == records)
        // The payload is the very bytes the kit's codec writes for the notation.
        let first = try SANWirePacket(notation: "did=0xB00 sid=0xA00 acb=lane0 f=0 tsn=1 req send ord first last seq=0 vi=1 data=005a")
        #expect(back[0].payload == first.bytes)
        #expect(back[0].time == .microseconds(10))
        #expect(back[0].line == 4)
    }

    @Test func sameInputGivesByteIdenticalFiles() throws {
        let sim = SANScenario.figure8.simulate()
        var records = CaptureConversion.records(from: sim.log, iut: .responder)
        #expect(records.count > 6)
        CaptureConversion.insertMarker(
            for: Divergence(rule: "SAN-RSP-NACK-SEQ", citation: "", statement: "", step: 0, time: sim.log[3].time,
                            expected: "x", observed: "y"), into: &records)
        let a = temporaryPath("same-a.pcap"), b = temporaryPath("same-b.pcap")
        try VigilPcap.write(records, to: a)
        try VigilPcap.write(CaptureConversion.records(from: sim.log, iut: .responder).withMarker(at: sim.log[3].time), to: b)
        let da = try Data(contentsOf: URL(fileURLWithPath: a)), db = try Data(contentsOf: URL(fileURLWithPath: b))
        #expect(da == db)
        // The pcap record timestamps are the virtual time, at nanosecond precision (magic a1b23c4d).
        #expect(Array(da.prefix(4)) == [0x4D, 0x3C, 0xB2, 0xA1] || Array(da.prefix(4)) == [0xA1, 0xB2, 0x3C, 0x4D])
        #expect(try VigilPcap.read(a) == records)
    }

    @Test func failoverTranscriptIsRebuiltIntoCarriers() throws {
        let text = """
            @case fo-demo
            @role failover-node
            0.000000 > command boot
            0.100000 > packet port=2 network from=b NORMAL_g1/s3_saw_g0/s0
            0.100000 < packet port=2 network from=a TAKEOVER_g2/s5_saw_g1/s3_RECOVERING
            0.150000 < disk tag=4 write dev=0 block=8 count=1 mailbox from=a NORMAL_g2/s6_saw_g1/s3
            0.160000 > disk-result tag=5 status=0 san from=b NORMAL_g1/s4_saw_g2/s5
            0.170000 > packet port=2 network bad=integrityMismatch len=52
            """
        let records = CaptureConversion.records(from: try Script.parse(text))
        #expect(records.map(\.proto) == [.failover, .failover, .failover, .failover, .note])
        let out = try Carriage(decoding: records[1].payload, channel: .network)
        #expect(out.writer == .a && out.message.state == .takeover && out.message.generation == 2 && out.message.sequence == 5)
        #expect(out.message.flags.contains(.recovering))
        #expect(records[2].port == Channel.mailbox.rawValue && records[2].device == 0 && records[2].payload.count == 512)
        #expect(records[3].direction == .toIUT && records[3].port == Channel.san.rawValue && records[3].payload.count == 64)
        let path = temporaryPath("failover.pcap")
        try VigilPcap.write(records, to: path)
        #expect(try VigilPcap.read(path) == records)
        let lines = try VigilPcap.describe(path).map(\.text)
        #expect(lines[1].contains("state=TAKEOVER gen=2 seq=5"))
    }

    // MARK: Malformed captures

    @Test func foreignOrMalformedCapturesGiveErrorsWithPositions() throws {
        let good = temporaryPath("good.pcap")
        try VigilPcap.write(CaptureConversion.records(from: try Script.parse(sanTranscript), divergence: sanDivergence), to: good)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: good)))

        func error(_ mutate: (inout [UInt8]) -> Void) throws -> CaptureError? {
            var b = bytes
            mutate(&b)
            let p = temporaryPath("bad.pcap")
            try Data(b).write(to: URL(fileURLWithPath: p))
            do {
                _ = try VigilPcap.read(p)
                return nil
            } catch { return error }
        }
        // Not a capture at all.
        let garbage = try error { $0 = Array("hello, not a pcap at all".utf8) }
        #expect(garbage?.record == 0)
        #expect(garbage?.message.contains("not a capture") == true)
        // Another link type (Ethernet): the file header's link type field at byte 20.
        let foreign = try error { b in b[20] = 1; b[21] = 0; b[22] = 0; b[23] = 0 }
        #expect(foreign?.offset == 20)
        #expect(foreign?.message.contains("link type 1") == true)
        // The second record's pseudo-header magic (file header 24 + record 1 + record header 16).
        let first = 16 + 24 + (try SANWirePacket(notation: "did=0xB00 sid=0xA00 acb=lane0 f=0 tsn=1 req send ord first last seq=0 vi=1 data=005a")).bytes.count
        let second = 24 + first
        let magic = try error { $0[second + 16] = 0x00 }
        #expect(magic?.record == 2)
        #expect(magic?.offset == second + 16)
        // A direction code that does not exist.
        let direction = try error { $0[second + 16 + 3] = 9 }
        #expect(direction?.record == 2 && direction?.offset == second + 16 + 3)
        // The file cut inside the last record.
        let cut = try error { $0.removeLast(5) }
        #expect(cut?.record == 6)
        #expect(cut?.message.contains("cut short") == true)
        // A marker string whose length runs past the record: the last record's first length field.
        let markerAt = bytes.count - (CaptureRecord(marker: Marker(sanDivergence), time: .zero, line: 0).encoded().count)
        let marker = try error { $0[markerAt + 24] = 0xFF }
        #expect(marker?.record == 6 && marker?.offset == markerAt + 24)
        #expect(marker?.description.contains("record 6, byte \(markerAt + 24)") == true)
    }

    // MARK: Races (two failover-node IUTs, one capture)

    @Test func raceMergesBothNodesInVirtualTimeOrderWithOneMarker() throws {
        let a = try Script.parse(raceTranscriptA), b = try Script.parse(raceTranscriptB)
        let records = CaptureConversion.records(race: [a, b], divergence: raceDivergence)
        let ms: (UInt64) -> VirtualTime = { .milliseconds($0) }
        // (node B?, direction, time, script line): A first at equal times, each node in transcript order, the
        // marker after the last record at or before 0.25 s.
        let expected: [(Bool, CaptureRecord.Direction, VirtualTime, UInt32)] = [
            (false, .fromIUT, ms(100), 4), (false, .fromIUT, ms(100), 5), (true, .fromIUT, ms(100), 4),
            (true, .toIUT, ms(150), 5), (false, .toIUT, ms(200), 7), (true, .fromIUT, ms(200), 6),
            (false, .marker, ms(250), 6), (false, .fromIUT, ms(300), 8), (true, .toIUT, ms(300), 8),
            (true, .fromIUT, ms(300), 9),
        ]
        #expect(records.count == expected.count)
        for (r, e) in zip(records, expected) {
            #expect(r.flags.contains(.nodeB) == e.0 && r.direction == e.1 && r.time == e.2 && r.line == e.3,
                    "\(r.direction) \(r.time) line \(r.line) flags \(r.flags.rawValue), expected \(e)")
        }
        #expect(records.filter { $0.direction == .marker }.count == 1)
        #expect(records[6].marker?.rule == "FO-MSG-NEWNESS")
        // Each side is exactly what records(from:) makes of its transcript; only B's gain the flag.
        let sideA = records.filter { $0.direction != .marker && !$0.flags.contains(.nodeB) }
        let sideB = records.filter { $0.flags.contains(.nodeB) }
        #expect(sideA == CaptureConversion.records(from: a))
        #expect(sideB.map { r in var r = r; r.flags.remove(.nodeB); return r } == CaptureConversion.records(from: b))
        #expect(sideB.allSatisfy { $0.flags == [.reconstructed, .nodeB] })
        // Node B's writes keep their device; B's first heartbeat is written by B.
        #expect(records[9].device == 2 && records[9].port == Channel.mailbox.rawValue && records[9].payload.count == 512)
        #expect(try Carriage(decoding: records[2].payload, channel: .network).writer == .b)
        // No divergence, no marker; a single-IUT conversion never sets the flag.
        #expect(CaptureConversion.records(race: [a, b], divergence: nil).count == expected.count - 1)
        #expect(!CaptureConversion.records(from: b, divergence: raceDivergence).contains { $0.flags.contains(.nodeB) })
    }

    @Test func raceCaptureRoundTripsByteIdentical() throws {
        let race = [try Script.parse(raceTranscriptA), try Script.parse(raceTranscriptB)]
        let records = CaptureConversion.records(race: race, divergence: raceDivergence)
        let p1 = temporaryPath("race-1.pcap"), p2 = temporaryPath("race-2.pcap"), p3 = temporaryPath("race-3.pcap")
        try VigilPcap.write(records, to: p1)
        try VigilPcap.write(CaptureConversion.records(race: race, divergence: raceDivergence), to: p2)
        let back = try VigilPcap.read(p1)
        #expect(back == records)
        try VigilPcap.write(back, to: p3)
        let d1 = try Data(contentsOf: URL(fileURLWithPath: p1))
        #expect(d1 == (try Data(contentsOf: URL(fileURLWithPath: p2))))
        #expect(d1 == (try Data(contentsOf: URL(fileURLWithPath: p3))))
        #expect(try VigilPcap.read(bytes: [UInt8](d1)) == records)

        // `vigil pcap`: a race's records name their node; the marker names none.
        let lines = try VigilPcap.describe(p1)
        #expect(lines.allSatisfy { $0.race })
        #expect(lines[2].text.hasPrefix("#3 \(records[2].time) B <  failover channel=network"), "\(lines[2].text)")
        #expect(lines[0].text.hasPrefix("#1 \(records[0].time) A <  failover"), "\(lines[0].text)")
        #expect(lines[6].text.hasPrefix("#7 \(records[6].time) !! marker"), "\(lines[6].text)")
        #expect(lines[2].json.contains("\"time_ns\": 100000000, \"node\": \"B\", \"direction\": \"from-IUT\""), "\(lines[2].json)")
        #expect(lines[6].json.contains("\"node\": null"))
        // Node A alone (the flag nowhere) prints as every single-IUT capture always has: no node, no key.
        let single = temporaryPath("race-single.pcap")
        try VigilPcap.write(CaptureConversion.records(race: [race[0]], divergence: nil), to: single)
        let plain = try VigilPcap.describe(single)
        #expect(plain.allSatisfy { !$0.race && !$0.json.contains("\"node\"") })
        #expect(plain.map(\.text) == CaptureConversion.records(from: race[0]).enumerated().map {
            RecordDescription(number: $0.offset + 1, record: $0.element).text
        })
        #expect(plain[0].text.hasPrefix("#1 \(records[0].time) <  failover"), "\(plain[0].text)")
    }

    @Test func readerAcceptsNodeBAndRejectsTheReservedFlags() throws {
        var record = CaptureRecord(direction: .fromIUT, proto: .note, flags: [.nodeB], time: .milliseconds(1), payload: Array("empty".utf8))
        #expect(try CaptureRecord(decoding: record.encoded()) == record)
        for bit in 3..<8 {
            var bytes = record.encoded()
            bytes[7] |= UInt8(1) << UInt8(bit)
            #expect(throws: RecordError.self) { try CaptureRecord(decoding: bytes) }
            do {
                _ = try CaptureRecord(decoding: bytes)
            } catch {
                #expect(error.offset == 7 && error.message.contains("0x\(String(1 << bit, radix: 16))"), "\(error)")
            }
        }
        // Through the file reader: the record number and the flags byte's offset in the file.
        record.flags = [.nodeB, .reconstructed]
        let path = temporaryPath("race-flags.pcap")
        try VigilPcap.write([record], to: path)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(try VigilPcap.read(path) == [record])
        bytes[24 + 16 + 7] |= 0x08
        do {
            _ = try VigilPcap.read(bytes: bytes)
            Issue.record("a reserved flag bit was accepted")
        } catch {
            #expect(error.record == 1 && error.offset == 24 + 16 + 7 && error.message.contains("reserved flag"), "\(error)")
        }
    }

    // MARK: tshark with the shipped dissector

    @Test func tsharkDecodesFieldsAndFlagsTheMarker() throws {
        guard let tshark = ["/usr/bin/tshark", "/usr/local/bin/tshark"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            // .ci/run installs tshark (scripts/bootstrap.sh), so in CI this test runs; elsewhere say why not.
            print("SKIPPED tsharkDecodesFieldsAndFlagsTheMarker: tshark is not installed (apt-get install tshark)")
            return
        }
        let path = temporaryPath("tshark.pcap")
        let script = try Script.parse(sanTranscript)
        try VigilPcap.write(CaptureConversion.records(from: script, divergence: sanDivergence), to: path)
        let lua = repoRoot.appendingPathComponent("specs/vigil.lua").path

        let fields = try run(tshark, ["-X", "lua_script:\(lua)", "-r", path, "-T", "fields", "-E", "separator=|",
                                      "-e", "vigil.dir", "-e", "vigil.san.seq", "-e", "vigil.san.tsn", "-e", "vigil.san.nack_reason",
                                      "-e", "vigil.marker.rule"])
        let rows = fields.split(separator: "\n").map(String.init)
        #expect(rows == [
            "0|0|1||", "1|0|1||", "0|1|2||", "0|2|3||", "1|2|3|1|", "2||||SAN-RSP-SEQ-ERROR-NACK",
        ], "tshark -T fields output:\n\(fields)")

        let verbose = try run(tshark, ["-X", "lua_script:\(lua)", "-r", path, "-V"])
        #expect(verbose.contains("Expert Info (Error/Protocol): Divergence: SAN-RSP-SEQ-ERROR-NACK"), "\(verbose)")
        #expect(verbose.contains("DID (destination SNID): 0x00b00"))
        #expect(verbose.contains("CRC good: False"))  // the crc-xor packet

        let failover = temporaryPath("tshark-fo.pcap")
        let fo = try Script.parse("""
            @role failover-node
            0.100000 < packet port=2 network from=a TAKEOVER_g2/s5_saw_g1/s3_RECOVERING
            """)
        try VigilPcap.write(CaptureConversion.records(from: fo), to: failover)
        let foFields = try run(tshark, ["-X", "lua_script:\(lua)", "-r", failover, "-T", "fields", "-E", "separator=|",
                                        "-e", "vigil.fo.state", "-e", "vigil.fo.generation", "-e", "vigil.fo.sequence",
                                        "-e", "vigil.fo.flags.recovering", "-e", "vigil.fo.crc_good"])
        #expect(foFields.trimmingCharacters(in: .whitespacesAndNewlines) == "2|2|5|1|1", "\(foFields)")
    }
    @Test func tsharkShowsNodeBAndTheMarkerOfARace() throws {
        guard let tshark = ["/usr/bin/tshark", "/usr/local/bin/tshark"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            // .ci/run installs tshark (scripts/bootstrap.sh), so in CI this test runs; elsewhere say why not.
            print("SKIPPED tsharkShowsNodeBAndTheMarkerOfARace: tshark is not installed (apt-get install tshark)")
            return
        }
        let path = temporaryPath("tshark-race.pcap")
        let race = [try Script.parse(raceTranscriptA), try Script.parse(raceTranscriptB)]
        try VigilPcap.write(CaptureConversion.records(race: race, divergence: raceDivergence), to: path)
        let lua = repoRoot.appendingPathComponent("specs/vigil.lua").path

        let fields = try run(tshark, ["-X", "lua_script:\(lua)", "-r", path, "-T", "fields", "-E", "separator=|",
                                      "-e", "vigil.flags.node_b", "-e", "vigil.dir", "-e", "vigil.fo.writer",
                                      "-e", "vigil.flags.reserved", "-e", "vigil.marker.rule"])
        // Boolean fields print 1/0 (tshark 4.0) or True/False (later versions).
        let rows = fields.split(separator: "\n").map {
            $0.replacingOccurrences(of: "True", with: "1").replacingOccurrences(of: "False", with: "0")
        }
        #expect(rows == [
            "0|1|0|0x00|", "0|1|0|0x00|", "1|1|1|0x00|", "1|0|0|0x00|", "0|0|1|0x00|", "1|1|1|0x00|",
            "0|2||0x00|FO-MSG-NEWNESS", "0|1|0|0x00|", "1|0|0|0x00|", "1|1|1|0x00|",
        ], "tshark -T fields output:\n\(fields)")

        // Only node B's records match the filter, and their Info column says so.
        let onlyB = try run(tshark, ["-X", "lua_script:\(lua)", "-r", path, "-Y", "vigil.flags.node_b == 1"])
        let bLines = onlyB.split(separator: "\n")
        #expect(bLines.count == 5 && bLines.allSatisfy { $0.contains("[node B] ") && $0.contains("node B") }, "\(onlyB)")

        let verbose = try run(tshark, ["-X", "lua_script:\(lua)", "-r", path, "-V"])
        #expect(verbose.contains("Node B (a race: node B's record, direction relative to node B): True"), "\(verbose)")
        #expect(verbose.contains("Node B (a race: node B's record, direction relative to node B): False"))
        #expect(verbose.contains("Expert Info (Error/Protocol): Divergence: FO-MSG-NEWNESS"))
        // The marker's summary line names no node.
        let summary = try run(tshark, ["-X", "lua_script:\(lua)", "-r", path, "-Y", "vigil.marker"])
        #expect(summary.contains("!! DIVERGENCE FO-MSG-NEWNESS") && !summary.contains("[node B]"), "\(summary)")
    }
}

extension [CaptureRecord] {
    fileprivate func withMarker(at time: VirtualTime) -> [CaptureRecord] {
        var r = self
        CaptureConversion.insertMarker(
            for: Divergence(rule: "SAN-RSP-NACK-SEQ", citation: "", statement: "", step: 0, time: time, expected: "x", observed: "y"),
            into: &r)
        return r
    }
}

/// Runs a program, returns its standard output; fails the test with its standard error when it fails.
private func run(_ program: String, _ arguments: [String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: program)
    p.arguments = arguments
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let stderr = String(decoding: errData, as: UTF8.self)
    #expect(p.terminationStatus == 0, "\(program) failed: \(stderr)")
    #expect(!stderr.contains("Lua: Error"), "the dissector raised an error: \(stderr)")
    return String(decoding: data, as: UTF8.self)
}
