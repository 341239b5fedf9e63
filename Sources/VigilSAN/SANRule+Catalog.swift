import VigilCore

extension SANRule {
    public var rule: Rule {
        let (level, statement, citations, rationale) = entry
        return Rule(id: rawValue, protocolName: "san", level: level, statement: statement, citations: citations,
                    rationale: rationale)
    }

    private func cite(
        _ column: Int?, _ lines: String?, _ section: String?, figure: String? = nil, claims: [Int] = [],
        _ quote: String
    ) -> Citation {
        Citation(patent: "US 6,545,981", column: column, lines: lines, section: section, figure: figure,
                 claims: claims, quote: quote)
    }

    // swiftlint:disable:next function_body_length cyclomatic_complexity
    private var entry: (RuleLevel, String, [Citation], String?) {
        switch self {
        // MARK: wire format
        case .wireLayout:
            return (.modelChoice,
                "Packets use the byte layout, field widths, bit positions, big-endian byte order and code values of specs/san-wire.md.",
                [cite(3, "39-42", "DESCRIPTION OF THE EMBODIMENTS",
                      "The first 3 bytes of a packet contain the Destination port's SNID or DID (destination port ID) field, a three bit Adaptive Control Bits (ACB) field and the fabric ID bit.")],
                "The patent names DID (20 bits), ACB (3), the fabric bit, the transaction type, SID, TSN, length, VI operation, sequence number (8 bits), VI id, immediate (32) or address (64), payload and CRC, but gives no other widths, no bit positions and no codes. specs/san-wire.md fixes them.")
        case .wireCRC:
            return (.modelChoice,
                "The last four bytes of every packet are the CRC-32C (Castagnoli) of all bytes before them, big-endian.",
                [cite(4, "10-11", "DESCRIPTION OF THE EMBODIMENTS", "The CRC field contains a checksum computed over the entire packet.")],
                "The patent does not name the polynomial. CRC-32C is widely implemented (iSCSI, SCTP) and detects all burst errors up to 32 bits.")
        case .wireReserved:
            return (.modelChoice,
                "Reserved bits and fields a packet type does not use are zero; a packet with one set is invalid and is discarded without a response.",
                [cite(3, "59-60", "DESCRIPTION OF THE EMBODIMENTS", "Payloads up to 512 bytes are supported and code space is reserved for future increases in payload size.")],
                "Strict decoding keeps the code space the patent reserves free for future use and gives the fuzzer a precise target.")
        case .wirePayloadLimit:
            return (.must,
                "A packet carries at most 512 bytes of payload; LEN values above 512 are reserved and make the packet invalid.",
                [cite(4, "8-9", "DESCRIPTION OF THE EMBODIMENTS", "The payload data field carries up to 512 bytes of data between requesters and responders")],
                nil)
        case .pathFour:
            return (.must,
                "Two ports per node give four paths per node pair, (requestor port, responder port); the ReqInPath vector has one bit per path.",
                [cite(4, "38-40", "Dual Ports and Ordering",
                      "ServerNet II end nodes can connect both their ports to a single network fabric so that there are up to four possible paths between ServerNet II end nodes."),
                 cite(10, "63-65", "Error Recovery and Path State",
                      "Each of the four bits corresponds to one of the four possible paths between the requestor's two ports and the responder's two ports.")],
                nil)
        case .timeoutValues:
            return (.modelChoice,
                "A request with no ACK or NACK within 10 ms of virtual time has timed out; a bad path is re-probed every 100 ms; these are the defaults of SANTimers and can be changed per run.",
                [cite(6, "51-52", "Response Packet", "If a valid ACK/NACK response is not received within the allotted time limit, a time-out error is reported.")],
                "The patent gives no values. 10 ms is long against a SAN round trip of microseconds and short enough that a recovery costs little virtual time.")

        // MARK: sequence numbers
        case .seqInit:
            return (.must,
                "When a VI is created, the requestor's and the responder's sequence numbers for it start at the same value, zero.",
                [cite(8, "59-62", "Sequence Number Initialization",
                      "When the VI is created, the requestor on one node and the respond on the remote node initialize their sequence numbers to a common value, zero is the preferred embodiment.")],
                nil)

        // MARK: responder validity
        case .rspValidDID:
            return (.must,
                "A request whose destination id is not the receiving port's SNID is invalid and is discarded without a response.",
                [cite(6, "8-10", "Receiving a Request Packet",
                      "When the request packet arrives at the destination node, the ServerNet II interface receiver checks its validity (e.g., must contain correct destination node ID,"),
                 cite(6, "15-16", "Receiving a Request Packet", "If the packet is invalid for any reason, the packet is discarded.")],
                nil)
        case .rspValidLength:
            return (.must,
                "A request whose length field disagrees with its size, or is above 512, or is truncated, is invalid and is discarded without a response.",
                [cite(6, "12-12", "Receiving a Request Packet", "the length is correct,")],
                nil)
        case .rspValidFabric:
            return (.must,
                "A request whose fabric bit differs from the receiving port's fabric is invalid and is discarded without a response.",
                [cite(6, "12-13", "Receiving a Request Packet",
                      "the Fabric bit in the packet matches the Fabric bit associated with the receiving port,")],
                nil)
        case .rspValidRequestCode:
            return (.must,
                "A packet whose transaction type, operation or adaptive control code is not a valid request (including responses sent to a responder and reserved bits set) is discarded without a response.",
                [cite(6, "14-14", "Receiving a Request Packet", "the request field encodes a valid request,")],
                nil)
        case .rspValidCRC:
            return (.must,
                "A packet whose CRC does not match its bytes is invalid and is discarded without a response.",
                [cite(6, "15-15", "Receiving a Request Packet", "and CRC must be good.)"),
                 cite(nil, nil, nil, claims: [4], "wherein the request packet is discarded if it is invalid.")],
                nil)
        case .rspNoSuchVI:
            return (.modelChoice,
                "A valid request for a VI the responder has not created gets a NACK with reason no-such-vi and changes nothing.",
                [cite(6, "27-28", "Response Packet", "A response is created based on the success (ACK response) or failure (NACK response) of the request packet.")],
                "The patent does not say what happens to a request for an unknown VI; a NACK tells the requestor at once instead of leaving it to time out.")
        case .rspReqInPath:
            return (.must,
                "A request from a source that is not the VI's peer, or arriving over a path whose ReqInPath bit is clear, is ignored: discarded without a response.",
                [cite(6, "22-24", "Receiving a Request Packet",
                      "the input port and Source ID of the packet are checked to ensure access to the particular VI is allowed on that input port from the particular Source."),
                 cite(11, "20-22", "Error Recovery and Path State",
                      "the destination disables a bit in a four bit field (ReqLnPath Vector), thereby ignoring incoming requests from that path.")],
                nil)
        case .rspRDMAAccess:
            return (.must,
                "An RDMA read or write of an address range not enabled for the VI is refused with a NACK (reason access-violation); memory is not touched and the sequence number does not move.",
                [cite(6, "20-22", "Receiving a Request Packet",
                      "if the request specifies an RDMA Read or Write, the address is checked to ensure access has been enabled for that particular VI.")],
                nil)

        // MARK: responder sequence checks
        case .rspSeqPartition:
            return (.modelChoice,
                "Relative to the expected number E, a request numbered s is expected when s = E, ahead when (s - E) mod 256 is 1-127, and a duplicate when it is 128-255.",
                [cite(9, "42-43", "Generating Sequence Numbers for Request Packets",
                      "If S is the number of bits in the sequence number, then the window size is  $2^{S-1}$ ."),
                 cite(9, "2-4", "Checking Sequence Numbers on Incoming Request Packets",
                      "The responder uses this comparison to determine if the packet is valid, if it is a duplicate of a packet already received, or if it is an out-of-sequence packet.")],
                "The patent gives the three classes and the window but not the boundary. With at most 128 packets outstanding, a resent packet is at most 128 behind E and a new one at most 127 ahead, so the partition is exact (see SequenceNumber.swift).")
        case .rspSeqExpected:
            return (.must,
                "A valid request carrying the expected sequence number is processed: it is acknowledged with an ACK and committed to memory (Send data to the receive queue in order, RDMA writes to memory, RDMA reads return their data).",
                [cite(9, "55-60", "Checking Sequence Numbers on Incoming Request Packets",
                      "the expected packet it is looking for (i.e., the packet's sequence number is the same as the sequence number maintained by the responder logic), in which case the responder processes the packet and if all other checks are passed, the packet is Acknowledged and committed to memory."),
                 cite(nil, nil, nil, claims: [7],
                      "creating an acknowledge (ACK) packet for a response transaction if the request packet is valid and the sequence number matching succeeds,")],
                nil)
        case .rspSeqOrderedIncrement:
            return (.must,
                "After accepting an expected ordered request the responder increments its sequence number (mod 256).",
                [cite(9, "60-61", "Checking Sequence Numbers on Incoming Request Packets",
                      "If the transaction is ordered, the responder increments its sequence number."),
                 cite(nil, nil, nil, claims: [7],
                      "incrementing the sequence number at the destination if the request transaction is ordered and the sequence number matching succeeds;")],
                nil)
        case .rspSeqUnorderedHold:
            return (.must,
                "After accepting an expected unordered request the responder leaves its sequence number unchanged.",
                [cite(9, "62-63", "Checking Sequence Numbers on Incoming Request Packets",
                      "If the transaction is unordered, the responder does not increment its sequence number;"),
                 cite(8, "8-9", "Ordering of RDMA Packets", "Sequence numbers do not increment for unordered packets.")],
                nil)
        case .rspSeqAheadDiscard:
            return (.must,
                "A request numbered ahead of the expected one is thrown away: nothing is committed, the VI keeps receiving, and the sequence number does not move.",
                [cite(10, "1-2", "Checking Sequence Numbers on Incoming Request Packets",
                      "The receive logic in the VI is not stopped and the responder does not increment its sequence number;")],
                nil)
        case .rspSeqAheadNack:
            return (.may,
                "A request numbered ahead of the expected one may be answered with a NACK whose reason is sequence-error (the preferred embodiment), or ignored.",
                [cite(9, "7-9", "Sequence Number Initialization",
                      "The responder can choose to return a 'sequence error NACK packet' or it can simply ignore the out-of-sequence packet."),
                 cite(9, "12-14", "Sequence Number Initialization",
                      "Generating a sequence error NACK packet is preferred as it forces the requester to start error recovery more quickly.")],
                nil)
        case .rspDuplicateAck:
            return (.must,
                "A duplicate request (numbered behind the expected one) is acknowledged with an ACK and its data thrown away: not stored again.",
                [cite(10, "3-5", "Checking Sequence Numbers on Incoming Request Packets",
                      "a duplicate packet (which is being resent because the requestor must not have received an earlier ACK) in which case the responder ACKs the packet and throws it away."),
                 cite(12, "14-16", nil, "The responder logic acknowledges and then ignores any packets that are resent if they have already been stored in the receive queue.")],
                nil)
        case .rspDuplicateRead:
            return (.must,
                "A duplicate RDMA read is executed again: its ACK carries the data read now.",
                [cite(10, "7-9", "Checking Sequence Numbers on Incoming Request Packets",
                      "If the request had been an RDMA Read, the responder completes the read operation and returns the data with a positive acknowledgment.")],
                nil)
        case .rspResponseCopySeq:
            return (.must,
                "Every ACK and NACK carries the sequence number of the request it answers.",
                [cite(10, "27-30", "Sequence Numbers on Response Packets",
                      "When generating either a positive or negative acknowledgment, the responder logic copies the incoming sequence number and uses it in the sequence number field of the acknowledgment.")],
                nil)
        case .rspResponseFields:
            return (.must,
                "A response goes to the request's source port (its DID is the request's SID), leaves by the port the request arrived on, copies the request's ACB, TSN, VI id and VI operation byte, and carries the responding port's SNID and fabric bit.",
                [cite(6, "31-32", "Response Packet",
                      "The source node ID from the request packet is used as the destination node ID for the response packet."),
                 cite(6, "41-42", "Response Packet", "The ACB field of the request packet is also duplicated for the response packet.")],
                "Which port the response leaves by and the copying of TSN, VI and the VI operation byte are model choices: the patent requires only that responses can be matched by them.")
        case .rspStrictOrder:
            return (.must,
                "The responder answers the requests of one VI in the order they arrive and commits their data in that order.",
                [cite(8, "33-36", "Ordering of Generated Response Packets at the Responder",
                      "The ServerNet II end node must respond to incoming Send requests and RDMA Write requests from a particular VI in strict order, and must write these packets to memory in strict order.")],
                nil)
        case .rspPathBad:
            return (.must,
                "On a path-bad supervisory message the responder clears that path's ReqInPath bit for every VI of the sending node (the barrier VI excepted) and then acknowledges the message.",
                [cite(11, "24-26", "Error Recovery and Path State",
                      "After the destination acknowledges the supervisory protocol message, indicating that the destination has disabled requests from the offending path,")],
                "That the bit is cleared for every VI of the node pair, and that the barrier VI keeps accepting on every path (otherwise no barrier could ever show a bad path good again), are model choices.")
        case .rspPathGood:
            return (.modelChoice,
                "On a path-good supervisory message the responder sets that path's ReqInPath bit again for every VI of the sending node and acknowledges the message.",
                [cite(10, "50-52", "Error Recovery and Path State",
                      "In FIG. 7, dashed lines represent Kernel to Kernel Supervisory Protocol messages that modify the remote node's state.")],
                "The patent says a bad path is used again once a barrier shows it good, and that supervisory messages change the remote path state, but names no message for it; path-good mirrors path-bad.")
        case .rspBarrierLocation:
            return (.modelChoice,
                "A barrier-location supervisory message names the VI and address barrier numbers are written to; the responder enables RDMA access to those eight bytes for that VI, exempts the VI from ReqInPath, and acknowledges.",
                [cite(11, "38-42", "Error Recovery and Path State",
                      "A number chosen from a large number space (either incrementing or pseudo random) is written to a fixed location (e.g. a page number agreed to, a priori, by the kernel agent-to-kernel agent Supervisory Protocol and either a fixed or random offset within the page).")],
                "The patent has the location agreed by the supervisory protocol but gives no message; this one carries the VI and the 64-bit address.")

        // MARK: requestor generation
        case .reqHeader:
            return (.must,
                "Every packet a node sends is well formed: its SID is the SNID of the port it leaves by, its fabric bit that port's, its DID the SNID of the peer port of the path, and its CRC correct.",
                [cite(5, "32-33", "Transaction and Packet Layers",
                      "The SID assigned to a packet always corresponds to the SNID of the port the packet originates from.")],
                nil)
        case .reqSeqOrderedIncrement:
            return (.must,
                "An ordered request carries the requestor's current sequence number, which is incremented (mod 256) after the packet is sent.",
                [cite(9, "17-20", "Generating Sequence Numbers for Request Packets",
                      "When transmitting ordered packets (i.e. transfers are on a specific source port to a specific destination port and the ACB specifies a specific lane) the request sequence number is incremented after each packet is sent."),
                 cite(nil, nil, nil, claims: [7], "wherein if the request transaction is ordered, the sequence number at the source is incremented;")],
                nil)
        case .reqSeqUnorderedHold:
            return (.must,
                "An unordered request carries the requestor's current sequence number, which is not incremented.",
                [cite(9, "21-24", "Generating Sequence Numbers for Request Packets",
                      "When transmitting unordered packets (i.e. multipathing is used and/or the ACB bits specify full link set adaptivity) the request sequence number is not incremented after such a packet is sent.")],
                nil)
        case .reqWindow:
            return (.must,
                "A requestor never has more than 128 packets outstanding on one VI, retransmissions included.",
                [cite(9, "40-41", "Generating Sequence Numbers for Request Packets",
                      "The sender guarantees to never exceed the window size number of packets outstanding per VI."),
                 cite(6, "55-56", "Response Packet", "The sliding window protocol allows the requestor to have up to 128 packets outstanding per VI."),
                 cite(12, "12-13", nil, "The requestor can restart up to WindowSize number of packets.")],
                nil)
        case .reqOutstanding:
            return (.must,
                "A packet stays outstanding until it and every packet sent before it on the VI are positively acknowledged.",
                [cite(9, "44-45", "Generating Sequence Numbers for Request Packets",
                      "A packet is outstanding until it and all its predecessors are acknowledged.")],
                nil)
        case .reqDescriptorComplete:
            return (.must,
                "A descriptor is marked done only when every packet it produced is positively acknowledged, and descriptors of a VI complete in the order they were posted.",
                [cite(9, "45-47", "Generating Sequence Numbers for Request Packets",
                      "The requestor does not mark a descriptor done until all packets requested by that descriptor are positively acknowledged."),
                 cite(7, "15-16", "Ordering of Send Packets Presented to Transaction Layer",
                      "VIA requires that Send descriptors for a particular VI be completed in order,")],
                nil)
        case .reqPacketize:
            return (.modelChoice,
                "A descriptor of N bytes becomes max(1, ceil(N / 512)) packets of 512 bytes, the last one shorter; packet k of an RDMA operation addresses the descriptor's address + 512k; the first packet has FIRST set and the last LAST.",
                [cite(12, "48-51", nil,
                      "In order for the KA to determine the appropriate sequence number, it must be aware of how the hardware packetizes data under any given combination of descriptors, data segments, page crossings etc.")],
                "The patent leaves packetization to the hardware; full 512-byte packets give FIG. 6's five packets for 2500 bytes.")
        case .reqNDAL:
            return (.may,
                "A descriptor sent ordered may be followed by the next descriptor as soon as its last packet is launched (NDAL).",
                [cite(8, "28-31", "Ordering of RDMA Packets",
                      "The VI can proceed to the next descriptor immediately after launching the last packet of a message that is sent strictly ordered (and hence used incrementing sequence numbers).")],
                nil)
        case .reqNDAA:
            return (.must,
                "After an unordered (multipath) RDMA descriptor, the next descriptor of the VI starts only when every packet of it has been positively acknowledged (NDAA).",
                [cite(8, "21-23", "Ordering of RDMA Packets",
                      "In other words, when multipathing is used to generate RDMA Read or Write requests, the hardware must operate in the NDAA mode."),
                 cite(7, "6-8", "Response Packet",
                      "When generating an unordered message, the requester must wait for completion of all acknowledgments to unordered packets before starting the next descriptor.")],
                nil)
        case .reqOrderedOnePath:
            return (.must,
                "Ordered packets of a VI all use one path and one deterministic lane (ACB naming a lane); the path changes only after it is declared bad.",
                [cite(7, "42-44", "Ordering of Send Packets Presented to Transaction Layer",
                      "The end node can restrict all the Send operations for a given VI to use the same source port, the same destination port, and a single adaptive path."),
                 cite(nil, nil, nil, claims: [2],
                      "wherein when the transaction is ordered the routing is deterministic preserving strict ordering of request, ACK and NACK packets by selecting a single path as the particular path.")],
                nil)
        case .reqUnorderedAnyPath:
            return (.may,
                "Unordered packets may use any good path and any lane, or link-set adaptive routing.",
                [cite(8, "9-10", "Ordering of RDMA Packets",
                      "The end node is free to use different source ports, destination ports and adaptive paths for the packets."),
                 cite(nil, nil, nil, claims: [3],
                      "wherein when the transaction is not ordered the routing is link set adaptive enabling dynamic change of request, ACK and NACK packet routing by selection of paths from a link set.")],
                nil)
        case .reqNoBadPath:
            return (.must,
                "A requestor sends no data request over a path it holds bad; only barriers probe a bad path.",
                [cite(11, "22-24", "Error Recovery and Path State",
                      "The requestor then stops using the bad path until a subsequent barrier transaction determines that the path is good."),
                 cite(nil, nil, nil, claims: [1], "wherein a failed path is not used.")],
                nil)
        case .reqTSNUnique:
            return (.must,
                "A requestor gives each outstanding request from a port a transaction serial number no other outstanding request from that port has.",
                [cite(5, "34-36", "Transaction and Packet Layers",
                      "The TSN can be used to help the port manage multiple outstanding requests and match the resulting responses uniquely to the appropriate request.")],
                "TSNs are per port (model choice): a response comes back to the port its request left by, so a TSN need be unique only among the outstanding requests of one port, and a retransmission sent from another port may carry the TSN an earlier transmission of the packet had. A retransmission from the same port gets a TSN no earlier transmission of the packet used there (model choice), so that a late answer to the earlier transmission cannot pass for the answer to the new one - unless that transmission has been flushed: once a barrier has succeeded, after it was sent, on every route it could have taken, no answer to it can still arrive (col. 11 ll. 43-46) and its TSN is free again (model choice).")
        case .reqResponseValid:
            return (.must,
                "A response that fails the validity checks (destination, length, fabric, codes, CRC) is discarded by the requestor.",
                [cite(6, "43-44", "Response Packet", "The response can be matched with the request using the TSN and the packet validity checks.")],
                nil)
        case .reqMatch:
            return (.must,
                "A response is matched to the outstanding request with the same source, VI, sequence number, operation and TSN; a response that matches none is discarded.",
                [cite(10, "31-34", "Sequence Numbers on Response Packets",
                      "The requestor logic matches incoming responses with the originating request by comparing the SourceID, VI number, Sequence number, transaction type, and transaction Serial Number (TSN) with that of the originating request."),
                 cite(12, "40-41", nil, "In this case, the TSNs are utilized by the requestor to match response packets to outstanding requests.")],
                "Because TSNs are per port (SAN-REQ-TSN-UNIQUE), the port a response arrives on is part of the match: a response on port 1 never matches a request sent from port 0 with the same TSN (model choice).")
        case .reqNackFailure:
            return (.must,
                "A NACK for a reason other than sequence-error reports the failure of its descriptor to the session layer; the VI then stops (model choice: it moves to an error state and its remaining descriptors fail).",
                [cite(6, "49-51", "Response Packet", "If a NACK response passes these tests, the end node reports the failure of the transaction to the session layer.")],
                "The failed descriptor completes with a remote error and the VI's later descriptors are aborted, in posting order; a later descriptor whose every packet was already positively acknowledged is done (SAN-REQ-DESC-COMPLETE) and completes successfully instead (model choice).")

        // MARK: requestor recovery
        case .reqTimeout:
            return (.must,
                "A request without an ACK or NACK within the time limit has timed out: error recovery starts and the path it used is suspect until a barrier shows it good.",
                [cite(11, "5-7", "Error Recovery and Path State",
                      "The requestor's view of the path state transitions from good to bad whenever the requestor fails to get an acknowledgment (either positive or negative) to a request."),
                 cite(nil, nil, nil, claims: [1],
                      "detecting a time-out error for failure within a predetermined time limit to receive at the source an acknowledge (ACK) packet or a negative-acknowledge (NACK) packet in response to the request packet,")],
                nil)
        case .reqNackRecovery:
            return (.must,
                "A sequence-error NACK starts error recovery: the requestor restarts at the earliest packet without a positive acknowledgement (a barrier first is allowed, not required).",
                [cite(10, "39-41", "Error Recovery and Path State",
                      "A time-out or NACK indicating a sequence number error, can cause the requestor's Kernel Agent to start error recovery."),
                 cite(12, "25-27", nil,
                      "The requestor resets its send engine to start generating packets at the one that failed to receive an ACK (in this case Rqst. SN=2).")],
                nil)
        case .reqBarrierAfterTimeout:
            return (.must,
                "After a time-out the requestor completes a barrier on the path before it sends anything else of the VI on that path.",
                [cite(11, "28-30", "Error Recovery and Path State",
                      "After a time-out error, the requestor attempts to bring the path back to a useful state by completing a barrier operation."),
                 cite(nil, nil, nil, claims: [1],
                      "performing a barrier transaction via the particular path to determine if the failure of the particular path is transient or permanent;")],
                nil)
        case .reqBarrierForm:
            return (.must,
                "A barrier is an RDMA write of the barrier number to the agreed location followed by an RDMA read of it, both on the barrier VI, unordered, on the route being flushed.",
                [cite(11, "36-37", "Error Recovery and Path State", "A VIA barrier operation is done with a RDMA Write followed by an RDMA Read.")],
                "That barriers use the VI named by the barrier-location message, unordered (so that they never move its sequence number), is a model choice.")
        case .reqBarrierFresh:
            return (.must,
                "Each barrier writes a number the requestor has not written in an earlier barrier of the run (64-bit space).",
                [cite(nil, nil, "SUMMARY OF THE INVENTION",
                      "the barrier transaction is performed by writing a number chosen from a large number space in a way that minimizes the probability of reusing the number in a short period of time.")],
                nil)
        case .reqBarrierMatch:
            return (.must,
                "A barrier whose read returns the number written succeeded: no request or response of the path can still arrive.",
                [cite(11, "43-46", "Error Recovery and Path State",
                      "If the read value matches the write value, then the barrier succeeded and there are guaranteed to be no more Send or RDMA request or response packets on that path between the requestor and responder.")],
                nil)
        case .reqBarrierMismatchRetry:
            return (.must,
                "A barrier whose read returns another number is tried again, with a fresh number.",
                [cite(11, "47-49", "Error Recovery and Path State",
                      "If the RDMA operation fails because the number read back does not match the number written, then the barrier is tried again.")],
                nil)
        case .reqBarrierEveryLane:
            return (.must,
                "Recovery barriers every route (path and lane) the failed traffic could have used: each lane of an adaptive route, each path of multipathed traffic.",
                [cite(11, "51-52", "Error Recovery and Path State",
                      "Note that the barrier needs to be done separately on all paths the RDMA operation could have taken."),
                 cite(11, "64-65", nil, "If a path traverses a \"fat-pipe\" a separate barrier must be sent down each lane of the fat pipe.")],
                nil)
        case .reqBarrierFailBad:
            return (.must,
                "A barrier that times out shows the failure permanent: the requestor marks the path bad.",
                [cite(11, "13-14", "Error Recovery and Path State", "If the barrier fails, the requestor must resort to a different good path."),
                 cite(nil, nil, nil, claims: [1], "if the failure is permanent, updating at the source the status for the particular path,")],
                nil)
        case .reqNotifyBeforeRetry:
            return (.must,
                "Before retrying on a different path the requestor sends path-bad over another good path and waits for its acknowledgement.",
                [cite(11, "14-16", "Error Recovery and Path State",
                      "Before the requestor can try a different good path, the requestor must inform the destination that the original path is bad."),
                 cite(11, "27-28", "Error Recovery and Path State",
                      "the requestor is free to retry the message on a different path.")],
                nil)
        case .reqTransientSamePath:
            return (.must,
                "When the recovery barriers succeed the failure was transient: the requestor retransmits on the same path.",
                [cite(11, "11-12", "Error Recovery and Path State",
                      "If the barrier succeeds, the path is considered good and the original operation can be retried."),
                 cite(nil, nil, nil, claims: [1], "re-transmitting the request packet via the particular path if the failure is transient;")],
                nil)
        case .reqReprobe:
            return (.must,
                "A bad path is probed with a barrier periodically; when one succeeds the requestor sends path-good and, once it is acknowledged, may use the path again.",
                [cite(nil, nil, nil, claims: [1],
                      "periodically repeating the barrier transaction via the particular path in order to determine if its failure is cured;")],
                "The path-good message and its acknowledgement are model choices (see SAN-RSP-SUP-PATH-GOOD).")
        case .reqRetransmitEarliest:
            return (.must,
                "Retransmission starts at the earliest packet without a positive acknowledgement and resends the outstanding packets in their original order, same sequence numbers and data.",
                [cite(12, "9-11", nil,
                      "After notification of the error, requestor retransmits the packets starting at (or before) the packet that failed to receive a positive acknowledgement."),
                 cite(12, "32-34", nil,
                      "The requestor resets its send engine to start generating packets at the one that failed to receive an ACK (in this case rqst.SN=1).")],
                "Restarting \"before\" the earliest unacknowledged packet would resend packets that are already released; the model allows resending acknowledged packets that are still outstanding, never released ones.")
        case .reqSupervisoryTimeout:
            return (.modelChoice,
                "A supervisory message without its acknowledgement within the time-out counts as a failed barrier on the path it travelled: that path is failed, and the message may be sent again over another good path.",
                [cite(11, "5-7", "Error Recovery and Path State",
                      "The requestor's view of the path state transitions from good to bad whenever the requestor fails to get an acknowledgment (either positive or negative) to a request.")],
                "The patent does not say what happens when the supervisory protocol itself gets no answer; without an agreed barrier location no barrier can test the path, so its silence is taken as the barrier's. A path-good message sent over the very path it restores, unanswered, is likewise a failed probe of that path: the path is bad again and is re-probed after the probe interval (model choice).")
        case .reqAllPathsBad:
            return (.modelChoice,
                "When recovery leaves no good path to the peer, the VI moves to an error state and its descriptors complete with an error.",
                [cite(10, "54-55", "Error Recovery and Path State",
                      "The requestor repeats these two basic steps on each path until the packet is transmitted successfully.")],
                "The patent does not say what happens when every path is bad. Model choices: the VI's queued descriptors complete in posting order with a path failure, except one whose every packet was already positively acknowledged, which is done (SAN-REQ-DESC-COMPLETE) and completes successfully with its data; reporting an acknowledged Send as failed would invite the consumer to deliver it twice. A path whose barrier failed while no path is good, suspect or restoring cannot have path-bad carried anywhere: the requestor holds it bad on its own (claim 1, \"updating at the source the status for the particular path\") and re-probes it periodically like any bad path (claim 1, \"periodically repeating the barrier transaction via the particular path\"); path-bad for it may be sent later over a good path, but is not required. A VI that waits to resend after a sequence-error NACK (its requestor having chosen barriers whose location could not be agreed) stops the same way once no path is good, suspect or restoring.")
        }
    }
}
