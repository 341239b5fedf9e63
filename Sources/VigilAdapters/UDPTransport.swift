#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VigilCore

/// UDP mode (specs/adapter.md §6): control frames on the IUT's stdio as usual, but its packets travel as
/// real UDP datagrams on 127.0.0.1, one socket per port (SAN ports 0 and 1, the failover network channel
/// 2) on each side. The kit's PACKET stimuli become datagrams; the IUT's datagrams come back as PACKET
/// frames placed before the IDLE that counts them.
public final class UDPTransport: FrameTransport {
    private let control: StdioTransport
    private var kitSockets: [UInt8: Int32] = [:]
    private var iutPorts: [UInt8: UInt16] = [:]
    private var queue: [IUTFrame] = []
    private var helloPending = false

    public init(control: StdioTransport) { self.control = control }

    deinit { closeSockets() }

    public var stderrTail: String { control.stderrTail }

    public func start() throws(AdapterFailure) {
        closeSockets()
        queue = []
        try control.start()
    }

    public func send(_ frame: KitFrame) throws(AdapterFailure) {
        switch frame {
        case .hello(let version, let role, let virtualClock, _, var options):
            closeSockets()
            let ports: [UInt8] = role == .failoverNode ? [2] : [0, 1]
            var value: [UInt8] = []
            for p in ports {
                let (fd, local) = try openSocket()
                kitSockets[p] = fd
                value += [p, UInt8(local >> 8), UInt8(local & 0xFF)]
            }
            options.append(AdapterOption(tag: 0x30, value: value))
            helloPending = true
            try control.send(.hello(version: version, role: role, virtualClock: virtualClock, udp: true, options: options))
        case .packet(let port, let bytes):
            guard let fd = kitSockets[port], let target = iutPorts[port] else {
                throw AdapterFailure(.handshake, "the IUT gave no UDP port for port \(port) in HELLO-ACK (option 0x31)", stderrTail: stderrTail)
            }
            var address = loopback(target)
            let sent = bytes.withUnsafeBytes { b in
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
            }
            guard sent == bytes.count else {
                throw AdapterFailure(.alive, "sending a datagram to the IUT's port \(target) failed: \(String(cString: strerror(errno)))", stderrTail: stderrTail)
            }
        default:
            try control.send(frame)
        }
    }

    public func receive(before deadline: ContinuousClock.Instant) throws(AdapterFailure) -> IUTFrame {
        if !queue.isEmpty { return queue.removeFirst() }
        let frame = try control.receive(before: deadline)
        switch frame {
        case .helloAck(_, _, _, _, let options) where helloPending:
            helloPending = false
            iutPorts = [:]
            for o in options where o.tag == 0x31 {
                var i = 0
                while i + 3 <= o.value.count {
                    iutPorts[o.value[i]] = UInt16(o.value[i + 1]) << 8 | UInt16(o.value[i + 2])
                    i += 3
                }
            }
            return frame
        case .idle(_, let datagrams):
            // The datagrams the IUT sent while reacting come first, then the IDLE that counted them.
            queue = try collect(Int(datagrams), before: deadline) + [frame]
            return queue.removeFirst()
        case .packet:
            throw AdapterFailure(.frame, "a PACKET frame on stdio in UDP mode: packets travel as datagrams", stderrTail: stderrTail)
        default:
            return frame
        }
    }

    public func stop() {
        control.stop()
        closeSockets()
    }

    /// Waits for `count` datagrams on the kit's sockets.
    private func collect(_ count: Int, before deadline: ContinuousClock.Instant) throws(AdapterFailure) -> [IUTFrame] {
        var out: [IUTFrame] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let sockets = kitSockets.sorted { $0.key < $1.key }
        while out.count < count {
            let left = deadline - ContinuousClock.now
            guard left > .zero else {
                throw AdapterFailure(.quiesce, "IDLE counted \(count) datagrams, \(out.count) arrived within the step deadline", stderrTail: stderrTail)
            }
            var fds = sockets.map { pollfd(fd: $0.value, events: Int16(POLLIN), revents: 0) }
            let ms = left.pollMilliseconds
            _ = poll(&fds, nfds_t(fds.count), ms)
            for (i, (port, fd)) in sockets.enumerated() where fds[i].revents & Int16(POLLIN) != 0 {
                while out.count < count {
                    let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                    guard n >= 0 else { break }
                    out.append(.packet(port: port, bytes: Array(buffer[0..<n])))
                }
            }
        }
        return out
    }

    private func openSocket() throws(AdapterFailure) -> (Int32, UInt16) {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_DGRAM, 0)
        #endif
        guard fd >= 0 else { throw AdapterFailure(.alive, "cannot open a UDP socket: \(String(cString: strerror(errno)))") }
        var address = loopback(0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard bound == 0, named == 0 else {
            close(fd)
            throw AdapterFailure(.alive, "cannot bind a UDP socket on 127.0.0.1: \(String(cString: strerror(errno)))")
        }
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    private func loopback(_ port: UInt16) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return a
    }

    private func closeSockets() {
        for fd in kitSockets.values { close(fd) }
        kitSockets = [:]
        iutPorts = [:]
    }
}
