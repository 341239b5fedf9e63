/// Arithmetic on the 8-bit VI sequence numbers.
///
/// US 6,545,981 col. 9: "If S is the number of bits in the sequence number, then the window size is
/// 2^(S-1)." With S = 8 the window is 128, and the responder's partition follows from it (rule
/// SAN-RSP-SEQ-PARTITION): the requestor never has more than 128 packets outstanding, so anything it can
/// still send lies between its oldest unacknowledged number B and its next number N, with N - B <= 128,
/// and the responder's expected number E lies in [B, N]. A packet numbered s is therefore
///
/// - expected when s == E;
/// - ahead (out of sequence) when (s - E) mod 256 is 1...127: at most N - 1 - E <= 127 ahead;
/// - a duplicate when (s - E) mod 256 is 128...255: it is 1...128 behind E (E - B <= 128).
///
/// The three classes cover all 256 distances, so every sequence number has exactly one meaning.
public enum SequenceNumber {
    public static let bits = 8
    public static let window = 1 << (bits - 1)

    public enum Class: String, Sendable, Hashable {
        case expected
        case ahead
        case duplicate
    }

    /// How a responder expecting `expected` classifies a request numbered `received`.
    public static func classify(_ received: UInt8, expected: UInt8) -> Class {
        let distance = received &- expected
        if distance == 0 { return .expected }
        return distance < UInt8(window) ? .ahead : .duplicate
    }
}
