import VigilAdapters
import VigilCore
import VigilSAN

/// The SAN responder model itself, speaking the adapter protocol in-process: a conformant Swift
/// implementation for the kit's own tests and the interop cases. `distort` lets a test bend its answers to
/// play a wrong implementation.
public final class ModelSANResponderIUT: InProcessIUT {
    private var model = SANResponder()
    private let distort: (KitFrame, [IUTFrame]) -> [IUTFrame]

    public init(distort: @escaping (KitFrame, [IUTFrame]) -> [IUTFrame] = { $1 }) { self.distort = distort }

    public func handle(_ frame: KitFrame) -> [IUTFrame] {
        var out: [IUTFrame] = []
        switch frame {
        case .hello(_, let role, _, _, let options):
            guard role == .sanResponder else {
                return [.helloAck(version: AdapterProtocol.version, roles: Role.sanResponder.bit, clocks: 1, name: "vigil-model", options: [])]
            }
            if let node = options.first(where: { $0.tag == 0x10 }), let config = Self.config(node.value) { model = SANResponder(config: config) }
            return [.helloAck(version: AdapterProtocol.version, roles: Role.sanResponder.bit, clocks: 1, name: "vigil-model", options: [])]
        case .reset:
            model = SANResponder(config: model.config)
            return [.ready]
        case .packet(let port, let bytes):
            for output in model.step(.packet(bytes, port: port)).outputs {
                switch output {
                case .send(let p, let port, _): out.append(.packet(port: port, bytes: p.encode()))
                case .deliver(let vi, let data, let first, let last, let imm):
                    out.append(.event(.deliver(vi: vi, flags: (first ? 1 : 0) | (last ? 2 : 0) | (imm != nil ? 4 : 0), immediate: imm ?? 0, data: data)))
                default: break
                }
            }
        case .command(.createVI(let vi)): _ = model.step(.createVI(vi))
        case .command(.enableRDMA(let vi, let address, let length)): _ = model.step(.enableRDMA(vi: vi, address: address, length: Int(length)))
        case .command(.readMemory(let vi, let address, let length)):
            out.append(.event(.memory(vi: vi, address: address, data: model.memory(vi: vi, address: address, count: Int(length)) ?? [])))
        case .command:
            out.append(.error("not a san-responder command"))
        case .time, .diskResult:
            break
        case .bye:
            return []
        }
        return distort(frame, out) + [.idle(next: nil, datagrams: 0)]
    }

    static func config(_ v: [UInt8]) -> SANNodeConfig? {
        guard v.count >= 17 else { return nil }
        func snid(_ i: Int) -> SNID? { SNID(UInt32(v[i]) << 24 | UInt32(v[i + 1]) << 16 | UInt32(v[i + 2]) << 8 | UInt32(v[i + 3])) }
        guard let a = snid(0), let b = snid(4), let c = snid(8), let d = snid(12) else { return nil }
        return SANNodeConfig(ports: [a, b], fabrics: [v[16] & 1 != 0, v[16] & 2 != 0], peerPorts: [c, d])
    }
}

/// The SAN requestor model itself, speaking the adapter protocol in-process: it sends its own proposals
/// (the reference requestor's choices). For the kit's own tests and as a conformant peer.
public final class ModelSANRequestorIUT: InProcessIUT {
    private var model = SANRequestor()
    private let distort: (KitFrame, [IUTFrame]) -> [IUTFrame]

    public init(distort: @escaping (KitFrame, [IUTFrame]) -> [IUTFrame] = { $1 }) { self.distort = distort }

    public func handle(_ frame: KitFrame) -> [IUTFrame] {
        var out: [IUTFrame] = []
        switch frame {
        case .hello:
            return [.helloAck(version: AdapterProtocol.version, roles: Role.sanRequestor.bit, clocks: 1, name: "vigil-model", options: [])]
        case .reset:
            model = SANRequestor(config: model.config, timers: model.timers)
            return [.ready]
        case .bye:
            return []
        case .command(.createVI(let vi)):
            _ = model.step(.createVI(vi))
        case .command(.post(let vi, _, let op, let flags, let address, let length, let imm, let data)):
            let ordered = flags & 1 != 0, mode: Descriptor.Mode = flags & 2 != 0 ? .ndaa : .ndal
            let d: Descriptor
            switch op {
            case 0: d = .send(data, immediate: flags & 4 != 0 ? imm : nil, mode: mode)
            case 1: d = .rdmaWrite(data, to: address, ordered: ordered, mode: mode)
            default: d = .rdmaRead(Int(length), at: address, ordered: ordered, mode: mode)
            }
            out += events(model.step(.post(vi: vi, d)))
        case .packet(let port, let bytes):
            out += events(model.step(.packet(bytes, port: port)))
        case .time(let t):
            out += events(model.step(.advance(to: t)))
        case .command, .diskResult:
            out.append(.error("not a san-requestor stimulus"))
        }
        while let (bytes, port) = model.proposal() {
            _ = model.step(.transmit(bytes, port: port))
            out.append(.packet(port: port, bytes: bytes))
        }
        return distort(frame, out) + [.idle(next: model.nextDeadline(), datagrams: 0)]
    }

    private func events(_ step: SANStep) -> [IUTFrame] {
        step.outputs.compactMap { o in
            guard case .completion(let vi, let d, let status, let data) = o else { return nil }
            return .event(.completion(vi: vi, descriptor: UInt32(d), status: status.adapterCode, data: data))
        }
    }
}
