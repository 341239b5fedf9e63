import VigilCore

/// Addresses and fabrics of one dual-ported node and of the peer node it talks to.
public struct SANNodeConfig: Hashable, Sendable {
    /// The SNIDs of this node's ports 0 and 1.
    public var ports: [SNID]
    /// The fabric bit of this node's ports 0 and 1.
    public var fabrics: [Bool]
    /// The SNIDs of the peer node's ports 0 and 1.
    public var peerPorts: [SNID]

    public init(ports: [SNID], fabrics: [Bool] = [false, false], peerPorts: [SNID]) {
        precondition(ports.count == 2 && fabrics.count == 2 && peerPorts.count == 2, "a node has two ports")
        self.ports = ports
        self.fabrics = fabrics
        self.peerPorts = peerPorts
    }

    /// The default requestor node A (ports 0x00A00, 0x00A01) and responder node B (0x00B00, 0x00B01), both
    /// ports of both on fabric 0, as in FIG. 4: four paths between them.
    public static let requestorA = SANNodeConfig(ports: [SNID(unchecked: 0xA00), SNID(unchecked: 0xA01)],
                                                 peerPorts: [SNID(unchecked: 0xB00), SNID(unchecked: 0xB01)])
    public static let responderB = SANNodeConfig(ports: [SNID(unchecked: 0xB00), SNID(unchecked: 0xB01)],
                                                 peerPorts: [SNID(unchecked: 0xA00), SNID(unchecked: 0xA01)])

    /// The port index of a peer SNID, nil for a stranger.
    public func peerPortIndex(of snid: SNID) -> UInt8? {
        peerPorts.firstIndex(of: snid).map { UInt8($0) }
    }

    /// Why a packet arriving on `port` is not admitted: the rule and a line of detail.
    public struct Refusal: Error, Hashable, Sendable {
        /// The deciding rule first, then the wire rule that defines the fault.
        public var rules: [SANRule]
        public var detail: String
        public var rule: SANRule { rules[0] }
    }

    /// The validity checks every receiver makes before anything else (US 6,545,981 col. 6, "Receiving a
    /// Request Packet"): the bytes decode (length, codes, reserved bits, CRC), the destination is the
    /// receiving port, the fabric bit is the port's. One place decides them for both roles.
    public func admit(_ bytes: [UInt8], port: UInt8) -> Result<SANPacket, Refusal> {
        let packet: SANPacket
        do {
            packet = try SANPacket.decode(bytes)
        } catch {
            return .failure(Refusal(rules: Self.rules(for: error.code), detail: error.description))
        }
        let p = Int(port & 1)
        guard packet.destination == ports[p] else {
            return .failure(Refusal(rules: [.rspValidDID],
                                    detail: "DID \(packet.destination) is not port \(p)'s SNID \(ports[p])"))
        }
        guard packet.fabric == fabrics[p] else {
            return .failure(Refusal(rules: [.rspValidFabric],
                                    detail: "fabric bit \(packet.fabric ? 1 : 0) differs from port \(p)'s \(fabrics[p] ? 1 : 0)"))
        }
        return .success(packet)
    }

    /// The rule that makes a decoding fault invalid, and the wire rule that defines the fault.
    public static func rules(for code: SANWireError.Code) -> [SANRule] {
        switch code {
        case .truncated, .lengthMismatch: return [.rspValidLength, .wireLayout]
        case .lengthTooLarge: return [.rspValidLength, .wirePayloadLimit]
        case .crcMismatch: return [.rspValidCRC, .wireCRC]
        case .reservedBitsSet: return [.rspValidRequestCode, .wireReserved]
        case .unknownTransactionType, .unknownOperation, .unknownAdaptiveControl, .unknownNackReason, .unknownSupervisoryOp:
            return [.rspValidRequestCode, .wireLayout]
        }
    }

    /// A packet from this node out of `port` to the peer port `peerPort`, with the addressing fields the
    /// port dictates (rule SAN-REQ-HEADER).
    public func packet(fromPort port: UInt8, toPeerPort peerPort: UInt8, acb: AdaptiveControl, tsn: UInt16,
                       body: PacketBody) -> SANPacket {
        SANPacket(destination: peerPorts[Int(peerPort & 1)], acb: acb, fabric: fabrics[Int(port & 1)],
                  source: ports[Int(port & 1)], tsn: tsn, body: body)
    }
}

/// What a model node does in answer to one input.
public enum SANOutput: Hashable, Sendable, CustomStringConvertible {
    /// The node sends `packet` out of its port `port`. `optional` marks an output the patent lets the node
    /// omit (the sequence-error NACK of SAN-RSP-SEQ-AHEAD-NACK).
    case send(SANPacket, port: UInt8, optional: Bool)
    /// The responder places Send data in the VI's receive queue, in order.
    case deliver(vi: UInt16, data: [UInt8], first: Bool, last: Bool, immediate: UInt32?)
    /// The responder writes RDMA data to the VI's memory.
    case memoryWrite(vi: UInt16, address: UInt64, data: [UInt8])
    /// The requestor completes a descriptor; `data` is what an RDMA read brought back.
    case completion(vi: UInt16, descriptor: Int, status: CompletionStatus, data: [UInt8])
    /// The packet was thrown away without an answer.
    case discard(String)

    public var description: String {
        switch self {
        case .send(let p, let port, let optional):
            return "send port\(port)\(optional ? " (optional)" : "") \(p.summary)"
        case .deliver(let vi, let data, let first, let last, let imm):
            return "deliver vi=\(vi) \(data.count)B first=\(first) last=\(last)" + (imm.map { " imm=\($0)" } ?? "")
        case .memoryWrite(let vi, let address, let data):
            return "memory-write vi=\(vi) addr=0x\(String(address, radix: 16)) \(data.count)B"
        case .completion(let vi, let d, let status, let data):
            return "completion vi=\(vi) descriptor=\(d) \(status)" + (data.isEmpty ? "" : " \(data.count)B")
        case .discard(let why):
            return "discard: \(why)"
        }
    }
}

/// An action of a node that the model does not allow: the rule it breaks, what was seen, and what the
/// model would have allowed instead.
public struct SANDivergence: Error, Hashable, Sendable, CustomStringConvertible {
    public var rule: SANRule
    public var observed: String
    public var detail: String
    public var allowed: [String]

    public init(rule: SANRule, observed: String, detail: String, allowed: [String]) {
        self.rule = rule
        self.observed = observed
        self.detail = detail
        self.allowed = allowed
    }

    public var description: String {
        "\(rule.rawValue): \(detail)\n  observed: \(observed)\n  allowed: "
            + (allowed.isEmpty ? "nothing" : allowed.joined(separator: "; "))
    }
}

/// How a requestor's descriptor ended.
public enum CompletionStatus: String, Hashable, Sendable {
    case success
    /// A NACK other than sequence-error (SAN-REQ-NACK-FAIL).
    case remoteError = "remote-error"
    /// No good path left (SAN-REQ-ALL-PATHS-BAD), or the VI stopped after an earlier error.
    case pathFailure = "path-failure"
    /// The VI stopped after an error on an earlier descriptor.
    case aborted
}

/// The outputs of one model step and the rules that decided them, the deciding rule first.
public struct SANStep: Hashable, Sendable {
    public var outputs: [SANOutput] = []
    public var rules: [SANRule] = []
    /// Set when the input was something the node did (`transmit`) that the model does not allow.
    public var divergence: SANDivergence?

    public init(outputs: [SANOutput] = [], rules: [SANRule] = [], divergence: SANDivergence? = nil) {
        self.outputs = outputs
        self.rules = rules
        self.divergence = divergence
    }

    /// The packets sent in this step.
    public var packets: [SANPacket] {
        outputs.compactMap { if case .send(let p, _, _) = $0 { return p } else { return nil } }
    }
}

extension SANPacket {
    /// One line in the spirit of tcpdump: "A00>B00 lane0 req send ORD F L seq=3 vi=1 tsn=7 len=512".
    public var summary: String {
        var s = "\(source)>\(destination) \(acb)\(fabric ? " F" : "") tsn=\(tsn) "
        switch body {
        case .request(let r):
            let c = r.control
            s += "req \(c.operation)\(c.ordered ? " ORD" : "")\(c.first ? " FIRST" : "")\(c.last ? " LAST" : "") seq=\(r.sequence) vi=\(r.vi)"
            switch r.kind {
            case .send(let d, let imm): s += " len=\(d.count)" + (imm.map { " imm=\($0)" } ?? "")
            case .rdmaWrite(let a, let d): s += " addr=0x\(String(a, radix: 16)) len=\(d.count)"
            case .rdmaRead(let a, let n): s += " addr=0x\(String(a, radix: 16)) len=\(n)"
            }
        case .ack(let f, let data):
            s += "ack \(f.control.operation) seq=\(f.sequence) vi=\(f.vi)" + (data.isEmpty ? "" : " len=\(data.count)")
        case .nack(let f, let reason):
            s += "nack \(f.control.operation) seq=\(f.sequence) vi=\(f.vi) reason=\(reason)"
        case .supervisory(let m):
            s += "sup \(m.op) \(m.path)" + (m.vi != 0 || m.address != 0 ? " vi=\(m.vi) addr=0x\(String(m.address, radix: 16))" : "")
        }
        return s
    }
}
