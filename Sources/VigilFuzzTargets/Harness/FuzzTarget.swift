import VigilAdapters
import VigilCore
import VigilEvidence
import VigilFailover
import VigilSAN

/// The libFuzzer targets, one executable each (`fuzz-NAME`, Sources/VigilFuzzTargets/NAME/Entry.swift).
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// `SANPacket.decode` (bytes): encode(decode(b)) == b, decode(encode(p)) == p, and the notation of
    /// what was received parses back to it.
    case sanPacket = "san-packet"
    /// `SANWirePacket(notation:)` (the bytes as UTF-8): notation(parse(t)) parses back to the same packet
    /// and is a fixed point; the packet's bytes (malformations applied) never trap and decode back to it.
    case sanNotation = "san-notation"
    /// `StatusMessage(decoding:)` and `Carriage(decoding:channel:)` on every channel: strict decoders,
    /// so encode(decode(b)) == b.
    case failover = "failover"
    /// `FrameSplitter` fed in chunks (sizes from the first byte) agrees with one fed everything at once,
    /// re-framing the frames gives back the bytes consumed, and each frame through `KitFrame.decode` and
    /// `IUTFrame.decode` survives encode → decode.
    case adapter = "adapter"
    /// `Script.parse` (the bytes as UTF-8): parse(text(parse(t))) == parse(t), and text is a fixed point.
    case script = "script"
    /// `CaptureRecord(decoding:)` on the bytes, and `VigilPcap.read(bytes:)` (libpcap over the bytes in
    /// memory): records re-encode to their bytes, and what was read, written again, reads back the same.
    case pcap = "pcap"

    /// One input. Never throws: refusals are fine, traps and broken laws are crashes.
    public func run(_ data: UnsafeBufferPointer<UInt8>) {
        let bytes = Array(data)
        switch self {
        case .sanPacket: Self.sanPacket(bytes)
        case .sanNotation: Self.sanNotation(bytes)
        case .failover: Self.failover(bytes)
        case .adapter: Self.adapter(bytes)
        case .script: Self.script(bytes)
        case .pcap: Self.pcap(bytes)
        }
    }

    /// The C entry point's body: `LLVMFuzzerTestOneInput(data, size)`.
    public func entry(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        run(UnsafeBufferPointer(start: size > 0 ? data : nil, count: data == nil ? 0 : size))
        return 0
    }

    // MARK: - SAN

    static func sanPacket(_ bytes: [UInt8]) {
        let t = FuzzTarget.sanPacket
        let received = SANWirePacket(bytes: bytes)
        let notation = received.notation
        let reparsed = try? SANWirePacket(notation: notation)
        law(reparsed == received, t, "notation '\(notation)' of received bytes \(preview(bytes)) parses to \(String(describing: reparsed))")
        guard case .packet(let packet, _) = received else { return }
        let encoded = packet.encode()
        law(encoded == bytes, t, "decode accepted \(preview(bytes)) but encodes it as \(preview(encoded))")
        let again = try? SANPacket.decode(encoded)
        law(again == packet, t, "decode(encode(p)) != p for \(preview(bytes))")
    }

    static func sanNotation(_ bytes: [UInt8]) {
        let t = FuzzTarget.sanNotation
        let text = String(decoding: bytes, as: UTF8.self)
        guard let wire = try? SANWirePacket(notation: text) else { return }
        let notation = wire.notation
        let reparsed: SANWirePacket
        do { reparsed = try SANWirePacket(notation: notation) } catch {
            law(false, t, "'\(text)' parses, but its notation '\(notation)' does not: \(error)")
            return
        }
        law(reparsed == wire, t, "'\(text)' → '\(notation)' → a different packet")
        law(reparsed.notation == notation, t, "notation is not a fixed point: '\(notation)' → '\(reparsed.notation)'")
        // The bytes, malformations applied, never trap; a packet without one that the codec accepts is
        // the same packet (a notation may describe values the codec refuses: a 600-byte payload, data on
        // an ACK to a send — scripts send such packets on purpose).
        let wireBytes = wire.bytes
        let back = SANWirePacket(bytes: wireBytes)
        if case .packet(let p, nil) = wire, case .packet(let q, _) = back {
            law(p == q, t, "'\(notation)' encodes to \(preview(wireBytes)), which decodes to '\(back.notation)'")
        }
        if case .raw(let raw) = wire { law(wireBytes == raw, t, "hex= bytes changed") }
    }

    // MARK: - Failover

    static func failover(_ bytes: [UInt8]) {
        let t = FuzzTarget.failover
        if let m = try? StatusMessage(decoding: bytes) {
            law(m.encoded() == bytes, t, "status message \(preview(bytes)) re-encodes as \(preview(m.encoded()))")
            law((try? StatusMessage(decoding: m.encoded())) == m, t, "decode(encode(m)) != m")
        }
        if let m = try? StatusMessage(decoding: bytes, allowTrailing: true) {
            law(m.encoded() == Array(bytes.prefix(StatusMessage.size)), t, "status message with trailing bytes re-encodes differently")
        }
        if bytes.count > 8, let m = try? StatusMessage(decoding: bytes, at: 8, allowTrailing: true) {
            law(m.encoded() == Array(bytes[8..<(8 + StatusMessage.size)]), t, "status message at 8 re-encodes differently")
        }
        for channel in Channel.allCases {
            guard let c = try? Carriage(decoding: bytes, channel: channel) else { continue }
            let encoded = c.encoded()
            law(encoded == bytes, t, "\(channel) carrier \(preview(bytes)) re-encodes as \(preview(encoded))")
            law((try? Carriage(decoding: encoded, channel: channel)) == c, t, "\(channel): decode(encode(c)) != c")
        }
    }

    // MARK: - Adapter frames

    /// Chunk sizes the splitter is fed in, cycled from an offset the first input byte picks.
    static let chunkSizes = [1, 3, 4, 5, 2, 7, 16, 1, 64, 9, 1, 2, 255, 6, 4096, 11]

    static func adapter(_ input: [UInt8]) {
        let t = FuzzTarget.adapter
        guard let control = input.first else { return }
        let stream = Array(input.dropFirst())
        // Bit 7: a small frame limit, to reach the too-large refusal with short inputs.
        let maxFrame = control & 0x80 != 0 ? 64 : AdapterProtocol.defaultMaxFrame

        var whole = FrameSplitter(maxFrame: maxFrame)
        whole.feed(stream)
        var wholeFrames: [(type: UInt8, body: [UInt8])] = []
        var wholeFault: FrameSplitter.Fault? = nil
        drain(&whole, into: &wholeFrames, fault: &wholeFault)

        var chunked = FrameSplitter(maxFrame: maxFrame)
        var chunkedFrames: [(type: UInt8, body: [UInt8])] = []
        var chunkedFault: FrameSplitter.Fault? = nil
        var i = 0, k = Int(control & 0x7F)
        while i < stream.count, chunkedFault == nil {
            let n = chunkSizes[k % chunkSizes.count]
            k += 1
            let end = min(stream.count, i + n)
            chunked.feed(stream[i..<end])
            i = end
            drain(&chunked, into: &chunkedFrames, fault: &chunkedFault)
        }
        law(chunkedFault == wholeFault, t, "fault fed whole \(String(describing: wholeFault)), fed in chunks \(String(describing: chunkedFault))")
        law(chunkedFrames.count == wholeFrames.count
                && zip(chunkedFrames, wholeFrames).allSatisfy { $0.type == $1.type && $0.body == $1.body },
            t, "\(wholeFrames.count) frames fed whole, \(chunkedFrames.count) fed in chunks")
        if wholeFault == nil { law(chunked.pending == whole.pending, t, "pending \(whole.pending) vs \(chunked.pending)") }

        // The frames, framed again, are the bytes the splitter consumed.
        var reframed: [UInt8] = []
        for f in wholeFrames { reframed += Framing.encode(type: f.type, body: f.body) }
        law(reframed.elementsEqual(stream.prefix(reframed.count)), t, "re-framed frames differ from the stream")
        if wholeFault == nil { law(reframed.count + whole.pending == stream.count, t, "consumed + pending != stream") }

        for f in wholeFrames {
            if let kit = try? KitFrame.decode(type: f.type, body: f.body) {
                let (type, body) = kit.typeAndBody
                law(type == f.type, t, "kit frame 0x\(String(f.type, radix: 16)) re-encodes as type 0x\(String(type, radix: 16))")
                law((try? KitFrame.decode(type: type, body: body)) == kit, t, "kit frame \(kit): decode(encode) differs")
                var s = FrameSplitter()
                s.feed(Framing.encode(kit))
                law((try? s.next()).flatMap { $0 }.map { $0.type == type && $0.body == body } == true, t, "kit frame framing")
            }
            if let iut = try? IUTFrame.decode(type: f.type, body: f.body) {
                let (type, body) = iut.typeAndBody
                law(type == f.type, t, "IUT frame 0x\(String(f.type, radix: 16)) re-encodes as type 0x\(String(type, radix: 16))")
                law((try? IUTFrame.decode(type: type, body: body)) == iut, t, "IUT frame \(iut): decode(encode) differs")
            }
        }
    }

    static func drain(_ s: inout FrameSplitter, into frames: inout [(type: UInt8, body: [UInt8])], fault: inout FrameSplitter.Fault?) {
        while true {
            do {
                guard let f = try s.next() else { return }
                frames.append(f)
            } catch {
                fault = error
                return
            }
        }
    }

    // MARK: - Scripts

    static func script(_ bytes: [UInt8]) {
        let t = FuzzTarget.script
        let text = String(decoding: bytes, as: UTF8.self)
        guard let parsed = try? Script.parse(text) else { return }
        let written = parsed.text
        let reparsed: Script
        do { reparsed = try Script.parse(written) } catch {
            law(false, t, "parses, but its text does not (\(error)):\n\(written)")
            return
        }
        law(reparsed == parsed, t, "parse(text(parse(t))) != parse(t); text:\n\(written)")
        law(reparsed.text == written, t, "text is not a fixed point:\n\(written)")
    }

    // MARK: - Captures

    static func pcap(_ bytes: [UInt8]) {
        let t = FuzzTarget.pcap
        if let record = try? CaptureRecord(decoding: bytes) {
            law(record.encoded() == bytes, t, "record \(preview(bytes)) re-encodes as \(preview(record.encoded()))")
            if let marker = record.marker, [marker.rule, marker.citation, marker.expected, marker.observed].allSatisfy({ $0.utf8.count <= Marker.fieldLimit }) {
                law((try? Marker(decoding: marker.encoded())) == marker, t, "marker: decode(encode(m)) != m")
            }
        }
        guard let records = try? VigilPcap.read(bytes: bytes) else { return }
        for r in records {
            law((try? CaptureRecord(decoding: r.encoded())) == r, t, "a record read from the capture does not re-decode")
        }
        // What was read, written again, reads back the same (through a file: the writer writes files).
        let path = scratchFile
        do {
            try VigilPcap.write(records, to: path)
            let back = try VigilPcap.read(path)
            law(back == records, t, "\(records.count) records read; written and read again: \(back.count), different")
        } catch {
            law(false, t, "records read from a capture cannot be written and read back: \(error)")
        }
    }

    nonisolated(unsafe) static var scratchFileStorage: String? = nil
    static var scratchFile: String {
        if let s = scratchFileStorage { return s }
        let dir = Environment.get("TMPDIR") ?? "/tmp"
        let s = "\(dir)/vigil-libfuzz-pcap-\(Environment.pid).pcap"
        scratchFileStorage = s
        return s
    }
}
