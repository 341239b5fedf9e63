/// The rules a model applied while handling inputs, in order. Every verdict a model reaches is recorded
/// here under the rule that decides it; the union over a test suite is the catalog coverage, and the fuzz
/// engine uses the same record as its coverage signal.
public struct RuleTrace<ID: RuleIdentifier>: Sendable, Hashable {
    public private(set) var applied: [ID] = []

    public init() {}

    public mutating func note(_ id: ID) { applied.append(id) }

    public var distinct: Set<ID> { Set(applied) }

    public func contains(_ id: ID) -> Bool { applied.contains(id) }
}
