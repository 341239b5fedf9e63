import VigilAdapters
import VigilCore
import VigilSAN

/// The san-responder role: the kit plays the requestor node and the fabric; the SANResponder model says
/// what the IUT must answer to each packet and command.
public struct SANResponderOracle: StepwiseOracle {
    public let role = Role.sanResponder
    public private(set) var model: SANResponder

    public init(config: SANNodeConfig = .responderB) {
        model = SANResponder(config: config)
    }

    public var helloOptions: [AdapterOption] { [sanNodeOption(model.config)] }

    public func frame(for line: Script.Line) throws(CaseError) -> KitFrame {
        let n = line.lineNumber
        switch line.verb {
        case "packet":
            let (port, notation) = try splitPort(line.argument, line: n)
            do {
                return .packet(port: port, bytes: try SANWirePacket(notation: String(notation)).bytes)
            } catch {
                throw CaseError(line: n, "packet: \(error)")
            }
        case "command":
            let args = Arguments(Substring(line.argument))
            switch args.words.first {
            case "create-vi": return .command(.createVI(vi: try args.number("vi", line: n)))
            case "enable-rdma":
                return .command(.enableRDMA(vi: try args.number("vi", line: n), address: try args.number("addr", line: n),
                                            length: try args.number("len", line: n)))
            case "read-memory":
                return .command(.readMemory(vi: try args.number("vi", line: n), address: try args.number("addr", line: n),
                                            length: try args.number("len", line: n)))
            default:
                throw CaseError(line: n, "the san-responder commands are create-vi, enable-rdma and read-memory")
            }
        case "time":
            return .time(line.time)
        default:
            throw CaseError(line: n, "unknown verb '\(line.verb)' for san-responder (packet, command, time)")
        }
    }

    public mutating func check(_ line: Script.Line, frame: KitFrame, reaction: Reaction) -> Divergence? {
        var expectedPackets: [(packet: SANPacket, port: UInt8, optional: Bool)] = []
        var expectedDeliveries: [AdapterEvent] = []
        var expectedMemory: [AdapterEvent] = []
        var decisive = SANRule.rspSeqExpected
        switch frame {
        case .packet(let port, let bytes):
            let request: Request? = if let p = try? SANPacket.decode(bytes), case .request(let r) = p.body { r } else { nil }
            let before = request.flatMap { model.vis[$0.vi] }
            let step = model.step(.packet(bytes, port: port))
            noteCoverage(request, before: before, step: step)
            decisive = step.rules.first ?? .rspSeqExpected
            for output in step.outputs {
                switch output {
                case .send(let p, let port, let optional): expectedPackets.append((p, port, optional))
                case .deliver(let vi, let data, let first, let last, let imm):
                    expectedDeliveries.append(.deliver(vi: vi, flags: (first ? 1 : 0) | (last ? 2 : 0) | (imm != nil ? 4 : 0),
                                                       immediate: imm ?? 0, data: data))
                default: break
                }
            }
        case .command(.createVI(let vi)):
            decisive = .seqInit
            _ = model.step(.createVI(vi))
        case .command(.enableRDMA(let vi, let address, let length)):
            decisive = .rspRDMAAccess
            _ = model.step(.enableRDMA(vi: vi, address: address, length: Int(length)))
        case .command(.readMemory(let vi, let address, let length)):
            decisive = .rspSeqExpected
            let data = model.memory(vi: vi, address: address, count: Int(length)) ?? []
            expectedMemory.append(.memory(vi: vi, address: address, data: data))
        default:
            break
        }
        let rule = decisive
        func diverge(_ r: SANRule, _ expected: String, _ observed: String) -> Divergence {
            Divergence(rule: r.rule, step: line.lineNumber, time: line.time, expected: expected, observed: observed)
        }
        func describe(_ e: [(packet: SANPacket, port: UInt8, optional: Bool)]) -> String {
            e.isEmpty ? "no packet (discard without a response)"
                : e.map { "port=\($0.port) \(SANWirePacket.packet($0.packet, nil).notation)\($0.optional ? " (or nothing)" : "")" }.joined(separator: "; ")
        }

        var pending = expectedPackets[...]
        var deliveries = expectedDeliveries[...]
        var memory = expectedMemory[...]
        for f in reaction.frames {
            switch f {
            case .packet(let port, let bytes):
                var rest = pending
                while let e = rest.first, e.optional, !(e.port == port && e.packet.encode() == bytes) { rest = rest.dropFirst() }
                if let e = rest.first, e.port == port, e.packet.encode() == bytes {
                    pending = rest.dropFirst()
                    continue
                }
                let observed = "port=\(port) " + SANWirePacket(bytes: bytes).notation
                // Diagnose against the answer that was due, optional or not: a NACK with the wrong sequence
                // number is a wrong NACK, not an extra packet.
                let due = pending
                guard let e = due.first, let o = try? SANPacket.decode(bytes) else {
                    return diverge(rule, describe(Array(due)), observed)
                }
                return diverge(Self.diagnose(expected: e.packet, observed: o, decisive: rule), describe(Array(due)), observed)
            case .event(let event):
                switch event {
                case .deliver:
                    guard deliveries.first == event else {
                        return diverge(rule, deliveries.first.map(describeEvent) ?? "no delivery to the receive queue", describeEvent(event))
                    }
                    deliveries = deliveries.dropFirst()
                case .memory:
                    guard memory.first == event else {
                        return diverge(rule, memory.first.map(describeEvent) ?? "no MEMORY event", describeEvent(event))
                    }
                    memory = memory.dropFirst()
                default:
                    return diverge(rule, "no \(describeEvent(event))", describeEvent(event))
                }
            case .disk, .helloAck, .ready, .idle, .error:
                return diverge(rule, "packets and events of the san-responder role", f.name)
            }
        }
        if let missing = pending.first(where: { !$0.optional }) {
            return diverge(rule, describe([missing]), "nothing")
        }
        if let d = deliveries.first { return diverge(rule, describeEvent(d), "no delivery") }
        if let m = memory.first { return diverge(rule, describeEvent(m), "no MEMORY event") }
        return nil
    }

    /// Names the rule a wrong response breaks: the copied sequence number, the copied header fields, or
    /// else the rule that decided what the answer had to be.
    static func diagnose(expected e: SANPacket, observed o: SANPacket, decisive: SANRule) -> SANRule {
        switch (e.body, o.body) {
        case (.ack(let ef, let ed), .ack(let of, let od)) where ed == od:
            if ef.sequence != of.sequence, ef.control == of.control, ef.vi == of.vi { return .rspResponseCopySeq }
            return .rspResponseFields
        case (.nack(let ef, let er), .nack(let of, let or)) where er == or:
            if ef.sequence != of.sequence, ef.control == of.control, ef.vi == of.vi { return .rspResponseCopySeq }
            return .rspResponseFields
        case (.supervisory, .supervisory), (.ack, .ack), (.nack, .nack):
            return e.body == o.body ? .rspResponseFields : decisive
        default:
            return decisive
        }
    }

    public private(set) var coverage: Set<String> = []

    /// The rules the step applied, where the request's sequence number fell relative to the expected one
    /// (at it, just ahead, at the window's edges, duplicate), and the wrap of the expected number.
    mutating func noteCoverage(_ request: Request?, before vi: SANResponder.VI?, step: SANStep) {
        for r in step.rules { coverage.insert(r.rawValue) }
        guard let r = request, let vi else { return }
        let distance = r.sequence &- vi.expected
        let bucket: String = switch distance {
        case 0: "0"
        case 1: "1"
        case 2...125: "ahead"
        case 126: "126"
        case 127: "127"
        case 128: "128"
        case 129: "129"
        case 255: "255"
        default: "behind"
        }
        coverage.insert(r.ordered ? "seq-distance:" + bucket : "seq-distance-unordered:" + bucket)
        if vi.reqInPath != 0b1111 { coverage.insert("reqinpath:\(vi.reqInPath)") }
        if vi.expected == 255, model.vis[r.vi]?.expected == 0 { coverage.insert("seq-wrap") }
    }

    public func observations(_ reaction: Reaction, at time: VirtualTime) -> [Script.Line] {
        reaction.frames.map { f in
            switch f {
            case .packet(let port, let bytes):
                return Script.Line(time: time, direction: .observation, verb: "packet", argument: "port=\(port) " + SANWirePacket(bytes: bytes).notation)
            case .event(let e):
                return Script.Line(time: time, direction: .observation, verb: "event", argument: describeEvent(e))
            default:
                return Script.Line(time: time, direction: .observation, verb: f.name.lowercased(), argument: "")
            }
        }
    }
}

/// The SAN-NODE option of HELLO for a node's addresses.
func sanNodeOption(_ c: SANNodeConfig) -> AdapterOption {
    var v: [UInt8] = []
    for snid in c.ports + c.peerPorts {
        for shift in [24, 16, 8, 0] { v.append(UInt8(truncatingIfNeeded: snid.value >> UInt32(shift))) }
    }
    v.append((c.fabrics[0] ? 1 : 0) | (c.fabrics[1] ? 2 : 0))
    return AdapterOption(tag: 0x10, value: v)
}

func splitPort(_ argument: String, line: Int) throws(CaseError) -> (UInt8, Substring) {
    let a = Substring(argument)
    guard a.hasPrefix("port="), let space = a.firstIndex(of: " ") ?? Optional(a.endIndex),
        let port = UInt8(a[a.index(a.startIndex, offsetBy: 5)..<space]) else {
        throw CaseError(line: line, "a packet line starts with port=N")
    }
    // A SAN node has two ports (US 6,545,981, FIG. 1): 0 and 1.
    guard port <= 1 else { throw CaseError(line: line, "port=\(port): a SAN node's ports are 0 and 1") }
    return (port, a[space...].drop { $0 == " " })
}

/// An event in script notation.
func describeEvent(_ e: AdapterEvent) -> String {
    func hex(_ d: [UInt8]) -> String { d.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() }
    switch e {
    case .deliver(let vi, let flags, let imm, let data):
        return "deliver vi=\(vi)" + (flags & 1 != 0 ? " first" : "") + (flags & 2 != 0 ? " last" : "")
            + (flags & 4 != 0 ? " imm=\(imm)" : "") + (data.isEmpty ? "" : " data=\(hex(data))")
    case .memory(let vi, let address, let data):
        return "memory vi=\(vi) addr=0x\(String(address, radix: 16)) data=\(hex(data))"
    case .completion(let vi, let d, let status, let data):
        return "completion vi=\(vi) descriptor=\(d) status=\(status)" + (data.isEmpty ? "" : " data=\(hex(data))")
    case .state(let state, let step, let generation, let enabled):
        return "state state=\(state) step=\(step) generation=\(generation) takeover=\(enabled ? "enabled" : "disabled")"
    }
}
