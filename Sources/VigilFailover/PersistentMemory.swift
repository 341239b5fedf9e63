/// The persistent memory 113 of one node: what survives a crash. The world owns it; a node reads it at
/// boot and writes it through `NodeOutput.persist` (its own record) while the peer writes the SAN record
/// into it (FO-SAN-PERSISTENT-MEMORY).
public struct PersistentMemory: Sendable, Hashable {
    /// FO-GEN-PERSISTED: the generation of the node's current (or last) instantiation.
    public var generation: UInt32 = 0
    /// The state the node was in before an interruption (NORMAL or TAKEOVER), for step 253.
    public var lastState: NodeState = .normal
    /// FO-DISABLE-OPERATOR survives a reboot (step 257).
    public var operatorDisabledTakeover = false
    /// File server operations logged but not yet on disk (step 256).
    public var pendingOperations = 0
    /// False while the mirror with the peer's persistent memory is broken (FO-DISABLE-SYNC-ERROR).
    public var inSync = true
    /// The last SAN record the peer wrote here, as bytes (step 253 reads it).
    public var peerRecord: [UInt8]? = nil
    /// The node's own last message, copied here with each send (FO-SAVE-OWN-STATE).
    public var ownRecord: [UInt8]? = nil

    public init() {}
}

/// What the node writes into its own persistent memory.
public struct OwnStateRecord: Sendable, Hashable {
    public var generation: UInt32
    public var lastState: NodeState
    public var operatorDisabledTakeover: Bool

    public init(generation: UInt32, lastState: NodeState, operatorDisabledTakeover: Bool) {
        self.generation = generation
        self.lastState = lastState
        self.operatorDisabledTakeover = operatorDisabledTakeover
    }
}
