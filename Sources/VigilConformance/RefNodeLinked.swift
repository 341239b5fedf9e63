import RefNodeCore
import VigilAdapters
import VigilCore

/// The bundled sample implementation's C core, linked into the kit and driven by function call
/// (`--iut linked`): the same code as `refnode` behind stdio, without a process or pipes.
public final class LinkedRefNodeIUT: InProcessIUT {
    private let node: OpaquePointer
    private var collected: [IUTFrame] = []

    /// nil for an unknown mutant.
    public init?(mutant: String? = nil) {
        var err = [CChar](repeating: 0, count: 256)
        guard let n = rn_create(mutant, &err, err.count) else { return nil }
        node = n
    }

    deinit { rn_destroy(node) }

    /// Frames reach the C core as bytes and come back as bytes, decoded by the kit's codec.
    public var speaksBytes: Bool { true }

    public func handle(_ frame: KitFrame) -> [IUTFrame] {
        collected = []
        let (type, body) = frame.typeAndBody
        let context = Unmanaged.passUnretained(self).toOpaque()
        body.withUnsafeBufferPointer { b in
            _ = rn_handle(node, type, b.baseAddress, b.count, { ctx, type, body, length in
                guard let ctx else { return }
                let me = Unmanaged<LinkedRefNodeIUT>.fromOpaque(ctx).takeUnretainedValue()
                let bytes = body.map { Array(UnsafeBufferPointer(start: $0, count: length)) } ?? []
                // A frame the core got wrong shows up as an ERROR the kit reports, not a trap.
                me.collected.append((try? IUTFrame.decode(type: type, body: bytes)) ?? .error("undecodable frame type 0x\(String(type, radix: 16))"))
            }, context)
        }
        return collected
    }

    /// The mutant catalogue of the C core.
    public static var mutants: [(name: String, role: String, rule: String, description: String)] {
        (0..<rn_mutant_count()).map { i in
            (String(cString: rn_mutant_name(i)), String(cString: rn_mutant_role(i)), String(cString: rn_mutant_rule(i)),
             String(cString: rn_mutant_description(i)))
        }
    }
}
