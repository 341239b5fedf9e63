import VigilCore

/// The node record of persistent-memory slot 2 (specs/adapter.md §7.1): "VFNR", version 1, flags (bit 0:
/// takeover disabled by the operator), two zero bytes, u32 generation, u32 CRC-32C of bytes 0-11, zeros
/// to 64 bytes. One codec for the oracle that judges it and the model node that writes it.
struct NodeRecord: Equatable {
    var generation: UInt32
    var disabled: Bool

    static let slot: UInt32 = 2

    init(generation: UInt32, disabled: Bool) {
        self.generation = generation
        self.disabled = disabled
    }

    /// nil unless the bytes hold a valid record.
    init?<C: Collection<UInt8>>(decoding bytes: C) {
        let b = Array(bytes)
        guard b.count >= 16, b[0..<4].elementsEqual("VFNR".utf8), b[4] == 1 else { return nil }
        func u32(_ i: Int) -> UInt32 { UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3]) }
        guard CRC32C.checksum(b[0..<12]) == u32(12) else { return nil }
        self.init(generation: u32(8), disabled: b[5] & 1 != 0)
    }

    var encoded: [UInt8] {
        var r: [UInt8] = Array("VFNR".utf8) + [1, disabled ? 1 : 0, 0, 0] + Self.bigEndian(generation)
        r += Self.bigEndian(CRC32C.checksum(r))
        return r + [UInt8](repeating: 0, count: 64 - r.count)
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> $0) } }
}
