import VigilCore
import VigilFailover
import VigilSAN

/// A record decoded with the kit's own codecs, for `vigil pcap`: one line of text, or a JSON object.
public struct RecordDescription: Sendable, Hashable {
    public var number: Int
    public var record: CaptureRecord
    /// The decoded payload: SAN notation, the failover carrier's fields, the marker's text, or why the
    /// codec rejected the bytes.
    public var summary: String
    /// The fields as (name, value) pairs, for JSON; values are strings or integers written as strings.
    public var fields: [(String, String)]
    /// The record is part of a race capture (one with any node-B record): the text and JSON then name the
    /// node of each packet record, A or B. False for single-IUT captures, which print as they always did.
    public var race: Bool

    public static func == (a: RecordDescription, b: RecordDescription) -> Bool {
        a.number == b.number && a.record == b.record && a.summary == b.summary && a.race == b.race
    }
    public func hash(into h: inout Hasher) { h.combine(number); h.combine(record) }

    public init(number: Int, record: CaptureRecord, race: Bool = false) {
        self.number = number
        self.record = record
        self.race = race
        var fields: [(String, String)] = []
        switch record.proto {
        case .none:
            if let m = record.marker {
                summary = "DIVERGENCE \(m.rule): expected \(m.expected); observed \(m.observed)" + (m.citation.isEmpty ? "" : " [\(m.citation)]")
                fields = [("rule", m.rule), ("citation", m.citation), ("expected", m.expected), ("observed", m.observed)]
            } else {
                summary = "marker (unreadable)"
            }
        case .san:
            let packet = SANWirePacket(bytes: record.payload)
            summary = packet.notation
            fields = [("notation", summary)]
            if case .raw = packet {
                do { _ = try SANPacket.decode(record.payload) } catch {
                    summary += "  (\(error))"
                    fields.append(("error", "\(error)"))
                }
            }
        case .failover:
            let channel = Channel(rawValue: record.port) ?? .network
            do {
                let c = try Carriage(decoding: record.payload, channel: channel)
                let m = c.message
                summary = "\(channel) from=\(c.writer) state=\(m.state) gen=\(m.generation) seq=\(m.sequence) peer-gen=\(m.peerGeneration) peer-seq=\(m.peerSequence)"
                    + (m.flags.contains(.recovering) ? " recovering" : "") + (m.version != StatusMessage.currentVersion ? " version=\(m.version)" : "")
                fields = [("channel", "\(channel)"), ("writer", "\(c.writer)"), ("state", "\(m.state)"), ("generation", "\(m.generation)"),
                          ("sequence", "\(m.sequence)"), ("peer_generation", "\(m.peerGeneration)"), ("peer_sequence", "\(m.peerSequence)"),
                          ("recovering", m.flags.contains(.recovering) ? "true" : "false"), ("version", "\(m.version)")]
            } catch {
                summary = "\(channel) undecodable: \(error)"
                fields = [("channel", "\(channel)"), ("error", "\(error)")]
            }
        case .note:
            summary = "note: " + String(decoding: record.payload, as: UTF8.self)
            fields = [("note", String(decoding: record.payload, as: UTF8.self))]
        }
        self.fields = fields
    }

    var where_: String {
        switch record.proto {
        case .san: return "port=\(record.port)"
        case .failover, .note:
            var s = record.port == CaptureRecord.none ? "" : "channel=\(Channel(rawValue: record.port).map { "\($0)" } ?? "\(record.port)")"
            // On the san channel 0xFF is a device (the peer's persistent memory), elsewhere it means none.
            if record.device != CaptureRecord.none || (record.proto == .failover && record.port == Channel.san.rawValue) { s += (s.isEmpty ? "" : " ") + "device=\(record.device >= 0xFE ? "0x" + String(record.device, radix: 16) : "\(record.device)")" }
            return s
        case .none: return ""
        }
    }

    /// In a race, the node a packet record belongs to ("A" or "B"); nil for markers and outside races.
    public var node: String? {
        guard race, record.direction != .marker else { return nil }
        return record.flags.contains(.nodeB) ? "B" : "A"
    }

    /// `#3  0.000010s  to-IUT    san  port=0  line 6  did=0xB00 …`; in a race the node comes before the
    /// direction (`#3 0.100000s B < failover …`), the arrow then relative to that node.
    public var text: String {
        let arrow: String
        switch record.direction {
        case .toIUT: arrow = "> "
        case .fromIUT: arrow = "< "
        case .marker: arrow = "!!"
        }
        var flags: [String] = []
        if record.flags.contains(.undecodable) { flags.append("undecodable") }
        if record.flags.contains(.reconstructed) { flags.append("reconstructed") }
        let place = where_
        return "#\(number) \(record.time) \(node.map { $0 + " " } ?? "")\(arrow) \(record.direction == .marker ? "marker" : "\(record.proto)")" + (place.isEmpty ? "" : " \(place)")
            + (record.line > 0 ? " line=\(record.line)" : "") + (flags.isEmpty ? "" : " [\(flags.joined(separator: ","))]") + "  \(summary)"
    }

    /// One JSON object, keys in a fixed order so that the output is byte-stable.
    public var json: String {
        var pairs: [(String, String)] = [
            ("record", "\(number)"), ("time_ns", "\(record.time.nanoseconds)"),
        ]
        // Only race captures have the key, so that single-IUT output stays as it was.
        if race { pairs.append(("node", node.map { json($0) } ?? "null")) }
        pairs += [
            ("direction", json("\(record.direction)")),
            ("protocol", json("\(record.proto)")), ("port", "\(record.port)"), ("device", "\(record.device)"),
            ("line", "\(record.line)"), ("undecodable", record.flags.contains(.undecodable) ? "true" : "false"),
            ("reconstructed", record.flags.contains(.reconstructed) ? "true" : "false"), ("summary", json(summary)),
        ]
        pairs += fields.map { ($0.0, $0.1 == "true" || $0.1 == "false" ? $0.1 : json($0.1)) }
        return "{" + pairs.map { "\(json($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }

    private func json(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}

extension VigilPcap {
    /// Every record of the capture at `path`, decoded. A capture with any node-B record is a race's: each
    /// description then names its node.
    public static func describe(_ path: String) throws(CaptureError) -> [RecordDescription] {
        let records = try read(path)
        let race = records.contains { $0.flags.contains(.nodeB) }
        return records.enumerated().map { RecordDescription(number: $0.offset + 1, record: $0.element, race: race) }
    }
}
