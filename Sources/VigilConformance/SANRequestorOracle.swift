import VigilAdapters
import VigilCore
import VigilSAN

/// The san-requestor role: the kit plays the responder node (the SANResponder model) and the fabric
/// between them, with the faults a script asks for; the SANRequestor model checks every packet the IUT
/// sends the moment it appears, follows the IUT's free choices, and flags a required packet that never
/// comes. Time is virtual: the kit advances it to the next delivery, the IUT's next timer or the model's.
public struct SANRequestorOracle: RoleOracle {
    public let role = Role.sanRequestor
    var model = SANRequestor()
    var peer = SANResponder()
    let latency = VirtualTime.microseconds(2)

    struct Delivery {
        var at: VirtualTime
        var order: Int
        var port: UInt8
        var bytes: [UInt8]
    }

    /// A fault the script placed on the fabric.
    struct Fault {
        /// lose: the packet vanishes; corrupt: a byte flips (the CRC fails); alter: the data of an ACK
        /// changes and the CRC is made good again (a stale answer that looks valid).
        enum Action { case lose, corrupt, alter }
        var action: Action
        var toResponder: Bool
        var sequence: UInt8?
        var vi: UInt16?
        var copy: Int?
        var kind: String?
        /// How many more packets it may still hit; nil: any number.
        var remaining: Int?
    }

    var deliveries: [Delivery] = []
    var order = 0
    var faults: [Fault] = []
    var cutPaths: Set<PathID> = []
    var copies: [SANPacket: Int] = [:]
    var expectedCompletions: [AdapterEvent] = []
    var nextDescriptor: [UInt16: UInt32] = [:]
    var iutNext: VirtualTime?
    var now = VirtualTime.zero

    public init() {}

    public var helloOptions: [AdapterOption] {
        var timers: [UInt8] = []
        for v in [model.timers.responseTimeout.nanoseconds, model.timers.probeInterval.nanoseconds] {
            for s in stride(from: 56, through: 0, by: -8) { timers.append(UInt8(truncatingIfNeeded: v >> UInt64(s))) }
        }
        var barrier: [UInt8] = [0xFF, 0xFF]
        for s in stride(from: 56, through: 0, by: -8) { barrier.append(UInt8(truncatingIfNeeded: UInt64(0xB000_0000) >> UInt64(s))) }
        return [sanNodeOption(model.config), AdapterOption(tag: 0x11, value: timers), AdapterOption(tag: 0x12, value: barrier)]
    }

    public mutating func drive(_ script: Script, _ io: inout CaseIO) throws(AdapterFailure) -> Verdict {
        for line in script.lines where line.direction == .stimulus {
            // Let everything due before this line happen first.
            if let v = try settle(until: line.time, line: line, &io) { return v }
            let args = Arguments(Substring(line.argument))
            switch (line.verb, args.words.first) {
            case ("command", "create-vi"):
                guard let vi: UInt16 = try? args.number("vi", line: line.lineNumber) else { return .error(CaseIO.scriptError(CaseError(line: line.lineNumber, "vi= is missing"))) }
                modelStep(.createVI(vi))
                _ = peer.step(.createVI(vi))
                if let v = try react(try io.stimulate(.command(.createVI(vi: vi)), line: line), line: line, &io) { return v }
            case ("command", "post"):
                let descriptor: Descriptor, frame: KitFrame
                do {
                    (descriptor, frame) = try post(args, line: line.lineNumber)
                } catch {
                    return .error(CaseIO.scriptError(error))
                }
                guard case .command(.post(let vi, _, _, _, _, _, _, _)) = frame else { continue }
                modelStep(.post(vi: vi, descriptor))
                if let v = try react(try io.stimulate(frame, line: line), line: line, &io) { return v }
            case ("peer", "enable-rdma"):
                do {
                    _ = peer.step(.enableRDMA(vi: try args.number("vi", line: line.lineNumber), address: try args.number("addr", line: line.lineNumber),
                                              length: try args.number("len", line: line.lineNumber)))
                } catch {
                    return .error(CaseIO.scriptError(error))
                }
                io.record(line)
            case ("fabric", let action?):
                do {
                    try fabric(action, args, line: line.lineNumber)
                } catch {
                    return .error(CaseIO.scriptError(error))
                }
                io.record(line)
            case ("time", _):
                io.record(line)
            case ("packet", _):
                // A delivery the kit wrote into an earlier transcript: the fabric makes it again on replay.
                continue
            default:
                return .error(CaseIO.scriptError(CaseError(line: line.lineNumber,
                    "san-requestor lines are: command create-vi|post, peer enable-rdma, fabric lose|corrupt|cut|heal, time")))
            }
        }
        // `@run SECONDS`: how long the case runs after its last line (default 1 s), as for every role.
        let run = script[header: "run"].flatMap(Double.init).map { UInt64(max(0, $0) * 1e9) } ?? 1_000_000_000
        let end = VirtualTime(nanoseconds: (script.lines.last?.time.nanoseconds ?? 0) + run)
        let last = script.lines.last ?? Script.Line(time: .zero, direction: .stimulus, verb: "time", argument: "")
        if let v = try settle(until: end, line: last, &io) { return v }
        // Quiet at the end: anything the model still requires was never sent.
        if let rule = model.requiredRule() {
            return .fail(Divergence(rule: rule.rule, step: last.lineNumber, time: now, expected: model.allowedSummary().joined(separator: "; "),
                                    observed: "nothing: the IUT went quiet"))
        }
        if let missing = expectedCompletions.first {
            return .fail(Divergence(rule: SANRule.reqDescriptorComplete.rule, step: last.lineNumber, time: now,
                                    expected: describeEvent(missing), observed: "no COMPLETION"))
        }
        return .pass
    }

    /// Runs time forward to `limit`: deliveries, the IUT's timers and the model's, in order. At one instant
    /// the timers go first (TIME, and the model's time-outs), then the packets due.
    mutating func settle(until limit: VirtualTime, line: Script.Line, _ io: inout CaseIO) throws(AdapterFailure) -> Verdict? {
        while true {
            var candidates: [VirtualTime] = []
            if let d = deliveries.map(\.at).min() { candidates.append(max(d, now)) }
            if let n = iutNext, n > now { candidates.append(n) }
            if let m = model.nextDeadline(), m > now { candidates.append(m) }
            guard let t = candidates.min(), t <= limit else { break }
            if t > now {
                now = t
                modelStep(.advance(to: t))
                let timeLine = Script.Line(time: t, direction: .stimulus, verb: "time", argument: "", lineNumber: line.lineNumber)
                if let v = try react(try io.stimulate(.time(t), line: timeLine), line: timeLine, &io) { return v }
            }
            let due = deliveries.filter { $0.at <= now }.sorted { $0.order < $1.order }
            deliveries.removeAll { $0.at <= now }
            for d in due {
                modelStep(.packet(d.bytes, port: d.port))
                // The notation (hex of up to 512 bytes) only when a transcript is kept.
                let argument = io.recording ? "port=\(d.port) " + SANWirePacket(bytes: d.bytes).notation : "port=\(d.port)"
                let packetLine = Script.Line(time: now, direction: .stimulus, verb: "packet", argument: argument, lineNumber: line.lineNumber)
                if let v = try react(try io.stimulate(.packet(port: d.port, bytes: d.bytes), line: packetLine), line: packetLine, &io) { return v }
            }
        }
        if now < limit {
            // The line happens at its own time: both clocks move there (nothing was due before it).
            now = limit
            modelStep(.advance(to: limit))
            let timeLine = Script.Line(time: limit, direction: .stimulus, verb: "time", argument: "", lineNumber: line.lineNumber)
            if let v = try react(try io.stimulate(.time(limit), line: timeLine), line: timeLine, &io) { return v }
            if !deliveries.isEmpty || (iutNext.map { $0 <= limit } ?? false) { return try settle(until: limit, line: line, &io) }
        }
        return nil
    }

    /// One model step; the descriptors it completes are what the IUT must report next.
    @discardableResult
    mutating func modelStep(_ input: SANRequestor.Input) -> SANStep {
        let step = model.step(input)
        // Coverage: the rules the model applied, and the path states it reached.
        for r in step.rules { coverage.insert(r.rawValue) }
        if model.paths != lastPaths {
            lastPaths = model.paths
            for (i, state) in lastPaths.enumerated() where state != .good { coverage.insert("path\(i):\(state.rawValue)") }
        }
        for case .completion(let vi, let descriptor, let status, let data) in step.outputs {
            expectedCompletions.append(.completion(vi: vi, descriptor: UInt32(descriptor), status: status.adapterCode, data: data))
        }
        return step
    }

    public private(set) var coverage: Set<String> = []
    /// The path states coverage last saw (they change rarely; naming them at every step was most of the cost).
    var lastPaths: [SANRequestor.PathState] = []

    /// Checks a reaction: each packet against the model (then onto the fabric), each completion against the
    /// model's.
    mutating func react(_ reaction: Reaction, line: Script.Line, _ io: inout CaseIO) throws(AdapterFailure) -> Verdict? {
        iutNext = reaction.next
        for f in reaction.frames {
            switch f {
            case .packet(let port, let bytes):
                io.record(Script.Line(time: now, direction: .observation, verb: "packet",
                                      argument: "port=\(port) " + SANWirePacket(bytes: bytes).notation))
                let step = modelStep(.transmit(bytes, port: port))
                if let d = step.divergence {
                    return .fail(Divergence(rule: d.rule.rule, step: line.lineNumber, time: now, expected: d.detail + "; allowed: "
                                                + (d.allowed.isEmpty ? "nothing" : d.allowed.joined(separator: "; ")), observed: d.observed))
                }
                carry(bytes, fromPort: port)
            case .event(let e):
                io.record(Script.Line(time: now, direction: .observation, verb: "event", argument: describeEvent(e)))
                guard case .completion = e else {
                    return .fail(Divergence(rule: SANRule.reqDescriptorComplete.rule, step: line.lineNumber, time: now,
                                            expected: "COMPLETION events only", observed: describeEvent(e)))
                }
                guard let i = expectedCompletions.firstIndex(of: e), i == 0 else {
                    return .fail(Divergence(rule: SANRule.reqDescriptorComplete.rule, step: line.lineNumber, time: now,
                                            expected: expectedCompletions.first.map(describeEvent) ?? "no completion yet (not every packet is acknowledged)",
                                            observed: describeEvent(e)))
                }
                expectedCompletions.removeFirst()
            case .error(let why):
                return .notApplicable("the IUT refused line \(line.lineNumber): \(why)")
            default:
                return .fail(Divergence(rule: SANRule.reqHeader.rule, step: line.lineNumber, time: now,
                                        expected: "packets and COMPLETION events", observed: f.name))
            }
        }
        return nil
    }

    /// The fabric: a packet from the IUT reaches the kit's responder (unless a fault takes it); the answers
    /// come back after the latency.
    mutating func carry(_ bytes: [UInt8], fromPort port: UInt8) {
        guard let packet = try? SANPacket.decode(bytes), let peerPort = model.config.peerPortIndex(of: packet.destination) else { return }
        let path = PathID(requestorPort: port, responderPort: peerPort)
        guard !cutPaths.contains(path), !hit(packet, toResponder: true, .lose) else { return }
        var out = bytes
        if hit(packet, toResponder: true, .corrupt), out.count > 4 { out[out.count - 5] ^= 0xFF }
        for output in peer.step(.packet(out, port: peerPort)).outputs {
            guard case .send(let original, let from, _) = output, let back = peer.config.peerPortIndex(of: original.destination) else { continue }
            var answer = original
            guard !cutPaths.contains(PathID(requestorPort: back, responderPort: from)), !hit(answer, toResponder: false, .lose) else { continue }
            if case .ack(let f, let data) = answer.body, !data.isEmpty, hit(answer, toResponder: false, .alter) {
                answer.body = .ack(f, data: data.map { $0 ^ 0x5A })
            }
            var answerBytes = answer.encode()
            if hit(answer, toResponder: false, .corrupt) { answerBytes[answerBytes.count - 5] ^= 0xFF }
            deliveries.append(Delivery(at: now + latency + latency, order: order, port: back, bytes: answerBytes))
            order += 1
        }
    }

    /// Whether a fault of `action` applies to this packet (each packet is counted once per direction).
    mutating func hit(_ packet: SANPacket, toResponder: Bool, _ action: Fault.Action) -> Bool {
        var key = packet
        key.tsn = toResponder ? 0 : 1
        let copy: Int
        if action == .lose {
            copy = copies[key, default: 0]
            copies[key] = copy + 1
        } else if action == .alter {
            copy = copies[key, default: 1] - 1
        } else {
            copy = max(0, copies[key, default: 1] - 1)
        }
        let (seq, vi, kind): (UInt8?, UInt16?, String) = {
            switch packet.body {
            case .request(let r): return (r.sequence, r.vi, "req")
            case .ack(let f, _): return (f.sequence, f.vi, "ack")
            case .nack(let f, _): return (f.sequence, f.vi, "nack")
            case .supervisory: return (nil, nil, "sup")
            }
        }()
        guard let i = faults.firstIndex(where: { f in
            f.action == action && f.toResponder == toResponder && (f.sequence == nil || f.sequence == seq) && (f.vi == nil || f.vi == vi)
                && (f.copy == nil || f.copy == copy) && (f.kind == nil || f.kind == kind) && (f.remaining ?? 1) > 0
        }) else { return false }
        if let r = faults[i].remaining { faults[i].remaining = r - 1 }
        return true
    }

    mutating func fabric(_ action: String, _ args: Arguments, line: Int) throws(CaseError) {
        switch action {
        case "lose", "corrupt", "alter":
            guard let to = args.values["to"], to == "responder" || to == "requestor" else {
                throw CaseError(line: line, "fabric \(action) needs to=responder or to=requestor")
            }
            faults.append(Fault(action: action == "lose" ? .lose : action == "alter" ? .alter : .corrupt, toResponder: to == "responder",
                                sequence: args.values["seq"] == nil ? nil : try args.number("seq", line: line),
                                vi: args.values["vi"] == nil ? nil : try args.number("vi", line: line),
                                copy: args.values["copy"] == nil ? nil : try args.number("copy", line: line), kind: args.values["kind"],
                                remaining: args.values["count"] == nil ? nil : try args.number("count", line: line)))
        case "cut", "heal":
            guard let p = args.values["path"], p.count == 2, let a = UInt8(String(p.first!)), let b = UInt8(String(p.last!)), a < 2, b < 2 else {
                throw CaseError(line: line, "fabric \(action) needs path=RQ, e.g. path=01")
            }
            let path = PathID(requestorPort: a, responderPort: b)
            if action == "cut" { cutPaths.insert(path) } else { cutPaths.remove(path) }
        default:
            throw CaseError(line: line, "fabric actions are lose, corrupt, alter, cut and heal")
        }
    }

    /// `post vi=N op=send|rdma-write|rdma-read [ordered] [ndaa] [imm=N] [addr=0x…] (data=HEX | size=N [seed=S] | len=N)`.
    mutating func post(_ args: Arguments, line: Int) throws(CaseError) -> (Descriptor, KitFrame) {
        let vi: UInt16 = try args.number("vi", line: line)
        let ordered = args.words.contains("ordered"), ndaa = args.words.contains("ndaa")
        let data: [UInt8]
        if let hex = args.values["data"] {
            guard let d = SANWirePacket.parseHexData(hex) else { throw CaseError(line: line, "data= needs hex digits in pairs") }
            data = d
        } else if args.values["size"] != nil {
            let size: Int = try args.number("size", line: line)
            guard (0...(1 << 20)).contains(size) else { throw CaseError(line: line, "size= is 0-1048576") }
            data = SANScenario.data(size, seed: args.values["seed"] == nil ? 0 : try args.number("seed", line: line))
        } else {
            data = []
        }
        let address: UInt64 = args.values["addr"] == nil ? 0 : try args.number("addr", line: line)
        let mode: Descriptor.Mode = ndaa ? .ndaa : .ndal
        let descriptor: Descriptor
        let op: UInt8
        var length = UInt32(data.count)
        var immediate: UInt32? = nil
        switch args.values["op"] {
        case "send":
            immediate = args.values["imm"] == nil ? nil : try args.number("imm", line: line)
            descriptor = .send(data, immediate: immediate, mode: mode)
            op = 0
        case "rdma-write":
            descriptor = .rdmaWrite(data, to: address, ordered: ordered, mode: mode)
            op = 1
        case "rdma-read":
            let n: Int = try args.number("len", line: line)
            descriptor = .rdmaRead(n, at: address, ordered: ordered, mode: mode)
            length = UInt32(n)
            op = 2
        default:
            throw CaseError(line: line, "op= is send, rdma-write or rdma-read")
        }
        let id = nextDescriptor[vi, default: 0]
        nextDescriptor[vi] = id + 1
        let flags: UInt8 = (descriptor.ordered ? 1 : 0) | (descriptor.mode == .ndaa ? 2 : 0) | (immediate != nil ? 4 : 0)
        return (descriptor, .command(.post(vi: vi, descriptor: id, op: op, flags: flags, address: address, length: length,
                                           immediate: immediate ?? 0, data: op == 2 ? [] : data)))
    }
}

extension CompletionStatus {
    /// The status code of the COMPLETION event (specs/adapter.md §7).
    var adapterCode: UInt8 {
        switch self {
        case .success: return 0
        case .remoteError: return 1
        case .pathFailure: return 2
        case .aborted: return 3
        }
    }
}
