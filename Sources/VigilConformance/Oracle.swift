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

/// The model of one role, as the runner uses it: it drives a case's stimuli into the IUT and checks each
/// reaction the moment it arrives. One oracle per role; the runner knows no protocol.
public protocol RoleOracle {
    var role: Role { get }
    /// The options of HELLO for this role.
    var helloOptions: [AdapterOption] { get }
    /// Runs one case (the IUT has just been reset) and returns its verdict. Adapter failures propagate.
    mutating func drive(_ script: Script, _ io: inout CaseIO) throws(AdapterFailure) -> Verdict
    /// What the case exercised in the model so far: the rule ids it applied, and the states, transitions
    /// and arithmetic (window position, wrap) it reached, each a short feature name. The fuzz engine's
    /// coverage signal.
    var coverage: Set<String> { get }
}

extension RoleOracle {
    public var coverage: Set<String> { [] }
}

/// A role whose cases are plain sequences of stimuli, each checked on its own: every line becomes one frame,
/// its reaction is checked, and nothing happens between lines.
public protocol StepwiseOracle: RoleOracle {
    /// The frame a stimulus line stands for.
    func frame(for line: Script.Line) throws(CaseError) -> KitFrame
    /// Feeds the stimulus to the model and checks the IUT's reaction; nil when the reaction is allowed.
    mutating func check(_ line: Script.Line, frame: KitFrame, reaction: Reaction) -> Divergence?
    /// The reaction as observation lines, for the transcript.
    func observations(_ reaction: Reaction, at time: VirtualTime) -> [Script.Line]
}

extension StepwiseOracle {
    public mutating func drive(_ script: Script, _ io: inout CaseIO) throws(AdapterFailure) -> Verdict {
        for line in script.lines where line.direction == .stimulus {
            let frame: KitFrame
            if let prepared = line.prepared as? PreparedStimulus {
                frame = prepared.frame
            } else {
                do {
                    frame = try self.frame(for: line)
                } catch {
                    return .error(CaseIO.scriptError(error))
                }
            }
            let reaction = try io.stimulate(frame, line: line)
            if io.recording { io.transcript.lines += observations(reaction, at: line.time) }
            if let why = reaction.refusal { return .notApplicable("the IUT refused line \(line.lineNumber): \(why)") }
            if let d = check(line, frame: frame, reaction: reaction) { return .fail(d) }
        }
        return .pass
    }
}

/// A stimulus a generator built as a frame, with its argument written only when asked for.
public struct PreparedStimulus: PreparedLine {
    public var frame: KitFrame
    private let write: @Sendable () -> String
    public init(_ frame: KitFrame, argument: @escaping @Sendable () -> String) {
        self.frame = frame
        self.write = argument
    }
    public var argument: String { write() }
}

/// What an oracle drives a case through: the session, and the transcript it writes as it goes.
public struct CaseIO {
    public let session: AdapterSession
    public var transcript: Script
    /// Whether the transcript is written (a fuzz run that passes needs no transcript; its evidence comes
    /// from replaying the minimized script with recording on).
    public var recording = true
    /// The line whose stimulus is being answered (for adapter failures).
    public private(set) var currentLine: Script.Line?
    /// How many stimuli one case may send (script lines and what the kit adds: time steps, deliveries, peer
    /// messages). A fabric that defeats a retry for ever (every barrier write corrupted, say) makes a
    /// conforming IUT retry for the whole of the case's virtual time; past the budget the case ends
    /// inconclusive instead of running for minutes. The longest case in the corpus needs about 115,000.
    public var budget = CaseIO.defaultBudget
    public static let defaultBudget = 250_000
    public private(set) var stimuli = 0
    /// Set when the budget ran out; the runner then reports the case inconclusive (not the IUT's failure).
    public private(set) var exhausted = false

    /// Sends a stimulus on behalf of `line` (recorded in the transcript with `argument`) and returns the reaction.
    public mutating func stimulate(_ frame: KitFrame, line: Script.Line, verb: String? = nil, argument: String? = nil) throws(AdapterFailure) -> Reaction {
        currentLine = line
        stimuli += 1
        if stimuli > budget {
            exhausted = true
            throw AdapterFailure(.quiesce, "the case ran past the kit's budget of \(budget) stimuli")
        }
        record(Script.Line(time: line.time, direction: .stimulus, verb: verb ?? line.verb, argument: argument ?? line.argument,
                           comment: line.comment))
        return try session.stimulate(frame)
    }

    /// Appends to the transcript when recording.
    public mutating func record(_ line: @autoclosure () -> Script.Line) {
        if recording { transcript.lines.append(line()) }
    }

    static func scriptError(_ error: CaseError) -> Divergence {
        Divergence(rule: "SCRIPT", citation: "specs/script.md", statement: "A case script is well formed.", step: error.line, time: .zero,
                   expected: "a valid stimulus", observed: error.message)
    }
}

extension Reaction {
    /// The IUT's ERROR, when it refused the stimulus.
    public var refusal: String? {
        for f in frames { if case .error(let why) = f { return why } }
        return nil
    }
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
