import VigilCore

/// Every rule of the SAN transport (US 6,545,981) the kit checks, one case per rule. Model code names
/// its verdicts with these cases; `rule` gives the catalog entry (statement, level, citation).
/// `specs/rules/san-rules.json` and `.md` are renderings of this table.
public enum SANRule: String, RuleIdentifier {
    // Wire format (model choices: the patent names the fields, not their bits)
    case wireLayout = "SAN-WIRE-LAYOUT"
    case wireCRC = "SAN-WIRE-CRC"
    case wireReserved = "SAN-WIRE-RESERVED"
    case wirePayloadLimit = "SAN-WIRE-PAYLOAD-LIMIT"
    case pathFour = "SAN-PATH-FOUR"
    case timeoutValues = "SAN-TIMEOUT-VALUES"

    // Sequence numbers, both sides
    case seqInit = "SAN-SEQ-INIT"

    // Responder: validity, access, sequence, responses, path state
    case rspValidDID = "SAN-RSP-VALID-DID"
    case rspValidLength = "SAN-RSP-VALID-LENGTH"
    case rspValidFabric = "SAN-RSP-VALID-FABRIC"
    case rspValidRequestCode = "SAN-RSP-VALID-REQCODE"
    case rspValidCRC = "SAN-RSP-VALID-CRC"
    case rspNoSuchVI = "SAN-RSP-NO-VI"
    case rspReqInPath = "SAN-RSP-REQINPATH"
    case rspRDMAAccess = "SAN-RSP-RDMA-ACCESS"
    case rspSeqPartition = "SAN-RSP-SEQ-PARTITION"
    case rspSeqExpected = "SAN-RSP-SEQ-EXPECTED"
    case rspSeqOrderedIncrement = "SAN-RSP-SEQ-ORDERED-INC"
    case rspSeqUnorderedHold = "SAN-RSP-SEQ-UNORDERED-HOLD"
    case rspSeqAheadDiscard = "SAN-RSP-SEQ-AHEAD-DISCARD"
    case rspSeqAheadNack = "SAN-RSP-SEQ-AHEAD-NACK"
    case rspDuplicateAck = "SAN-RSP-DUP-ACK"
    case rspDuplicateRead = "SAN-RSP-DUP-READ"
    case rspResponseCopySeq = "SAN-RSP-RESP-COPY-SEQ"
    case rspResponseFields = "SAN-RSP-RESP-FIELDS"
    case rspStrictOrder = "SAN-RSP-STRICT-ORDER"
    case rspPathBad = "SAN-RSP-SUP-PATH-BAD"
    case rspPathGood = "SAN-RSP-SUP-PATH-GOOD"
    case rspBarrierLocation = "SAN-RSP-SUP-BARRIER-LOC"

    // Requestor: generation, window, descriptors, routing, matching
    case reqHeader = "SAN-REQ-HEADER"
    case reqSeqOrderedIncrement = "SAN-REQ-SEQ-ORDERED-INC"
    case reqSeqUnorderedHold = "SAN-REQ-SEQ-UNORDERED-HOLD"
    case reqWindow = "SAN-REQ-WINDOW"
    case reqOutstanding = "SAN-REQ-OUTSTANDING"
    case reqDescriptorComplete = "SAN-REQ-DESC-COMPLETE"
    case reqPacketize = "SAN-REQ-PACKETIZE"
    case reqNDAL = "SAN-REQ-NDAL"
    case reqNDAA = "SAN-REQ-NDAA"
    case reqOrderedOnePath = "SAN-REQ-ORDERED-ONE-PATH"
    case reqUnorderedAnyPath = "SAN-REQ-UNORDERED-ANY-PATH"
    case reqNoBadPath = "SAN-REQ-NO-BAD-PATH"
    case reqTSNUnique = "SAN-REQ-TSN-UNIQUE"
    case reqResponseValid = "SAN-REQ-RESP-VALID"
    case reqMatch = "SAN-REQ-MATCH"
    case reqNackFailure = "SAN-REQ-NACK-FAIL"

    // Requestor: error recovery and path state
    case reqTimeout = "SAN-REQ-TIMEOUT"
    case reqNackRecovery = "SAN-REQ-NACK-RECOVERY"
    case reqBarrierAfterTimeout = "SAN-REQ-BARRIER-AFTER-TIMEOUT"
    case reqBarrierForm = "SAN-REQ-BARRIER-FORM"
    case reqBarrierFresh = "SAN-REQ-BARRIER-FRESH"
    case reqBarrierMatch = "SAN-REQ-BARRIER-MATCH"
    case reqBarrierMismatchRetry = "SAN-REQ-BARRIER-MISMATCH-RETRY"
    case reqBarrierEveryLane = "SAN-REQ-BARRIER-EVERY-LANE"
    case reqBarrierFailBad = "SAN-REQ-BARRIER-FAIL-BAD"
    case reqNotifyBeforeRetry = "SAN-REQ-NOTIFY-BEFORE-RETRY"
    case reqTransientSamePath = "SAN-REQ-TRANSIENT-SAME-PATH"
    case reqReprobe = "SAN-REQ-REPROBE"
    case reqRetransmitEarliest = "SAN-REQ-RETX-EARLIEST"
    case reqAllPathsBad = "SAN-REQ-ALL-PATHS-BAD"
    case reqSupervisoryTimeout = "SAN-REQ-SUP-TIMEOUT"
}
