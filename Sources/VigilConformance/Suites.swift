import VigilAdapters
import VigilCore

/// The suites and oracles the kit has, by role: the one place `vigil check`, `replay` and `corpus` ask.
public enum Suites {
    /// Roles whose oracle and suite exist.
    public static let roles: [Role] = [.sanResponder, .sanRequestor, .failoverNode]

    public static func cases(for role: Role) -> [Script] {
        switch role {
        case .sanResponder: return SANResponderSuite.cases
        case .sanRequestor: return SANRequestorSuite.cases
        case .failoverNode: return FailoverNodeSuite.cases
        }
    }

    public static func oracle(for role: Role) -> (() -> any RoleOracle)? {
        switch role {
        case .sanResponder: return { SANResponderOracle() }
        case .sanRequestor: return { SANRequestorOracle() }
        case .failoverNode: return { FailoverNodeOracle() }
        }
    }

    /// The kit's own model of a role, in-process (`--iut model`).
    public static func model(for role: Role) -> (() -> any InProcessIUT)? {
        switch role {
        case .sanResponder: return { ModelSANResponderIUT() }
        case .sanRequestor: return { ModelSANRequestorIUT() }
        case .failoverNode: return { ModelFailoverNodeIUT() }
        }
    }

    public static func fileName(_ script: Script) -> String { (script[header: "case"] ?? "case") + ".vgl" }
}
