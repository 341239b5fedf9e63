import VigilAdapters
import VigilCore
import VigilEvidence
import VigilFailover
import VigilSAN

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The seed corpus of each target, made deterministically from the kit's own scripts (corpus/) and from
/// one value of every frame and packet kind. Written as corpus/libfuzzer/TARGET/seed-NNN; files with other
/// names there (regressions: inputs that once crashed a decoder) are kept.
enum Seeds {
    static func write(_ target: FuzzTarget, to dir: String, corpusRoot: String) -> Int {
        Files.makeDirectory(dir)
        for old in Files.list(dir) where old.split(separator: "/").last?.hasPrefix("seed-") == true { unlink(old) }
        var seen = Set<[UInt8]>()
        var n = 0
        func put(_ bytes: [UInt8]) {
            guard seen.insert(bytes).inserted else { return }
            Files.write(bytes, to: "\(dir)/seed-\(String(repeating: "0", count: max(0, 3 - String(n).count)))\(n)")
            n += 1
        }
        let scripts = loadScripts(corpusRoot)
        switch target {
        case .sanPacket:
            for w in sanNotations(scripts) + handmadeSAN.map({ SANWirePacket.packet($0, nil) }) { put(w.bytes) }
        case .sanNotation:
            for w in sanNotations(scripts) + handmadeSAN.map({ SANWirePacket.packet($0, nil) }) { put(Array(w.notation.utf8)) }
            for text in extraNotations { put(Array(text.utf8)) }
        case .failover:
            for m in statusMessages {
                put(m.encoded())
                for channel in Channel.allCases {
                    let writer: NodeID = m.systemID == NodeID.a.systemID ? .a : .b
                    put(Carriage(channel: channel, writer: writer, message: m).encoded())
                }
            }
        case .adapter:
            let kit = kitFrames.map { Framing.encode($0) }
            let iut = iutFrames.map { Framing.encode($0) }
            for (i, f) in (kit + iut).enumerated() { put([UInt8(i % 16)] + f) }
            put([0x00] + kit.joined())
            put([0x07] + iut.joined())
            put([0x80] + kit.joined())
            put([0x03] + Array(Framing.encode(iutFrames[0]).prefix(7)))  // a frame cut short
        case .script:
            // The .vgl files themselves are seeds too: scripts/libfuzz.sh passes corpus/conformance and
            // corpus/regressions to this target. These add the corners the suites do not use.
            for text in extraScripts { put(Array(text.utf8)) }
        case .pcap:
            for r in sampleRecords { put(r.encoded()) }
            // The conformance cases of failover-node hold no packet lines (the runner writes those), so the
            // failover carriers of a capture are made here: one per channel.
            let carriers = Channel.allCases.enumerated().map { i, channel in
                CaptureRecord(direction: i == 1 ? .toIUT : .fromIUT, proto: .failover, port: channel.rawValue,
                              device: channel == .mailbox ? 0 : channel == .san ? 0xFE : CaptureRecord.none, flags: [.reconstructed],
                              time: VirtualTime(nanoseconds: UInt64(i) * 500_000_000), line: UInt32(i + 1),
                              payload: Carriage(channel: channel, writer: i == 1 ? .b : .a, message: statusMessages[i]).encoded())
            }
            var captures: [[CaptureRecord]] = [sampleRecords, carriers]
            // A few small conformance cases of each role, as the captures `vigil check` leaves beside repros.
            for role in ["san-responder", "san-requestor", "failover-node"] {
                let some = scripts.filter { $0.script[header: "role"] == role }.sorted { $0.size < $1.size }.prefix(3)
                for s in some {
                    // The first records only: a seed this small keeps libFuzzer's input size limit small.
                    let rs = Array(CaptureConversion.records(from: s.script).prefix(6))
                    if !rs.isEmpty { captures.append(rs) }
                }
            }
            let temp = "\(Environment.get("TMPDIR") ?? "/tmp")/vigil-seed-\(Environment.pid).pcap"
            for records in captures {
                guard (try? VigilPcap.write(records, to: temp)) != nil, let bytes = Files.read(temp), bytes.count <= 8192 else { continue }
                put(bytes)
            }
            unlink(temp)
        }
        return n
    }

    struct LoadedScript {
        var path: String
        var size: Int
        var script: Script
    }

    static func loadScripts(_ root: String) -> [LoadedScript] {
        var out: [LoadedScript] = []
        for dir in ["conformance", "regressions"] {
            for path in Files.list("\(root)/\(dir)") where path.hasSuffix(".vgl") {
                guard let bytes = Files.read(path), let s = try? Script.parse(String(decoding: bytes, as: UTF8.self)) else { continue }
                out.append(LoadedScript(path: path, size: bytes.count, script: s))
            }
        }
        return out
    }

    /// Every SAN packet the scripts send or expect, in notation (`port=` dropped).
    static func sanNotations(_ scripts: [LoadedScript]) -> [SANWirePacket] {
        var out: [SANWirePacket] = []
        for s in scripts {
            for line in s.script.lines where line.verb == "packet" {
                let text = line.argument.split(separator: " ").filter { !$0.hasPrefix("port=") }.joined(separator: " ")
                if let w = try? SANWirePacket(notation: text) { out.append(w) }
            }
        }
        return out
    }

    static let handmadeSAN: [SANPacket] = {
        let a = SNID(0xA00)!, b = SNID(0xB00)!
        func p(_ body: PacketBody, tsn: UInt16 = 1, acb: AdaptiveControl = .lane(0), fabric: Bool = false) -> SANPacket {
            SANPacket(destination: b, acb: acb, fabric: fabric, source: a, tsn: tsn, body: body)
        }
        let send = VIControl(operation: .send, ordered: true, first: true, last: true)
        let read = VIControl(operation: .rdmaRead, ordered: false, first: true, last: false)
        var out: [SANPacket] = [
            p(.request(Request(kind: .send(data: [], immediate: nil), ordered: true, sequence: 0, vi: 1))),
            p(.request(Request(kind: .send(data: [1, 2, 3], immediate: 0xDEAD_BEEF), ordered: false, first: false, last: true, sequence: 200, vi: 7)), acb: .adaptive),
            p(.request(Request(kind: .rdmaWrite(address: 0x1000, data: Array(repeating: 0x5A, count: 16)), ordered: true, sequence: 3, vi: 2)), fabric: true),
            p(.request(Request(kind: .rdmaRead(address: 0xFFFF_0000_0000_1000, length: 64), ordered: false, sequence: 4, vi: 2)), acb: .lane(3)),
            p(.request(Request(kind: .send(data: Array(repeating: 0xA5, count: SANPacket.maxPayload), immediate: nil), ordered: true, sequence: 127, vi: 65535))),
            p(.ack(ResponseFields(control: send, sequence: 0, vi: 1), data: [])),
            p(.ack(ResponseFields(control: read, sequence: 4, vi: 2), data: Array(0..<64))),
        ]
        for reason in NackReason.allCases { out.append(p(.nack(ResponseFields(control: send, sequence: 5, vi: 1), reason: reason))) }
        for op in SupervisoryOp.allCases {
            let location = op == .barrierLocation || op == .barrierLocationAck
            out.append(p(.supervisory(Supervisory(op: op, path: PathID(index: Int(op.rawValue) % 4), vi: location ? 9 : 0,
                                                  address: location ? 0x2000 : 0)), tsn: 9))
        }
        return out
    }()

    static let extraNotations = [
        "did=0xB00 sid=0xA00 acb=lane0 f=0 tsn=1 req send ord first last seq=0 vi=1 data=07 crc-xor=0x1",
        "did=0xB00 sid=0xA00 acb=lane1 f=1 tsn=2 req rdma-write seq=1 vi=1 addr=0x10 data=0102 len-force=9 tt-force=7 reserved-bit",
        "did=0xB00 sid=0xA00 acb=adaptive f=0 tsn=3 nack send ord seq=5 vi=1 reason=no-such-vi reason-force=9 truncate=12 trailing=ff00",
        "did=0xB00 sid=0xA00 acb=lane2 f=0 tsn=4 sup barrier-location path=11 vi=3 addr=0x40 supop-force=0 crc=0x0 acb-force=7",
        "did=0xA00 sid=0xB00 acb=lane0 f=0 tsn=5 ack rdma-read immflag seq=2 vi=1 data=00 op-force=3",
        "hex=00b00010a0000001000000",
        "hex=",
    ]

    static let statusMessages: [StatusMessage] = {
        var out: [StatusMessage] = []
        for (i, state) in StateIndicator.allCases.enumerated() {
            let node: NodeID = i % 2 == 0 ? .a : .b
            out.append(StatusMessage(systemID: node.systemID, state: state, flags: i == 1 ? [.recovering] : [],
                                     generation: UInt32(i + 1), sequence: UInt64(i * 7), peerGeneration: UInt32(i), peerSequence: UInt64(i * 3)))
        }
        out.append(StatusMessage(version: 2, systemID: NodeID.b.systemID, state: .normal, generation: .max, sequence: .max,
                                 peerGeneration: .max, peerSequence: .max))
        return out
    }()

    static let kitFrames: [KitFrame] = [
        .hello(version: AdapterProtocol.version, role: .sanResponder, virtualClock: true, udp: false, options: []),
        .hello(version: 1, role: .failoverNode, virtualClock: false, udp: true, options: [AdapterOption(tag: 1, value: [1, 2]), AdapterOption(tag: 9, value: [])]),
        .reset,
        .packet(port: 1, bytes: handmadeSAN[0].encode()),
        .command(.createVI(vi: 1)),
        .command(.enableRDMA(vi: 1, address: 0x1000, length: 4096)),
        .command(.post(vi: 1, descriptor: 7, op: 0, flags: 3, address: 0, length: 3, immediate: 0, data: [1, 2, 3])),
        .command(.readMemory(vi: 1, address: 0x1000, length: 16)),
        .command(.boot), .command(.disable), .command(.enable), .command(.giveback), .command(.stop), .command(.reboot),
        .time(VirtualTime(nanoseconds: 1_500_000_000)),
        .diskResult(tag: 3, status: 0, data: Array(repeating: 0, count: 16)),
        .bye,
    ]

    static let iutFrames: [IUTFrame] = [
        .helloAck(version: 1, roles: 0b111, clocks: 1, name: "refnode", options: [AdapterOption(tag: 2, value: [0])]),
        .ready,
        .packet(port: 0, bytes: handmadeSAN[5].encode()),
        .event(.completion(vi: 1, descriptor: 7, status: 0, data: [9])),
        .event(.deliver(vi: 1, flags: 1, immediate: 0xABCD, data: [1, 2])),
        .event(.memory(vi: 1, address: 0x1000, data: [3, 4])),
        .event(.state(state: 2, step: 58, generation: 3, takeoverEnabled: true)),
        .idle(next: VirtualTime(nanoseconds: 250_000), datagrams: 2),
        .idle(next: nil, datagrams: 0),
        .error("no such VI"),
        .disk(tag: 1, op: 1, device: 2, block: 0, count: 1, data: Array(repeating: 7, count: 8)),
    ]

    static let extraScripts = [
        "# preface\n#\n@case x\n@role san-responder\n@empty\n0.000000 > command create-vi vi=1\n0.5 < event deliver vi=1  # a comment\n1 > time\n",
        "\t# indented comment\r\n@title  spaces  inside \t\n0.000000001 > packet port=0 hex=00   #\n",
        "@k v\n18446744072.999999999 > time\n",
        "0.000000 > x\n0.000000 < y #c#d\n",
    ]

    static let sampleRecords: [CaptureRecord] = [
        CaptureRecord(direction: .toIUT, proto: .san, port: 0, time: VirtualTime(nanoseconds: 10_000), line: 2, payload: handmadeSAN[0].encode()),
        CaptureRecord(direction: .fromIUT, proto: .san, port: 1, flags: [.undecodable], time: VirtualTime(nanoseconds: 20_000), line: 2, payload: [1, 2, 3]),
        CaptureRecord(direction: .fromIUT, proto: .failover, port: 2, device: 0xFE, flags: [.reconstructed], time: VirtualTime(nanoseconds: 1_500_000_000), line: 3,
                      payload: Carriage(channel: .network, writer: .a, message: statusMessages[0]).encoded()),
        CaptureRecord(direction: .toIUT, proto: .note, time: VirtualTime(nanoseconds: 1_500_000_001), line: 4, payload: Array("bad=integrityMismatch len=52".utf8)),
        CaptureRecord(marker: Marker(rule: "SAN-RSP-DUP-ACK", citation: "col. 7", expected: "ack", observed: "nothing"),
                      time: VirtualTime(nanoseconds: 2_000_000_000), line: 5),
    ]
}
