#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VigilCore

/// An IUT run as a child process, frames on its stdin and stdout (specs/adapter.md §1). Everything the
/// process does — dying, hanging, writing garbage, flooding — becomes an AdapterFailure; the kit ignores
/// SIGPIPE so that writing to a dead IUT is an error, not a signal.
public final class StdioTransport: FrameTransport {
    public let argv: [String]
    public let maxFrame: Int
    private var pid: pid_t = 0
    private var toChild: Int32 = -1
    private var fromChild: Int32 = -1
    private var errFromChild: Int32 = -1
    private var splitter: FrameSplitter
    private var tail: [UInt8] = []
    private var readBuffer = [UInt8](repeating: 0, count: 65_536)
    private static let tailLimit = 64 * 1024

    /// `argv[0]` is looked up on PATH.
    public init(argv: [String], maxFrame: Int = AdapterProtocol.defaultMaxFrame) {
        self.argv = argv
        self.maxFrame = maxFrame
        self.splitter = FrameSplitter(maxFrame: maxFrame)
    }

    /// A shell command line, run with /bin/sh -c.
    public convenience init(shellCommand: String, maxFrame: Int = AdapterProtocol.defaultMaxFrame) {
        self.init(argv: ["/bin/sh", "-c", shellCommand], maxFrame: maxFrame)
    }

    deinit { stop() }

    public var stderrTail: String { String(decoding: tail, as: UTF8.self) }

    public func start() throws(AdapterFailure) {
        stop()
        signal(SIGPIPE, SIG_IGN)
        splitter = FrameSplitter(maxFrame: maxFrame)
        tail = []
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        guard pipe(&inPipe) == 0, pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
            throw AdapterFailure(.alive, "cannot create pipes: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        for fd in inPipe + outPipe + errPipe { posix_spawn_file_actions_addclose(&actions, fd) }
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawnp(&child, argv[0], &actions, nil, &cArgs, environ)
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        guard rc == 0 else {
            close(inPipe[1]); close(outPipe[0]); close(errPipe[0])
            throw AdapterFailure(.alive, "cannot start '\(argv.joined(separator: " "))': \(String(cString: strerror(rc)))")
        }
        pid = child
        toChild = inPipe[1]
        fromChild = outPipe[0]
        errFromChild = errPipe[0]
        for fd in [toChild, fromChild, errFromChild] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }

    public func send(_ frame: KitFrame) throws(AdapterFailure) {
        let bytes = Framing.encode(frame)
        let deadline = ContinuousClock.now + .seconds(2)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(toChild, $0.baseAddress, $0.count) }
            if n > 0 {
                written += n
                continue
            }
            if n < 0, errno != EAGAIN, errno != EINTR {
                let reason = String(cString: strerror(errno))
                let note = exitNote()
                drainStderr()
                throw AdapterFailure(.alive, "the IUT stopped reading its input (\(reason))\(note)", stderrTail: stderrTail)
            }
            guard ContinuousClock.now < deadline else {
                throw AdapterFailure(.quiesce, "the IUT does not read its input: \(bytes.count - written) bytes of \(frame.name) not taken",
                                     stderrTail: stderrTail)
            }
            var p = pollfd(fd: toChild, events: Int16(POLLOUT), revents: 0)
            _ = poll(&p, 1, 10)
            drainStderr()
        }
    }

    public func receive(before deadline: ContinuousClock.Instant) throws(AdapterFailure) -> IUTFrame {
        while true {
            let next: (type: UInt8, body: [UInt8])?
            do {
                next = try splitter.next()
            } catch {
                switch error {
                case .zeroLength: throw AdapterFailure(.frame, "a frame with length 0", stderrTail: stderrTail)
                case .tooLarge(let n): throw AdapterFailure(.frame, "a frame of \(n) bytes, over the \(maxFrame)-byte limit", stderrTail: stderrTail)
                }
            }
            if let (type, body) = next {
                do {
                    return try IUTFrame.decode(type: type, body: body)
                } catch {
                    throw AdapterFailure(.frame, "malformed frame: \(error)", stderrTail: stderrTail)
                }
            }
            let left = deadline - ContinuousClock.now
            guard left > .zero else {
                throw AdapterFailure(.quiesce, "nothing within the step deadline\(splitter.pending > 0 ? " (\(splitter.pending) bytes of an unfinished frame)" : "")",
                                     stderrTail: stderrTail)
            }
            // Read first: the answer is usually there already, or a few microseconds away. Give the core to
            // the IUT a few times (sched_yield) before sleeping in poll: a sleep and its wake-up cost more
            // than the answer takes (vigil bench race, stdio: 12 -> 29 schedules/s; bench fuzz, stdio
            // san-responder: 309 -> 963 runs/s with one job, 1,847 -> 4,187 with two, same idle machine).
            var n = readBuffer.withUnsafeMutableBytes { read(fromChild, $0.baseAddress, $0.count) }
            var spins = 0
            while n < 0, errno == EAGAIN, spins < 64 {
                sched_yield()
                spins += 1
                n = readBuffer.withUnsafeMutableBytes { read(fromChild, $0.baseAddress, $0.count) }
            }
            if n < 0, errno == EAGAIN {
                var fds = (pollfd(fd: fromChild, events: Int16(POLLIN), revents: 0), pollfd(fd: errFromChild, events: Int16(POLLIN), revents: 0))
                let ms = left.pollMilliseconds
                _ = withUnsafeMutableBytes(of: &fds) { poll($0.baseAddress!.assumingMemoryBound(to: pollfd.self), 2, ms) }
                if fds.1.revents != 0 { drainStderr() }
                n = readBuffer.withUnsafeMutableBytes { read(fromChild, $0.baseAddress, $0.count) }
            }
            if n > 0 {
                splitter.feed(readBuffer[0..<n])
            } else if n == 0 {
                drainStderr()
                throw AdapterFailure(.alive, "the IUT closed its output\(exitNote())", stderrTail: stderrTail)
            } else if errno != EAGAIN && errno != EINTR {
                throw AdapterFailure(.alive, "reading the IUT's output failed: \(String(cString: strerror(errno)))", stderrTail: stderrTail)
            }
        }
    }

    public func stop() {
        guard pid > 0 else { return }
        if toChild >= 0 {
            let bye = Framing.encode(KitFrame.bye)
            _ = bye.withUnsafeBytes { write(toChild, $0.baseAddress, $0.count) }
            close(toChild)
            toChild = -1
        }
        var status: Int32 = 0
        var exited = false
        for _ in 0..<50 {
            if waitpid(pid, &status, WNOHANG) == pid {
                exited = true
                break
            }
            usleep(2_000)
        }
        if !exited {
            kill(pid, SIGKILL)
            _ = waitpid(pid, &status, 0)
        }
        drainStderr()
        for fd in [fromChild, errFromChild] where fd >= 0 { close(fd) }
        fromChild = -1
        errFromChild = -1
        pid = 0
    }

    private func drainStderr() {
        guard errFromChild >= 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(errFromChild, $0.baseAddress, $0.count) }
            guard n > 0 else { return }
            tail.append(contentsOf: buffer[0..<n])
            if tail.count > Self.tailLimit { tail.removeFirst(tail.count - Self.tailLimit) }
        }
    }

    /// " (exit status N)" or " (killed by signal N)" once the child has gone, "" while it lives.
    private func exitNote() -> String {
        guard pid > 0 else { return "" }
        var status: Int32 = 0
        var gone = false
        for _ in 0..<25 {
            if waitpid(pid, &status, WNOHANG) == pid {
                gone = true
                break
            }
            usleep(2_000)
        }
        guard gone else { return "" }
        pid = 0
        let sig = status & 0x7F
        return sig == 0 ? " (exit status \((status >> 8) & 0xFF))" : " (killed by signal \(sig))"
    }
}

extension Duration {
    /// A poll(2) timeout for this much time left: whole milliseconds, 1 to 1000 (the caller loops).
    var pollMilliseconds: Int32 {
        Int32(min(1000, max(1, components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000)))
    }
}
