import Testing
import VigilCore
@testable import VigilAdapters

@Suite struct FrameTests {
    static let kitFrames: [KitFrame] = [
        .hello(version: 1, role: .sanResponder, virtualClock: true, udp: false,
               options: [AdapterOption(tag: 0x10, value: [0, 0, 0xB, 0, 0, 0, 0xB, 1, 0, 0, 0xA, 0, 0, 0, 0xA, 1, 0])]),
        .reset, .packet(port: 1, bytes: [1, 2, 3]), .command(.createVI(vi: 7)),
        .command(.enableRDMA(vi: 1, address: 0x1000, length: 4096)),
        .command(.post(vi: 1, descriptor: 9, op: 1, flags: 3, address: 0xABCD, length: 3, immediate: 0, data: [9, 9, 9])),
        .command(.readMemory(vi: 1, address: 4, length: 8)), .command(.boot), .command(.giveback), .command(.reboot),
        .time(.milliseconds(12)), .diskResult(tag: 5, status: 0, data: [1, 2]), .bye,
    ]
    static let iutFrames: [IUTFrame] = [
        .helloAck(version: 1, roles: 7, clocks: 1, name: "refnode", options: [AdapterOption(tag: 0x31, value: [0, 0x1C, 0x2C])]),
        .ready, .packet(port: 0, bytes: Array(0..<40)), .event(.completion(vi: 1, descriptor: 2, status: 0, data: [5])),
        .event(.deliver(vi: 1, flags: 3, immediate: 0, data: [1])), .event(.memory(vi: 1, address: 8, data: [0, 0])),
        .event(.state(state: 1, step: 0, generation: 4, takeoverEnabled: true)), .idle(next: nil, datagrams: 0),
        .idle(next: .seconds(3), datagrams: 2), .error("no"), .disk(tag: 1, op: 3, device: 0, block: 8, count: 1, data: [7]),
    ]

    @Test func everyFrameRoundTrips() throws {
        for f in Self.kitFrames {
            let (t, b) = f.typeAndBody
            #expect(try KitFrame.decode(type: t, body: b) == f)
        }
        for f in Self.iutFrames {
            let (t, b) = f.typeAndBody
            #expect(try IUTFrame.decode(type: t, body: b) == f)
        }
    }

    /// In the manner of NIO's ByteToMessageDecoderVerifier: one byte at a time, all at once, and in random
    /// chunks, the splitter yields the same frames.
    @Test func splitterYieldsTheSameFramesHoweverTheBytesArrive() throws {
        let stream = Self.iutFrames.flatMap { Framing.encode($0) }
        func split(_ chunks: [ArraySlice<UInt8>]) throws -> [IUTFrame] {
            var s = FrameSplitter()
            var out: [IUTFrame] = []
            for c in chunks {
                s.feed(c)
                while let (t, b) = try s.next() { out.append(try IUTFrame.decode(type: t, body: b)) }
            }
            #expect(s.pending == 0)
            return out
        }
        #expect(try split([stream[...]]) == Self.iutFrames)
        #expect(try split(stream.indices.map { stream[$0...$0] }) == Self.iutFrames)
        var rng = SplitMix64(seed: 11)
        var chunks: [ArraySlice<UInt8>] = []
        var i = 0
        while i < stream.count {
            let n = Int(rng.below(20)) + 1
            chunks.append(stream[i..<min(stream.count, i + n)])
            i += n
        }
        #expect(try split(chunks) == Self.iutFrames)
    }

    @Test func malformedBodiesAreTypedErrorsNamingTheField() {
        #expect(throws: AdapterError.self) { try IUTFrame.decode(type: 0x85, body: [0, 0, 0]) }
        #expect(throws: AdapterError.self) { try IUTFrame.decode(type: 0x82, body: [0]) }
        #expect(throws: AdapterError.self) { try IUTFrame.decode(type: 0x99, body: []) }
        #expect(throws: AdapterError.self) { try IUTFrame.decode(type: 0x81, body: [0, 1, 7, 1, 0, 9, 65]) }
        do {
            _ = try IUTFrame.decode(type: 0x84, body: [0x01, 0, 1])
            Issue.record("decoded a short COMPLETION")
        } catch {
            #expect(error.description.contains("descriptor") && error.offset == 3)
        }
    }

    @Test func randomBodiesNeverTrap() {
        var rng = SplitMix64(seed: 99)
        for _ in 0..<20_000 {
            let type = UInt8(0x80 + rng.below(10))
            _ = try? IUTFrame.decode(type: type, body: rng.bytes(Int(rng.below(40))))
            _ = try? KitFrame.decode(type: UInt8(rng.below(10)), body: rng.bytes(Int(rng.below(40))))
        }
        #expect(Bool(true), "reached the end without trapping")
    }

    @Test func splitterRefusesZeroAndOversizedLengths() {
        var s = FrameSplitter(maxFrame: 100)
        s.feed([0, 0, 0, 0])
        #expect(throws: FrameSplitter.Fault.zeroLength) { try s.next() }
        var t = FrameSplitter(maxFrame: 100)
        t.feed([0, 0, 1, 0, 1])
        #expect(throws: FrameSplitter.Fault.tooLarge(256)) { try t.next() }
    }
}

/// Misbehaving processes: each is a clean verdict naming the adapter rule, never a hang or a crash.
@Suite(.serialized) struct StdioTransportTests {
    static let limits = AdapterLimits(stepTimeout: .milliseconds(400))

    static func open(_ command: String) -> AdapterFailure? {
        let session = AdapterSession(transport: StdioTransport(shellCommand: command), limits: limits)
        defer { session.close() }
        do {
            _ = try session.open(role: .sanResponder, options: [])
            return nil
        } catch {
            return error
        }
    }

    @Test func exitDuringHandshake() {
        let f = Self.open("echo dying >&2; exit 3")
        #expect(f?.rule == .handshake)
        #expect(f?.detail.contains("exit status 3") == true, "\(String(describing: f)) stderr=\(f?.stderrTail ?? "")")
        #expect(f?.stderrTail.contains("dying") == true)
    }

    @Test func hangsWithoutAnswering() {
        let clock = ContinuousClock()
        let start = clock.now
        let f = Self.open("sleep 30")
        #expect(f?.rule == .handshake && f?.detail.contains("step deadline") == true, "\(String(describing: f))")
        #expect(clock.now - start < .seconds(5), "the kit did not wait for the sleeper")
    }

    @Test func writesGarbage() {
        let f = Self.open("printf '\\377\\377\\377\\377garbage'; sleep 5")
        #expect(f?.rule == .handshake && f?.detail.contains("over the") == true, "\(String(describing: f))")
    }

    @Test func floodsOutput() {
        let f = Self.open("yes")
        #expect(f?.rule == .handshake, "\(String(describing: f))")
    }

    @Test func commandThatDoesNotExist() {
        let f = Self.open("/nonexistent/iut --flag")
        #expect(f?.rule == .handshake, "\(String(describing: f))")
        #expect(f?.detail.contains("127") == true || f?.stderrTail.contains("not found") == true, "\(String(describing: f))")
    }
}
