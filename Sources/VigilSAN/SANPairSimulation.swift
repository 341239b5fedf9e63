import VigilCore

/// A requestor model and a responder model joined by a simulated fabric, in virtual time. The requestor
/// plays its own proposals (the reference requestor); a fault filter decides which packets the fabric
/// loses. Used by the tests that replay the patent's figures and by anything that needs a conformant
/// peer. Deterministic: no clock, no randomness.
public struct SANPairSimulation: Sendable {
    public enum Direction: String, Sendable { case toResponder = "->", toRequestor = "<-" }

    /// One packet's trip, as a row of a ladder diagram.
    public struct Transit: Sendable, CustomStringConvertible {
        public var time: VirtualTime
        public var direction: Direction
        public var path: PathID
        public var packet: SANPacket
        public var delivered: Bool
        /// The fabric flipped a byte of it on the way.
        public var corrupted = false
        /// How many times the same packet (same direction and contents, TSN aside) was sent before this
        /// one: 0 for the first transmission, 1 for the first resend. Lets a fault hit "the first SEQ=2".
        public var copy: Int = 0
        /// Position in the order packets were put on the wire.
        public var order: Int = 0
        /// FIG. 6's "Rqst. SN" and "Rsp. SN" columns: for a request, the requestor's copy right after
        /// sending it and the responder's right after handling it (when it was sent, if lost); for a
        /// response, both copies when it arrived.
        public var requestorSN: UInt8?
        public var responderSN: UInt8?

        public var description: String {
            "\(time) \(direction.rawValue) \(path) \(packet.summary)\(delivered ? "" : "  [LOST]")\(corrupted ? "  [CORRUPTED]" : "")"
                + " Rqst.SN=\(requestorSN.map(String.init) ?? "-") Rsp.SN=\(responderSN.map(String.init) ?? "-")"
        }

        public var request: Request? {
            if case .request(let r) = packet.body { return r }
            return nil
        }
    }

    public var requestor: SANRequestor
    public var responder: SANResponder
    public private(set) var now: VirtualTime = .zero
    public var latency: VirtualTime = .microseconds(2)
    /// Returns true for a packet the fabric loses. Called once per packet sent.
    public var loses: @Sendable (Transit) -> Bool = { _ in false }
    /// Returns true for a packet the fabric corrupts (one payload-side byte flipped, so its CRC fails).
    /// Called once per packet the fabric does not lose.
    public var corrupts: @Sendable (Transit) -> Bool = { _ in false }
    public private(set) var log: [Transit] = []
    public private(set) var completions: [SANOutput] = []
    public private(set) var deliveries: [SANOutput] = []
    public private(set) var divergences: [SANDivergence] = []
    /// A run stops after this many packets on the wire, so that a model that never settles (a deliberately
    /// broken one, say) cannot run away; `exhausted` then says so.
    public var packetLimit = 50_000
    public private(set) var exhausted = false
    /// Every rule either model applied, in order.
    public private(set) var rules: [SANRule] = []

    private var copies: [SANPacket: Int] = [:]
    private var inFlight: [(at: VirtualTime, order: Int, transit: Transit, port: UInt8, bytes: [UInt8])] = []
    private var order = 0

    public init(requestor: SANRequestor = SANRequestor(), responder: SANResponder = SANResponder()) {
        self.requestor = requestor
        self.responder = responder
    }

    /// Creates the VI on both sides (both sequence numbers start at 0) and gives the responder memory.
    public mutating func createVI(_ vi: UInt16, rdma: (address: UInt64, length: Int)? = nil) {
        rules += requestor.step(.createVI(vi)).rules
        rules += responder.step(.createVI(vi)).rules
        if let rdma { rules += responder.step(.enableRDMA(vi: vi, address: rdma.address, length: rdma.length)).rules }
    }

    public mutating func post(_ vi: UInt16, _ descriptor: Descriptor) {
        let step = requestor.step(.post(vi: vi, descriptor))
        rules += step.rules
        completions += step.outputs.filter { if case .completion = $0 { return true } else { return false } }
    }

    /// Puts raw bytes on the wire toward the responder's `port` over `path` (a stale or forged packet).
    public mutating func inject(_ bytes: [UInt8], path: PathID, after delay: VirtualTime = .zero) {
        guard let packet = try? SANPacket.decode(bytes) else { return }
        var transit = Transit(time: now, direction: .toResponder, path: path, packet: packet, delivered: true)
        transit.order = order
        order += 1
        enqueue(transit, port: path.responderPort, bytes: bytes, at: now + delay)
    }

    /// Runs until nothing is in flight and nothing is due, or until `limit`.
    public mutating func run(until limit: VirtualTime = .seconds(10)) {
        while true {
            guard order < packetLimit else {
                exhausted = true
                return
            }
            transmitProposals()
            let nextArrival = inFlight.map(\.at).min()
            let candidates = [nextArrival, requestor.nextDeadline()].compactMap { $0 }
            guard let t = candidates.min(), t <= limit else { return }
            now = max(now, t)
            deliverDue()
            let step = requestor.step(.advance(to: now))
            absorb(step)
        }
    }

    /// Runs until `t`, then lets virtual time reach `t` even when nothing happens before it.
    public mutating func advance(to t: VirtualTime) {
        run(until: t)
        guard t > now else { return }
        now = t
        absorb(requestor.step(.advance(to: t)))
    }

    private mutating func transmitProposals() {
        while order < packetLimit, let (bytes, port) = requestor.proposal() {
            let step = requestor.step(.transmit(bytes, port: port))
            absorb(step)
            if step.divergence != nil { return }
            guard let packet = try? SANPacket.decode(bytes),
                let peer = requestor.config.peerPortIndex(of: packet.destination) else { return }
            putOnWire(.toResponder, path: PathID(requestorPort: port, responderPort: peer), packet: packet, bytes: bytes,
                      arrivalPort: peer)
        }
    }

    /// One packet onto the fabric: numbered, then lost, corrupted or delivered after the latency. A lost
    /// packet is logged now, with the sequence numbers of the moment; a delivered one when it arrives.
    private mutating func putOnWire(_ direction: Direction, path: PathID, packet: SANPacket, bytes: [UInt8], arrivalPort: UInt8) {
        var transit = Transit(time: now, direction: direction, path: path, packet: packet, delivered: true)
        transit.order = order
        order += 1
        countCopy(&transit)
        transit.delivered = !loses(transit)
        // FIG. 6's Rqst. SN column: for a request, the requestor's copy right after it sent the packet.
        if direction == .toResponder { transit.requestorSN = sequenceNumbers(packet).0 }
        if transit.delivered {
            transit.corrupted = corrupts(transit)
            enqueue(transit, port: arrivalPort, bytes: transit.corrupted ? Self.corrupt(bytes) : bytes, at: now + latency)
        } else {
            (transit.requestorSN, transit.responderSN) = sequenceNumbers(packet)
            log.append(transit)
        }
    }

    /// Numbers the copies of a packet (see `Transit.copy`).
    private mutating func countCopy(_ transit: inout Transit) {
        var key = transit.packet
        key.tsn = transit.direction == .toResponder ? 0 : 1
        transit.copy = copies[key, default: 0]
        copies[key] = transit.copy + 1
    }

    /// Flips the bits of the byte before the CRC.
    static func corrupt(_ bytes: [UInt8]) -> [UInt8] {
        var out = bytes
        if out.count > 4 { out[out.count - 5] ^= 0xFF }
        return out
    }

    private mutating func enqueue(_ transit: Transit, port: UInt8, bytes: [UInt8], at: VirtualTime) {
        inFlight.append((at, order, transit, port, bytes))
        order += 1
    }

    private mutating func deliverDue() {
        while let i = inFlight.indices.filter({ inFlight[$0].at <= now }).min(by: { (inFlight[$0].at, inFlight[$0].order) < (inFlight[$1].at, inFlight[$1].order) }) {
            let item = inFlight.remove(at: i)
            var transit = item.transit
            switch transit.direction {
            case .toResponder:
                let step = responder.step(.packet(item.bytes, port: item.port))
                rules += step.rules
                transit.responderSN = sequenceNumbers(transit.packet).1
                log.append(transit)
                for output in step.outputs {
                    switch output {
                    case .send(let packet, let port, _):
                        guard let requestorPort = responder.config.peerPortIndex(of: packet.destination) else { continue }
                        putOnWire(.toRequestor, path: PathID(requestorPort: requestorPort, responderPort: port), packet: packet,
                                  bytes: packet.encode(), arrivalPort: requestorPort)
                    case .deliver, .memoryWrite:
                        deliveries.append(output)
                    default:
                        break
                    }
                }
            case .toRequestor:
                let step = requestor.step(.packet(item.bytes, port: item.port))
                absorb(step)
                transit.requestorSN = sequenceNumbers(transit.packet).0
                transit.responderSN = sequenceNumbers(transit.packet).1
                log.append(transit)
            }
        }
    }

    private mutating func absorb(_ step: SANStep) {
        rules += step.rules
        if let d = step.divergence { divergences.append(d) }
        for output in step.outputs {
            if case .completion = output { completions.append(output) }
        }
    }

    private func sequenceNumbers(_ packet: SANPacket) -> (UInt8?, UInt8?) {
        let vi: UInt16
        switch packet.body {
        case .request(let r): vi = r.vi
        case .ack(let f, _), .nack(let f, _): vi = f.vi
        case .supervisory: return (nil, nil)
        }
        return (requestor.sequenceNumber(vi: vi), responder.vis[vi]?.expected)
    }

    /// The Send data the responder placed in a VI's receive queue, concatenated.
    public func received(vi: UInt16) -> [UInt8] {
        deliveries.flatMap { output -> [UInt8] in
            if case .deliver(let v, let data, _, _, _) = output, v == vi { return data }
            return []
        }
    }

    /// The request packets of a VI the requestor sent, in order (lost ones included).
    public func requests(vi: UInt16) -> [Transit] {
        log.filter { $0.direction == .toResponder && $0.request?.vi == vi }
            .sorted { $0.order < $1.order }
    }
}
