import VigilAdapters
import VigilCore

/// A script line the oracle cannot turn into a stimulus: where and why.
public struct CaseError: Error, Hashable, Sendable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public init(line: Int, _ message: String) {
        self.line = line
        self.message = message
    }
    public var description: String { "line \(line): \(message)" }
}

/// The model of one role, as the runner uses it: it turns script lines into stimuli, and checks each
/// reaction of the IUT the moment it arrives. One oracle per role; the runner knows no protocol.
public protocol RoleOracle {
    var role: Role { get }
    /// The options of HELLO for this role.
    var helloOptions: [AdapterOption] { get }
    /// The frame a stimulus line stands for.
    func frame(for line: Script.Line) throws(CaseError) -> KitFrame
    /// Feeds the stimulus to the model and checks the IUT's reaction; nil when the reaction is allowed.
    mutating func check(_ line: Script.Line, frame: KitFrame, reaction: Reaction) -> Divergence?
    /// The reaction as observation lines, for the transcript.
    func observations(_ reaction: Reaction, at time: VirtualTime) -> [Script.Line]
}

/// Splits "key=value" tokens.
struct Arguments {
    var values: [String: String] = [:]
    var words: [String] = []

    init(_ text: Substring) {
        for token in text.split(separator: " ") {
            if let eq = token.firstIndex(of: "=") {
                values[String(token[..<eq])] = String(token[token.index(after: eq)...])
            } else {
                words.append(String(token))
            }
        }
    }

    func number<T: FixedWidthInteger>(_ key: String, line: Int) throws(CaseError) -> T {
        guard let text = values[key] else { throw CaseError(line: line, "\(key)= is missing") }
        let v: T? = text.hasPrefix("0x") ? T(text.dropFirst(2), radix: 16) : T(text)
        guard let v else { throw CaseError(line: line, "\(key)=\(text) is not a number in range") }
        return v
    }
}
