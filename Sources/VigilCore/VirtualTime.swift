/// A point in the kit's virtual time, in nanoseconds since the start of a run. Time enters a model only as
/// a value of this type; no model reads a clock.
public struct VirtualTime: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static let zero = VirtualTime(nanoseconds: 0)
    public static func microseconds(_ n: UInt64) -> VirtualTime { VirtualTime(nanoseconds: n * 1_000) }
    public static func milliseconds(_ n: UInt64) -> VirtualTime { VirtualTime(nanoseconds: n * 1_000_000) }
    public static func seconds(_ n: UInt64) -> VirtualTime { VirtualTime(nanoseconds: n * 1_000_000_000) }

    public static func < (lhs: VirtualTime, rhs: VirtualTime) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
    public static func + (lhs: VirtualTime, rhs: VirtualTime) -> VirtualTime {
        VirtualTime(nanoseconds: lhs.nanoseconds &+ rhs.nanoseconds)
    }

    /// "1.500000s": fixed six decimals so that scripts and reports are byte-for-byte stable.
    public var description: String {
        let micros = nanoseconds / 1_000
        let whole = micros / 1_000_000
        let frac = String(micros % 1_000_000)
        return "\(whole).\(String(repeating: "0", count: 6 - frac.count))\(frac)s"
    }
}
