import VigilAdapters
import VigilCore

/// The generators per role, in one place: a whole case (script) from a seeded generator.
public enum Generators {
    /// A generated case of `role` with about `events` stimuli; nil when the role has no generator.
    public static func generate(_ role: Role, _ rng: inout SplitMix64, events: Int) -> Script? {
        switch role {
        case .sanResponder: SANGenerators.responderCase(&rng, events: events)
        case .sanRequestor: SANGenerators.requestorCase(&rng, events: max(4, events / 3))
        case .failoverNode: FailoverGenerators.nodeCase(&rng, events: max(4, events / 2))
        }
    }
}
