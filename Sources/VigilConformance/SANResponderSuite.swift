import VigilCore
import VigilSAN

/// The san-responder conformance cases: at least one for every responder rule of the catalog, negative
/// cases included. Built here (loops are easier in code) and stored as scripts under
/// corpus/conformance/san-responder/; `vigil corpus --write` regenerates the files and a test keeps them
/// in step.
public enum SANResponderSuite {
    static let kit = SANNodeConfig.requestorA

    /// A script under construction: time advances 10 µs per stimulus.
    struct Builder {
        var script: Script
        var t: UInt64 = 0
        var tsn: UInt16 = 0

        init(_ id: String, _ title: String, rules: [SANRule]) {
            script = Script(headers: [.init(key: "case", value: id), .init(key: "role", value: "san-responder"),
                                      .init(key: "title", value: title), .init(key: "rules", value: rules.map(\.rawValue).joined(separator: " "))])
        }

        mutating func line(_ verb: String, _ argument: String, _ comment: String? = nil) {
            script.lines.append(Script.Line(time: VirtualTime(nanoseconds: t), direction: .stimulus, verb: verb, argument: argument, comment: comment))
            t += 10_000
        }

        mutating func createVI(_ vi: UInt16 = 1) { line("command", "create-vi vi=\(vi)") }
        mutating func enableRDMA(_ vi: UInt16 = 1, address: UInt64 = 0x1000, length: Int = 4096) {
            line("command", "enable-rdma vi=\(vi) addr=0x\(String(address, radix: 16)) len=\(length)")
        }
        mutating func readMemory(_ vi: UInt16 = 1, address: UInt64 = 0x1000, length: Int) {
            line("command", "read-memory vi=\(vi) addr=0x\(String(address, radix: 16)) len=\(length)")
        }

        /// A packet from the kit's requestor port `from` to the responder's port `to`.
        mutating func packet(_ body: PacketBody, from: UInt8 = 0, to: UInt8 = 0, acb: AdaptiveControl = .lane(0),
                             malformation: SANPacket.Malformation? = nil, edit: (inout SANPacket) -> Void = { _ in }, _ comment: String? = nil) {
            tsn &+= 1
            var p = kit.packet(fromPort: from, toPeerPort: to, acb: acb, tsn: tsn, body: body)
            edit(&p)
            line("packet", "port=\(to) " + SANWirePacket.packet(p, malformation).notation, comment)
        }

        mutating func send(_ seq: UInt8, vi: UInt16 = 1, data: [UInt8]? = nil, ordered: Bool = true, from: UInt8 = 0, to: UInt8 = 0,
                           malformation: SANPacket.Malformation? = nil, edit: (inout SANPacket) -> Void = { _ in }, _ comment: String? = nil) {
            packet(.request(Request(kind: .send(data: data ?? [seq, 0x5A], immediate: nil), ordered: ordered, sequence: seq, vi: vi)),
                   from: from, to: to, malformation: malformation, edit: edit, comment)
        }

        mutating func write(_ seq: UInt8, address: UInt64 = 0x1000, data: [UInt8], ordered: Bool = true, _ comment: String? = nil) {
            packet(.request(Request(kind: .rdmaWrite(address: address, data: data), ordered: ordered, sequence: seq, vi: 1)), comment)
        }

        mutating func read(_ seq: UInt8, address: UInt64 = 0x1000, length: UInt16, ordered: Bool = true, vi: UInt16 = 1, from: UInt8 = 0,
                           to: UInt8 = 0, acb: AdaptiveControl = .lane(0), _ comment: String? = nil) {
            packet(.request(Request(kind: .rdmaRead(address: address, length: length), ordered: ordered, sequence: seq, vi: vi)),
                   from: from, to: to, acb: acb, comment)
        }

        mutating func supervisory(_ op: SupervisoryOp, path: PathID = PathID(index: 0), vi: UInt16 = 0, address: UInt64 = 0, from: UInt8 = 0,
                                  to: UInt8 = 0, _ comment: String? = nil) {
            packet(.supervisory(Supervisory(op: op, path: path, vi: vi, address: address)), from: from, to: to, comment)
        }
    }

    public static var cases: [Script] {
        var out: [Script] = []

        var b = Builder("rsp-ordered-sends", "Ordered Sends are ACKed, delivered in order, and each moves the expected number on",
                        rules: [.seqInit, .rspSeqExpected, .rspSeqOrderedIncrement, .rspResponseCopySeq, .rspResponseFields, .rspStrictOrder])
        b.createVI()
        for s in UInt8(0)..<4 { b.send(s) }
        out.append(b.script)

        b = Builder("rsp-unordered-hold", "An unordered packet with the expected number is taken; the number does not move",
                    rules: [.rspSeqUnorderedHold, .rspSeqExpected])
        b.createVI(); b.enableRDMA()
        b.send(0)
        b.write(1, data: [1, 2, 3, 4], ordered: false, "unordered, SEQ 1: expected, no increment")
        b.write(1, address: 0x1004, data: [5, 6], ordered: false)
        b.send(1, "still expects 1")
        b.readMemory(length: 6)
        out.append(b.script)

        b = Builder("rsp-ahead-nack", "A packet ahead of the expected one is NACKed (or ignored) and thrown away",
                    rules: [.rspSeqAheadDiscard, .rspSeqAheadNack, .rspSeqPartition])
        b.createVI()
        b.send(0)
        b.send(2, "SEQ 1 was lost: 2 is ahead")
        b.send(3)
        b.send(1, "the resent 1 is expected")
        b.send(2)
        out.append(b.script)

        b = Builder("rsp-duplicate-ack", "A duplicate is ACKed and not stored again", rules: [.rspDuplicateAck, .rspSeqPartition])
        b.createVI()
        for s in UInt8(0)..<3 { b.send(s) }
        b.send(1, "the ACK for 1 was lost: resent")
        b.send(2)
        b.send(3)
        out.append(b.script)

        b = Builder("rsp-duplicate-read", "A duplicate RDMA read is executed again and returns the data read now", rules: [.rspDuplicateRead])
        b.createVI(); b.enableRDMA()
        b.write(0, data: [1, 1, 1, 1])
        b.read(1, length: 4)
        b.write(2, data: [2, 2, 2, 2], ordered: false, "memory changes")
        b.read(1, length: 4, "the read is resent: executed again")
        out.append(b.script)

        b = Builder("rsp-window-edges", "Distances 127, 128 and 129 from the expected number: ahead, duplicate, duplicate",
                    rules: [.rspSeqPartition, .rspSeqAheadDiscard, .rspDuplicateAck])
        b.createVI()
        b.send(127, "127 ahead of 0")
        b.send(128, "128 behind 0: a duplicate")
        b.send(129, "127 behind 0: a duplicate")
        b.send(0)
        out.append(b.script)

        b = Builder("rsp-sequence-wrap", "The expected number wraps from 255 to 0", rules: [.rspSeqPartition, .rspSeqOrderedIncrement])
        b.createVI()
        for s in 0...255 { b.send(UInt8(s), data: [UInt8(s)]) }
        b.send(0, data: [0xAA], "after the wrap: expected")
        b.send(255, data: [0xBB], "behind: a duplicate")
        b.send(2, data: [0xCC], "ahead")
        out.append(b.script)

        b = Builder("rsp-invalid-crc", "A packet with a bad CRC is discarded without a response", rules: [.rspValidCRC, .wireCRC])
        b.createVI()
        b.send(0, malformation: .init(crcXor: 0x10), "bad CRC, SEQ matches: still discarded")
        b.send(0)
        out.append(b.script)

        b = Builder("rsp-invalid-did", "A packet for another port is discarded without a response", rules: [.rspValidDID])
        b.createVI()
        b.send(0, edit: { $0.destination = SNID(0x123)! }, "DID is not this port's")
        b.send(0, to: 1, edit: { $0.destination = SANNodeConfig.responderB.ports[0] }, "port 0's DID arriving on port 1")
        b.send(0)
        out.append(b.script)

        b = Builder("rsp-invalid-fabric", "A packet whose fabric bit is not the port's is discarded", rules: [.rspValidFabric])
        b.createVI()
        b.send(0, edit: { $0.fabric = true })
        b.send(0)
        out.append(b.script)

        b = Builder("rsp-invalid-length", "A packet whose length disagrees with its size, or is above 512, is discarded",
                    rules: [.rspValidLength, .wirePayloadLimit, .wireLayout])
        b.createVI()
        b.send(0, malformation: .init(length: 5))
        b.send(0, malformation: .init(length: 513))
        b.send(0, malformation: .init(truncateTo: 12))
        b.send(0, malformation: .init(trailing: [0]))
        b.send(0)
        out.append(b.script)

        b = Builder("rsp-invalid-request-code", "Packets that do not encode a valid request are discarded",
                    rules: [.rspValidRequestCode, .wireReserved, .wireLayout])
        b.createVI()
        b.send(0, malformation: .init(transactionTypeCode: 9))
        b.send(0, malformation: .init(setReservedBit: true))
        b.send(0, malformation: .init(operationCode: 3))
        b.send(0, malformation: .init(acbCode: 6))
        b.packet(.ack(ResponseFields(control: VIControl(operation: .send, ordered: true, first: true, last: true), sequence: 0, vi: 1), data: []),
                 "an ACK is not a request")
        b.send(0)
        out.append(b.script)

        b = Builder("rsp-rdma-access", "RDMA outside the enabled range is NACKed with access-violation and changes nothing",
                    rules: [.rspRDMAAccess])
        b.createVI(); b.enableRDMA(length: 16)
        b.write(0, address: 0x1000 + 14, data: [1, 2, 3], "crosses the end")
        b.read(0, address: 0x2000, length: 4, "not enabled at all")
        b.write(0, data: [9])
        b.readMemory(length: 16)
        out.append(b.script)

        b = Builder("rsp-no-vi", "A request for a VI that does not exist is NACKed (no-such-vi)", rules: [.rspNoSuchVI])
        b.createVI()
        b.send(0, vi: 9)
        b.send(0)
        out.append(b.script)

        b = Builder("rsp-reqinpath", "Requests from strangers and over a path marked bad are ignored, on every VI; path-good restores it",
                    rules: [.rspReqInPath, .rspPathBad, .rspPathGood, .pathFour])
        b.createVI()
        b.createVI(2)
        b.send(0, edit: { $0.source = SNID(0x777)! }, "not a port of the peer node")
        b.send(0)
        b.supervisory(.pathBad, path: PathID(requestorPort: 1, responderPort: 0), "over path 00, about path 10")
        b.send(1, from: 1, to: 0, "over the bad path: ignored")
        b.send(0, vi: 2, from: 1, to: 0, "VI 2 over the bad path: ignored too")
        b.send(1, from: 0, to: 1, "over path 01: taken")
        b.supervisory(.pathGood, path: PathID(requestorPort: 1, responderPort: 0), from: 0, to: 1)
        b.send(2, from: 1, to: 0, "path 10 is good again")
        b.send(0, vi: 2, from: 1, to: 0, "for VI 2 as well")
        out.append(b.script)

        b = Builder("rsp-barrier-location", "The barrier location is agreed; barriers on it work even over a bad path",
                    rules: [.rspBarrierLocation, .rspPathBad])
        b.createVI()
        b.supervisory(.barrierLocation, vi: 0xFFFF, address: 0xB000_0000)
        b.supervisory(.pathBad, path: PathID(index: 3), from: 0, to: 0)
        b.packet(.request(Request(kind: .rdmaWrite(address: 0xB000_0000, data: [0, 0, 0, 0, 0, 0, 0, 7]), ordered: false, sequence: 0, vi: 0xFFFF)),
                 from: 1, to: 1, "barrier write over the bad path 11")
        b.read(0, address: 0xB000_0000, length: 8, ordered: false, vi: 0xFFFF, from: 1, to: 1, "barrier read")
        b.send(0, from: 1, to: 1, "data over the bad path: ignored")
        out.append(b.script)

        return out
    }

    /// The file name of a case under corpus/conformance/san-responder/.
    public static func fileName(_ script: Script) -> String { (script[header: "case"] ?? "case") + ".vgl" }
}
