import VigilCore

/// An implementation that runs inside the kit's process and answers frames by function call.
public protocol InProcessIUT: AnyObject {
    /// Handles one kit frame and returns the IUT's frames in answer (for a stimulus, ending with IDLE).
    func handle(_ frame: KitFrame) -> [IUTFrame]
    /// True when the implementation already takes and gives bytes (a C core behind a function call): its
    /// frames went through the codec on their way, and the transport need not encode them once more.
    var speaksBytes: Bool { get }
}

extension InProcessIUT {
    public var speaksBytes: Bool { false }
}

/// A transport to an in-process implementation: Swift implementations and the kit's own tests. The frames
/// still go through their byte encoding (here, or in the implementation when it `speaksBytes`), so the
/// in-process path checks the same codec as stdio.
public final class InProcessTransport: FrameTransport {
    private let make: () -> any InProcessIUT
    private var iut: (any InProcessIUT)?
    private var queue: [IUTFrame] = []

    public init(_ make: @escaping () -> any InProcessIUT) { self.make = make }

    public func start() throws(AdapterFailure) {
        iut = make()
        queue = []
    }

    public func send(_ frame: KitFrame) throws(AdapterFailure) {
        guard let iut else { throw AdapterFailure(.alive, "the in-process IUT is not started") }
        if iut.speaksBytes {
            queue.append(contentsOf: iut.handle(frame))
            return
        }
        let (t, b) = frame.typeAndBody
        guard let decoded = try? KitFrame.decode(type: t, body: b) else { throw AdapterFailure(.frame, "the kit built a frame it cannot decode") }
        for out in iut.handle(decoded) {
            let (ot, ob) = out.typeAndBody
            do {
                queue.append(try IUTFrame.decode(type: ot, body: ob))
            } catch {
                throw AdapterFailure(.frame, "malformed frame: \(error)")
            }
        }
    }

    public func receive(before deadline: ContinuousClock.Instant) throws(AdapterFailure) -> IUTFrame {
        guard !queue.isEmpty else { throw AdapterFailure(.quiesce, "nothing within the step deadline") }
        return queue.removeFirst()
    }

    public func stop() {
        iut = nil
        queue = []
    }

    public var stderrTail: String { "" }
}
