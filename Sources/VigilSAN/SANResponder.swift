/// The responder side of US 6,545,981 for one node: per-VI expected sequence numbers, the ReqInPath
/// vectors, RDMA memory, and the answers to requests and supervisory messages.
///
/// A pure value: `step` takes one input and returns what the node does and the rules that decided it.
public struct SANResponder: Hashable, Sendable {
    public enum Input: Hashable, Sendable {
        /// Create a VI (sequence number 0, every path allowed).
        case createVI(UInt16)
        /// Enable RDMA access to `length` bytes at `address` for a VI; the bytes start as zero.
        case enableRDMA(vi: UInt16, address: UInt64, length: Int)
        /// Bytes arriving on port 0 or 1.
        case packet([UInt8], port: UInt8)
    }

    /// A VI as the responder holds it.
    public struct VI: Hashable, Sendable {
        /// The expected sequence number (Rsp. SN).
        public var expected: UInt8 = 0
        /// Bit i set: requests over path i (requestor port * 2 + responder port) are allowed.
        public var reqInPath: UInt8 = 0b1111
        /// Barrier VIs accept on every path whatever the path state (SAN-RSP-SUP-BARRIER-LOC).
        public var isBarrierVI = false
        public var regions: [MemoryRegion] = []
    }

    public struct MemoryRegion: Hashable, Sendable {
        public var address: UInt64
        public var bytes: [UInt8]

        func contains(_ start: UInt64, count: Int) -> Bool {
            guard start >= address else { return false }
            let offset = start - address
            return offset <= UInt64(bytes.count) && UInt64(count) <= UInt64(bytes.count) - offset
        }
    }

    public let config: SANNodeConfig
    public private(set) var vis: [UInt16: VI] = [:]

    public init(config: SANNodeConfig = .responderB) {
        self.config = config
    }

    public mutating func step(_ input: Input) -> SANStep {
        switch input {
        case .createVI(let id):
            vis[id] = VI()
            return SANStep(rules: [.seqInit])
        case .enableRDMA(let id, let address, let length):
            vis[id, default: VI()].regions.append(MemoryRegion(address: address, bytes: [UInt8](repeating: 0, count: max(0, length))))
            return SANStep(rules: [.rspRDMAAccess])
        case .packet(let bytes, let port):
            return receive(bytes, port: port & 1)
        }
    }

    /// The contents of a VI's memory at `address`, nil when not enabled.
    public func memory(vi: UInt16, address: UInt64, count: Int) -> [UInt8]? {
        guard let region = vis[vi]?.regions.first(where: { $0.contains(address, count: count) }) else { return nil }
        let offset = Int(address - region.address)
        return Array(region.bytes[offset..<(offset + count)])
    }

    // MARK: receiving

    private mutating func receive(_ bytes: [UInt8], port: UInt8) -> SANStep {
        let packet: SANPacket
        switch config.admit(bytes, port: port) {
        case .failure(let refusal):
            return SANStep(outputs: [.discard(refusal.detail)], rules: refusal.rules)
        case .success(let p):
            packet = p
        }
        switch packet.body {
        case .request(let request):
            return handle(request, of: packet, port: port)
        case .supervisory(let message):
            return handle(message, of: packet, port: port)
        case .ack, .nack:
            // A responder has no requests outstanding: a response is not a valid request.
            return SANStep(outputs: [.discard("a \(packet.body.transactionType) is not a request")],
                           rules: [.rspValidRequestCode])
        }
    }

    private mutating func handle(_ request: Request, of packet: SANPacket, port: UInt8) -> SANStep {
        guard let requestorPort = config.peerPortIndex(of: packet.source) else {
            return SANStep(outputs: [.discard("source \(packet.source) is not a port of the peer node")],
                           rules: [.rspReqInPath])
        }
        // Only scalars are copied out of `vis`, so that an RDMA write mutates the region without a copy.
        guard let expected = vis[request.vi]?.expected, let reqInPath = vis[request.vi]?.reqInPath,
            let isBarrierVI = vis[request.vi]?.isBarrierVI else {
            return SANStep(outputs: [reply(to: packet, request, port: port, .nack(reason: .noSuchVI))],
                           rules: [.rspNoSuchVI, .rspResponseCopySeq, .rspResponseFields])
        }
        let path = PathID(requestorPort: requestorPort, responderPort: port)
        guard isBarrierVI || reqInPath & (1 << path.index) != 0 else {
            return SANStep(outputs: [.discard("\(path) is disabled in VI \(request.vi)'s ReqInPath vector")],
                           rules: [.rspReqInPath, .pathFour])
        }

        var step = SANStep()
        let seqClass = SequenceNumber.classify(request.sequence, expected: expected)
        switch seqClass {
        case .ahead:
            // US 6,545,981 col. 8: the responder may NACK or ignore; it must not take the packet.
            step.rules = [.rspSeqAheadDiscard, .rspSeqPartition, .rspSeqAheadNack, .rspResponseCopySeq, .rspResponseFields]
            var nack = reply(to: packet, request, port: port, .nack(reason: .sequenceError))
            if case .send(let p, let port, _) = nack { nack = .send(p, port: port, optional: true) }
            step.outputs = [nack]
            return step
        case .duplicate:
            step.rules = [.rspSeqPartition]
            if case .rdmaRead(let address, let length) = request.kind {
                // col. 9: a duplicate RDMA read is completed again and returns the data.
                guard let data = memory(vi: request.vi, address: address, count: Int(length)) else {
                    return SANStep(outputs: [reply(to: packet, request, port: port, .nack(reason: .accessViolation))],
                                   rules: [.rspRDMAAccess, .rspSeqPartition, .rspResponseCopySeq, .rspResponseFields])
                }
                step.rules.insert(.rspDuplicateRead, at: 0)
                step.outputs = [reply(to: packet, request, port: port, .ack(data: data))]
            } else {
                step.rules.insert(.rspDuplicateAck, at: 0)
                step.outputs = [reply(to: packet, request, port: port, .ack(data: []))]
            }
            step.rules += [.rspResponseCopySeq, .rspResponseFields]
            return step
        case .expected:
            break
        }

        // The expected packet: execute it if the other checks pass, then acknowledge.
        step.rules = [.rspSeqExpected, .rspStrictOrder]
        switch request.kind {
        case .send(let data, let immediate):
            step.outputs.append(.deliver(vi: request.vi, data: data, first: request.first, last: request.last, immediate: immediate))
            step.outputs.append(reply(to: packet, request, port: port, .ack(data: [])))
        case .rdmaWrite(let address, let data):
            guard write(vi: request.vi, address, data) else {
                return SANStep(outputs: [reply(to: packet, request, port: port, .nack(reason: .accessViolation))],
                               rules: [.rspRDMAAccess, .rspResponseCopySeq, .rspResponseFields])
            }
            step.outputs.append(.memoryWrite(vi: request.vi, address: address, data: data))
            step.outputs.append(reply(to: packet, request, port: port, .ack(data: [])))
        case .rdmaRead(let address, let length):
            guard let data = memory(vi: request.vi, address: address, count: Int(length)) else {
                return SANStep(outputs: [reply(to: packet, request, port: port, .nack(reason: .accessViolation))],
                               rules: [.rspRDMAAccess, .rspResponseCopySeq, .rspResponseFields])
            }
            step.outputs.append(reply(to: packet, request, port: port, .ack(data: data)))
        }
        if request.ordered {
            vis[request.vi]!.expected &+= 1
            step.rules.append(.rspSeqOrderedIncrement)
        } else {
            step.rules.append(.rspSeqUnorderedHold)
        }
        step.rules += [.rspResponseCopySeq, .rspResponseFields]
        return step
    }

    private mutating func handle(_ message: Supervisory, of packet: SANPacket, port: UInt8) -> SANStep {
        guard config.peerPortIndex(of: packet.source) != nil else {
            return SANStep(outputs: [.discard("supervisory message from \(packet.source), not a port of the peer node")],
                           rules: [.rspReqInPath])
        }
        guard let ack = message.op.acknowledgement else {
            return SANStep(outputs: [.discard("\(message.op) is not a message a responder acts on")],
                           rules: [.rspValidRequestCode])
        }
        let rule: SANRule
        switch message.op {
        case .pathBad:
            for id in vis.keys where !(vis[id]?.isBarrierVI ?? true) { vis[id]?.reqInPath &= ~(1 << message.path.index) }
            rule = .rspPathBad
        case .pathGood:
            for id in vis.keys where !(vis[id]?.isBarrierVI ?? true) { vis[id]?.reqInPath |= 1 << message.path.index }
            rule = .rspPathGood
        default:
            var vi = vis[message.vi] ?? VI()
            vi.isBarrierVI = true
            if !vi.regions.contains(where: { $0.contains(message.address, count: 8) }) {
                vi.regions.append(MemoryRegion(address: message.address, bytes: [UInt8](repeating: 0, count: 8)))
            }
            vis[message.vi] = vi
            rule = .rspBarrierLocation
        }
        let answer = config.packet(
            fromPort: port, toPeerPort: config.peerPortIndex(of: packet.source) ?? 0, acb: packet.acb, tsn: packet.tsn,
            body: .supervisory(Supervisory(op: ack, path: message.path, vi: message.vi, address: message.address)))
        return SANStep(outputs: [.send(answer, port: port, optional: false)], rules: [rule, .pathFour])
    }

    // MARK: helpers

    private enum Answer {
        case ack(data: [UInt8])
        case nack(reason: NackReason)
    }

    /// The response to `request` (SAN-RSP-RESP-FIELDS, SAN-RSP-RESP-COPY-SEQ): to the request's source,
    /// out of the port it came in on, copying ACB, TSN, VI, VI operation byte and sequence number.
    private func reply(to packet: SANPacket, _ request: Request, port: UInt8, _ answer: Answer) -> SANOutput {
        let fields = ResponseFields(control: request.control, sequence: request.sequence, vi: request.vi)
        let body: PacketBody
        switch answer {
        case .ack(let data): body = .ack(fields, data: data)
        case .nack(let reason): body = .nack(fields, reason: reason)
        }
        let response = SANPacket(destination: packet.source, acb: packet.acb, fabric: config.fabrics[Int(port)],
                                 source: config.ports[Int(port)], tsn: packet.tsn, body: body)
        return .send(response, port: port, optional: false)
    }

    /// Writes in place in `vis`, so that the region's bytes are not copied on every write.
    private mutating func write(vi id: UInt16, _ address: UInt64, _ data: [UInt8]) -> Bool {
        guard let index = vis[id]?.regions.firstIndex(where: { $0.contains(address, count: data.count) }) else { return false }
        let offset = Int(address - vis[id]!.regions[index].address)
        vis[id]!.regions[index].bytes.replaceSubrange(offset..<(offset + data.count), with: data)
        return true
    }
}
