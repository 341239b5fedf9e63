import VigilAdapters
import VigilCore

/// One case's outcome: the verdict and the transcript (the stimuli sent and what the IUT did), which is
/// itself a script and replays the case.
public struct CaseResult: Sendable {
    public var id: String
    public var role: Role
    public var title: String
    public var rules: [String]
    public var verdict: Verdict
    public var transcript: Script
    public var wall: Duration
    /// The model features the case exercised (`RoleOracle.coverage`).
    public var coverage: Set<String> = []
    /// How many stimuli the case sent (`CaseIO.budget` bounds it).
    public var stimuli = 0
    /// Whether the case was cut short at its stimulus budget (its verdict is then inconclusive).
    public var budgetExhausted: Bool { stimuli > budget }
    public var budget = CaseIO.defaultBudget
}

/// Runs conformance cases (scripts) against an IUT through any transport, one oracle per case. The IUT is
/// restarted after a case that broke the conversation, so that the remaining cases still run.
public final class ConformanceRunner {
    public let role: Role
    public let limits: AdapterLimits
    private let makeTransport: () -> any FrameTransport
    private let makeOracle: () -> any RoleOracle
    private var session: AdapterSession?
    /// Set when the IUT could not be started or failed the handshake the first time it was asked to.
    public private(set) var startFailure: AdapterFailure?
    private var everOpened = false
    public private(set) var identity: IUTIdentity?

    public init(role: Role, limits: AdapterLimits = AdapterLimits(), transport: @escaping () -> any FrameTransport,
                oracle: @escaping () -> any RoleOracle) {
        self.role = role
        self.limits = limits
        self.makeTransport = transport
        self.makeOracle = oracle
    }

    deinit { session?.close() }

    private func openSession() throws(AdapterFailure) -> AdapterSession {
        if let session { return session }
        let s = AdapterSession(transport: makeTransport(), limits: limits)
        do {
            identity = try s.open(role: role, options: makeOracle().helloOptions)
        } catch {
            s.close()
            if !everOpened, startFailure == nil { startFailure = error }
            throw error
        }
        everOpened = true
        session = s
        return s
    }

    /// Runs one case. With `recording` off the transcript stays empty (fuzz runs that pass need none).
    public func run(_ script: Script, recording: Bool = true, budget: Int = CaseIO.defaultBudget) -> CaseResult {
        let clock = ContinuousClock()
        let start = clock.now
        let id = script[header: "case"] ?? "unnamed"
        let rules = (script[header: "rules"] ?? "").split(separator: " ").map(String.init)
        var transcript = Script(preface: script.preface, headers: script.headers)
        var oracle = makeOracle()
        var stimuli = 0
        func result(_ v: Verdict) -> CaseResult {
            CaseResult(id: id, role: role, title: script[header: "title"] ?? id, rules: rules, verdict: v, transcript: transcript,
                       wall: clock.now - start, coverage: oracle.coverage, stimuli: stimuli, budget: budget)
        }
        let session: AdapterSession
        do {
            session = try openSession()
            try session.reset()
        } catch {
            closeSession()
            return result(.error(error.divergence(at: nil)))
        }
        var io = CaseIO(session: session, transcript: transcript)
        io.recording = recording
        io.budget = budget
        let verdict: Verdict
        do {
            verdict = try oracle.drive(script, &io)
        } catch {
            transcript = io.transcript
            stimuli = io.stimuli
            if io.exhausted {
                // The IUT is still answering; the kit stopped. Nothing to blame, nothing to restart.
                let at = io.currentLine.map { "line \($0.lineNumber), \($0.time)" } ?? "the start"
                return result(.notApplicable("inconclusive: the case ran past the kit's budget of \(io.budget) stimuli at \(at) "
                    + "(the IUT and the simulated world kept exchanging packets, e.g. a retry that the script's faults defeat every time; "
                    + "bound the fault with count= or shorten @run)"))
            }
            closeSession()
            return result(.error(error.divergence(at: io.currentLine)))
        }
        transcript = io.transcript
        stimuli = io.stimuli
        return result(verdict)
    }

    public func closeSession() {
        session?.close()
        session = nil
    }
}

extension AdapterFailure {
    /// The conversation broke down while the kit was answering `line`: an ADAPTER-* divergence.
    func divergence(at line: Script.Line?) -> Divergence {
        Divergence(rule: rule.rawValue, citation: "specs/adapter.md", statement: rule.statement, step: line?.lineNumber ?? 0,
                   time: line?.time ?? .zero, expected: rule.expectation,
                   observed: detail + (stderrTail.isEmpty ? "" : "; stderr: " + String(stderrTail.suffix(400))))
    }
}

extension AdapterFailure.Rule {
    var statement: String {
        switch self {
        case .frame: return "Every byte the IUT writes on stdout belongs to a well-formed frame within the size limit."
        case .handshake: return "The IUT answers HELLO with HELLO-ACK (version 1, the role offered) within the step deadline."
        case .quiesce: return "The IUT answers every stimulus with IDLE within the step deadline, after at most the flood limit of frames."
        case .alive: return "The IUT does not exit before BYE."
        }
    }

    var expectation: String {
        switch self {
        case .frame: return "well-formed frames"
        case .handshake: return "HELLO-ACK"
        case .quiesce: return "IDLE within the step deadline"
        case .alive: return "the IUT alive until BYE"
        }
    }
}

import Dispatch
import Synchronization

extension ConformanceRunner {
    /// Runs `cases` on `jobs` IUT instances at once (each job its own runner and IUT), results in case
    /// order. `startFailure` is the first job's, when its IUT could not be started.
    public static func runAll(_ cases: [Script], jobs: Int, make: @Sendable @escaping () -> ConformanceRunner)
        -> (results: [CaseResult], startFailure: AdapterFailure?, identity: IUTIdentity?)
    {
        let n = max(1, min(jobs, cases.count))
        let slots = Mutex<[Int: CaseResult]>([:])
        let failure = Mutex<AdapterFailure?>(nil)
        let identity = Mutex<IUTIdentity?>(nil)
        let shared = UncheckedBox(cases)
        DispatchQueue.concurrentPerform(iterations: n) { job in
            let runner = make()
            defer { runner.closeSession() }
            for i in stride(from: job, to: shared.value.count, by: n) {
                let r = runner.run(shared.value[i])
                slots.withLock { $0[i] = r }
            }
            if let f = runner.startFailure { failure.withLock { if $0 == nil { $0 = f } } }
            if let id = runner.identity { identity.withLock { if $0 == nil { $0 = id } } }
        }
        let results = slots.withLock { s in (0..<cases.count).compactMap { s[$0] } }
        return (results, failure.withLock { $0 }, identity.withLock { $0 })
    }
}

/// Hands a value to concurrent jobs that only read it.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
