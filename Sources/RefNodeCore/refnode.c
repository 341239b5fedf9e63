/* The node: frame dispatch (specs/adapter.md), handshake, reset, virtual time, and the mutant
   catalogue. The roles live in san_responder.c, san_requestor.c and failover.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rn_internal.h"

int rn_version(void) { return RN_ADAPTER_VERSION; }

/* ---- mutant catalogue --------------------------------------------------------------------- */

typedef struct { int id; const char *name, *role, *rule, *description; } rn_mutant;

static const rn_mutant mutants[] = {
    { M_RSP_PLAIN_COMPARE, "rsp-plain-compare", "san-responder", "SAN-RSP-DUP-ACK",
      "classifies sequence numbers with plain < and > instead of modulo 256, so duplicates across the wrap are NACKed as ahead" },
    { M_RSP_WINDOW_OFF_BY_ONE, "rsp-window-off-by-one", "san-responder", "SAN-RSP-DUP-ACK",
      "treats a request 128 behind the expected number as ahead (window 1-128) and NACKs that duplicate" },
    { M_RSP_INC_UNORDERED, "rsp-inc-unordered", "san-responder", "SAN-RSP-SEQ-EXPECTED",
      "increments the expected sequence number after an unordered request too, so the next request, which carries the expected number, is taken for a duplicate and not delivered" },
    { M_RSP_NACK_DUPLICATES, "rsp-nack-duplicates", "san-responder", "SAN-RSP-DUP-ACK",
      "answers a duplicate request with a sequence-error NACK instead of an ACK" },
    { M_RSP_DUP_READ_NOT_REEXECUTED, "rsp-dup-read-not-reexecuted", "san-responder", "SAN-RSP-DUP-READ",
      "acknowledges a duplicate RDMA read like any duplicate, without reading again (ACK carries no data)" },
    { M_RSP_NACK_WRONG_SEQ, "rsp-nack-wrong-seq", "san-responder", "SAN-RSP-RESP-COPY-SEQ",
      "puts the expected sequence number instead of the request's into a sequence-error NACK" },
    { M_RSP_ACCEPT_BAD_PATH, "rsp-accept-bad-path", "san-responder", "SAN-RSP-REQINPATH",
      "accepts requests arriving over a path whose ReqInPath bit was cleared by path-bad" },
    { M_RSP_SKIP_CRC, "rsp-skip-crc", "san-responder", "SAN-RSP-VALID-CRC",
      "does not check the CRC of incoming packets" },
    { M_RSP_SKIP_FABRIC, "rsp-skip-fabric", "san-responder", "SAN-RSP-VALID-FABRIC",
      "does not compare the packet's fabric bit with the receiving port's" },
    { M_RSP_RDMA_BOUND_OFF_BY_ONE, "rsp-rdma-bound-off-by-one", "san-responder", "SAN-RSP-RDMA-ACCESS",
      "RDMA range check lets an access end one byte past the enabled region" },
    { M_RSP_PATH_BAD_FIRST_VI_ONLY, "rsp-path-bad-first-vi-only", "san-responder", "SAN-RSP-REQINPATH",
      "path-bad clears the ReqInPath bit of the first VI only (SAN-RSP-SUP-PATH-BAD), so the other VIs still accept requests over the bad path" },
    { M_RSP_REPLY_PORT0, "rsp-reply-port0", "san-responder", "SAN-RSP-RESP-FIELDS",
      "sends every response out of port 0 instead of the port the request arrived on" },

    { M_REQ_EXCEED_WINDOW, "req-exceed-window", "san-requestor", "SAN-REQ-WINDOW",
      "window check uses <= 128, letting 129 packets be outstanding on a VI" },
    { M_REQ_INC_UNORDERED, "req-inc-unordered", "san-requestor", "SAN-REQ-SEQ-UNORDERED-HOLD",
      "increments the sequence number after unordered packets too" },
    { M_REQ_COMPLETE_ON_LAST_ACK, "req-complete-on-last-ack", "san-requestor", "SAN-REQ-DESC-COMPLETE",
      "completes a descriptor when its last packet is acknowledged, without waiting for the others" },
    { M_REQ_RETX_FROM_NACKED, "req-retx-from-nacked", "san-requestor", "SAN-REQ-RETX-EARLIEST",
      "after a sequence-error NACK retransmits from the NACKed packet, not the earliest unacknowledged one" },
    { M_REQ_BARRIER_NUMBER_REUSED, "req-barrier-number-reused", "san-requestor", "SAN-REQ-BARRIER-FRESH",
      "never advances the barrier number, so every barrier writes the same value" },
    { M_REQ_RETRY_BEFORE_SUP_ACK, "req-retry-before-sup-ack", "san-requestor", "SAN-REQ-NOTIFY-BEFORE-RETRY",
      "sends path-bad and retries on another path at once, without waiting for the acknowledgement" },
    { M_REQ_NO_BARRIER_AFTER_TIMEOUT, "req-no-barrier-after-timeout", "san-requestor", "SAN-REQ-BARRIER-AFTER-TIMEOUT",
      "after a time-out retransmits on the same path without a barrier first" },
    { M_REQ_NO_NDAA, "req-no-ndaa", "san-requestor", "SAN-REQ-NDAA",
      "starts the next descriptor as soon as an unordered descriptor is launched (NDAL instead of NDAA)" },
    { M_REQ_MATCH_IGNORES_TSN, "req-match-ignores-tsn", "san-requestor", "SAN-REQ-RETX-EARLIEST",
      "matches responses without comparing the TSN, so a stale response to an earlier transmission counts; the packet it wrongly takes as acknowledged is then skipped when recovery resends from the earliest unacknowledged one" },
    { M_REQ_UNORDERED_ON_BAD_PATH, "req-unordered-on-bad-path", "san-requestor", "SAN-REQ-NO-BAD-PATH",
      "spreads unordered packets over all four paths without skipping paths held bad" },

    { M_FO_GEN_NOT_INCREMENTED, "fo-gen-not-incremented", "failover-node", "FO-GEN-INCREMENT-AT-BOOT",
      "boots with the generation read from persistent memory without incrementing it" },
    { M_FO_GEN_NOT_PERSISTED, "fo-gen-not-persisted", "failover-node", "FO-GEN-PERSISTED",
      "increments the generation at boot but never writes it back to persistent memory" },
    { M_FO_NEWNESS_SEQ_FIRST, "fo-newness-seq-first", "failover-node", "FO-MSG-NEWNESS",
      "the newness rule compares the sequence number before the generation" },
    { M_FO_PER_CHANNEL_NEWNESS, "fo-per-channel-newness", "failover-node", "FO-MSG-MERGED-STREAM",
      "applies the newness rule per channel, so the same message is processed once per channel" },
    { M_FO_TAKEOVER_ONE_CHANNEL, "fo-takeover-one-channel", "failover-node", "FO-TAKEOVER-SILENCE",
      "decides the peer is down when any one channel is silent instead of all of them" },
    { M_FO_TAKEOVER_NO_ANNOUNCE, "fo-takeover-no-announce", "failover-node", "FO-213-SEND-TAKEOVER",
      "step 213 waits and reserves without first sending TAKEOVER on the channels" },
    { M_FO_TAKEOVER_NO_WAIT, "fo-takeover-no-wait", "failover-node", "FO-213-WAIT",
      "step 213 reserves the peer's disks right after sending TAKEOVER, without the wait" },
    { M_FO_IGNORE_DISABLE, "fo-ignore-disable", "failover-node", "FO-DISABLE-OPERATOR",
      "records the operator's DISABLE but the takeover decision does not consult it" },
    { M_FO_IGNORE_PEER_DISABLE, "fo-ignore-peer-disable", "failover-node", "FO-DISABLE-PEER-MESSAGE",
      "a new peer message with DISABLE or NO-TAKEOVER does not disable takeover" },
    { M_FO_WRITE_AFTER_TAKEOVER, "fo-write-after-takeover", "failover-node", "FO-CLAIM14-STOP-WRITING",
      "treats a new peer message with TAKEOVER like NORMAL and keeps writing instead of stopping" },
    { M_FO_GIVEBACK_NO_RELEASE, "fo-giveback-no-release", "failover-node", "FO-222-RELEASE",
      "giveback sends NORMAL without releasing the reservations of the peer's disks" },
    { M_FO_MAILBOX_ONE_DISK, "fo-mailbox-one-disk", "failover-node", "FO-MAILBOX-TWO-DISKS",
      "writes each status message to the first mailbox disk only" },
    { M_FO_SKIP_CRC, "fo-skip-crc", "failover-node", "FO-WIRE-INTEGRITY",
      "accepts status messages without checking their CRC-32C" },
    { M_FO_SILENCE_SINGLE_TIMEOUT, "fo-silence-single-timeout", "failover-node", "FO-SILENCE-MULTIPLE",
      "declares the peer down after one time-out of silence on every channel, not the multiple" },
};

#define N_MUTANTS (sizeof mutants / sizeof mutants[0])

size_t rn_mutant_count(void) { return N_MUTANTS; }
const char *rn_mutant_name(size_t i) { return i < N_MUTANTS ? mutants[i].name : NULL; }
const char *rn_mutant_role(size_t i) { return i < N_MUTANTS ? mutants[i].role : NULL; }
const char *rn_mutant_rule(size_t i) { return i < N_MUTANTS ? mutants[i].rule : NULL; }
const char *rn_mutant_description(size_t i) { return i < N_MUTANTS ? mutants[i].description : NULL; }

/* ---- create / destroy --------------------------------------------------------------------- */

rn_node *rn_create(const char *mutant, char *err, size_t errlen) {
    int id = M_NONE;
    if (mutant && *mutant) {
        for (size_t i = 0; i < N_MUTANTS; i++)
            if (strcmp(mutant, mutants[i].name) == 0) id = mutants[i].id;
        if (id == M_NONE) {
            if (err && errlen) snprintf(err, errlen, "unknown mutant '%s' (see --list-mutants)", mutant);
            return NULL;
        }
    }
    rn_node *n = calloc(1, sizeof *n);
    if (!n) {
        if (err && errlen) snprintf(err, errlen, "out of memory");
        return NULL;
    }
    n->mutant = id;
    return n;
}

static void drop_roles(rn_node *n) {
    rsp_destroy(n);
    req_destroy(n);
    fo_destroy(n);
}

void rn_destroy(rn_node *n) {
    if (!n) return;
    drop_roles(n);
    free(n);
}

void rn_set_udp_ports(rn_node *n, const uint8_t *ports, const uint16_t *udp, size_t count) {
    if (!n) return;
    if (count > 4) count = 4;
    n->udp_count = count;
    for (size_t i = 0; i < count; i++) { n->udp_port_id[i] = ports[i]; n->udp_port[i] = udp[i]; }
}

/* ---- emitting ----------------------------------------------------------------------------- */

void emit_frame(rn_node *n, uint8_t type, const uint8_t *body, size_t len) {
    if (n->out.emit) n->out.emit(n->out.ctx, type, body, len);
}

void emit_error(rn_node *n, const char *reason) {
    size_t l = strlen(reason);
    if (l > 1000) l = 1000;
    uint8_t b[1002];
    put_be16(b, (uint16_t)l);
    memcpy(b + 2, reason, l);
    emit_frame(n, RN_ERROR, b, l + 2);
}

void emit_packet(rn_node *n, uint8_t port, const uint8_t *pkt, size_t len) {
    uint8_t b[1 + 600];
    if (len > 600) return;
    b[0] = port;
    memcpy(b + 1, pkt, len);
    emit_frame(n, RN_OUT_PACKET, b, len + 1);
}

void emit_san(rn_node *n, uint8_t port, san_pkt *p) {
    uint8_t b[SAN_MAX_PACKET + 8];
    p->sid = n->san.port[port & 1];
    p->fabric = (n->san.fabrics >> (port & 1)) & 1;   /* SAN-REQ-HEADER: the leaving port's fabric */
    size_t len = san_encode(p, b);
    emit_packet(n, port & 1, b, len);
}

static void emit_idle(rn_node *n) {
    uint64_t next = RN_NEVER;
    if (n->reset_done) {
        if (n->role == ROLE_REQUESTOR) next = req_next(n);
        else if (n->role == ROLE_FAILOVER) next = fo_next(n);
    }
    uint8_t b[12];
    put_be64(b, next);
    put_be32(b + 8, 0);
    emit_frame(n, RN_IDLE, b, 12);
}

/* ---- handshake ---------------------------------------------------------------------------- */

static void default_config(rn_node *n) {
    /* Used when HELLO carries no SAN-NODE / SAN-TIMERS / FO-* options. */
    n->san.port[0] = 0x00A00; n->san.port[1] = 0x00A01;
    n->san.peer[0] = 0x00B00; n->san.peer[1] = 0x00B01;
    n->san.fabrics = 0;
    n->san.response_timeout = 10000000ull;     /* 10 ms, SAN-TIMEOUT-VALUES */
    n->san.probe_interval = 100000000ull;      /* 100 ms */
    n->san.have_barrier = false;
    n->san.barrier_vi = 0xFFFF;
    n->san.barrier_address = 0;
    n->fo.slot = 0;
    n->fo.system_id = 0x5649474C00000000ull | 1;
    n->fo.status_period = 100000000ull;        /* FO-STATUS-PERIOD */
    n->fo.timeout[CH_MAILBOX] = 2500000000ull; /* FO-TIMEOUT-PER-CHANNEL */
    n->fo.timeout[CH_SAN] = 500000000ull;
    n->fo.timeout[CH_NET] = 1000000000ull;     /* FO-TIMEOUT-NETWORK */
    n->fo.silence_multiple = 2;                /* FO-SILENCE-MULTIPLE */
    n->fo.takeover_wait = 1000000000ull;       /* FO-213-WAIT-DURATION */
}

static int handle_hello(rn_node *n, rn_rd *r) {
    uint16_t version = rd_u16(r);
    uint8_t role = rd_u8(r), clock = rd_u8(r), packets = rd_u8(r);
    (void)version; (void)clock;
    if (r->bad) { emit_error(n, "HELLO: truncated"); return -1; }
    if (role < ROLE_RESPONDER || role > ROLE_FAILOVER) { emit_error(n, "HELLO: unknown role"); return -1; }
    if (packets > 1) { emit_error(n, "HELLO: packets must be 0 or 1"); return -1; }
    rn_node saved = *n;
    default_config(n);
    while (rd_left(r) > 0) {
        uint8_t tag = rd_u8(r);
        uint16_t len = rd_u16(r);
        const uint8_t *v = rd_bytes(r, len);
        if (!v) { *n = saved; emit_error(n, "HELLO: option truncated"); return -1; }
        rn_rd o = rn_reader(v, len);
        switch (tag) {
        case 0x10: /* SAN-NODE */
            n->san.port[0] = rd_u32(&o) & 0xFFFFF; n->san.port[1] = rd_u32(&o) & 0xFFFFF;
            n->san.peer[0] = rd_u32(&o) & 0xFFFFF; n->san.peer[1] = rd_u32(&o) & 0xFFFFF;
            n->san.fabrics = rd_u8(&o) & 3;
            break;
        case 0x11: /* SAN-TIMERS */
            n->san.response_timeout = rd_u64(&o); n->san.probe_interval = rd_u64(&o);
            if (n->san.response_timeout == 0) n->san.response_timeout = 1;
            if (n->san.probe_interval == 0) n->san.probe_interval = 1;
            break;
        case 0x12: /* SAN-BARRIER */
            n->san.barrier_vi = rd_u16(&o); n->san.barrier_address = rd_u64(&o); n->san.have_barrier = true;
            break;
        case 0x20: /* FO-NODE */
            n->fo.slot = rd_u8(&o); n->fo.system_id = rd_u64(&o);
            if (n->fo.slot > 1) o.bad = true;
            break;
        case 0x21: /* FO-TIMERS */
            n->fo.status_period = rd_u64(&o);
            n->fo.timeout[CH_MAILBOX] = rd_u64(&o); n->fo.timeout[CH_SAN] = rd_u64(&o); n->fo.timeout[CH_NET] = rd_u64(&o);
            n->fo.silence_multiple = rd_u8(&o); n->fo.takeover_wait = rd_u64(&o);
            if (n->fo.status_period == 0 || n->fo.silence_multiple == 0) o.bad = true;
            break;
        default: /* UDP-KIT (0x30) is the front end's business; unknown tags are ignored (section 5) */
            o.off = o.len;
            break;
        }
        if (o.bad || !rd_done(&o)) { *n = saved; emit_error(n, "HELLO: malformed option"); return -1; }
    }
    drop_roles(n);
    n->role = role;
    n->packets = packets;
    n->hello_done = true;
    n->reset_done = false;

    rn_wb w; wb_init(&w);
    wb_u16(&w, RN_ADAPTER_VERSION);
    wb_u8(&w, 0x07);          /* all three roles */
    wb_u8(&w, 0x01);          /* virtual clock only */
    const char *name = "refnode";
    char full[96];
    if (n->mutant != M_NONE) {
        for (size_t i = 0; i < N_MUTANTS; i++)
            if (mutants[i].id == n->mutant) { snprintf(full, sizeof full, "refnode:%s", mutants[i].name); name = full; }
    }
    wb_u16(&w, (uint16_t)strlen(name));
    wb_bytes(&w, name, strlen(name));
    if (packets == 1 && n->udp_count > 0) {
        wb_u8(&w, 0x31);
        wb_u16(&w, (uint16_t)(3 * n->udp_count));
        for (size_t i = 0; i < n->udp_count; i++) { wb_u8(&w, n->udp_port_id[i]); wb_u16(&w, n->udp_port[i]); }
    }
    if (w.bad) { wb_free(&w); emit_error(n, "out of memory"); return -1; }
    emit_frame(n, RN_HELLO_ACK, w.p, w.len);
    wb_free(&w);
    return 0;
}

static int handle_reset(rn_node *n) {
    if (!n->hello_done) { emit_error(n, "RESET before HELLO"); return -1; }
    drop_roles(n);
    n->now = 0;
    int rc = 0;
    switch (n->role) {
    case ROLE_RESPONDER: rc = rsp_create(n); break;
    case ROLE_REQUESTOR: rc = req_create(n); break;
    case ROLE_FAILOVER: rc = fo_create(n); break;
    }
    if (rc != 0) { n->reset_done = false; emit_error(n, "out of memory"); return -1; }
    n->reset_done = true;
    emit_frame(n, RN_READY, NULL, 0);
    return 0;
}

/* ---- dispatch ----------------------------------------------------------------------------- */

static int stimulus(rn_node *n, uint8_t type, rn_rd *r, const char **why) {
    if (!n->reset_done) { *why = "stimulus before HELLO and RESET"; return -1; }
    switch (type) {
    case RN_PACKET: {
        uint8_t port = rd_u8(r);
        if (r->bad) { *why = "PACKET: truncated"; return -1; }
        const uint8_t *p = r->p + r->off;
        size_t len = rd_left(r);
        r->off = r->len;
        if (n->role == ROLE_RESPONDER) return rsp_packet(n, port, p, len, why);
        if (n->role == ROLE_REQUESTOR) return req_packet(n, port, p, len, why);
        return fo_packet(n, port, p, len, why);
    }
    case RN_COMMAND: {
        uint8_t cmd = rd_u8(r);
        if (r->bad) { *why = "COMMAND: truncated"; return -1; }
        if (n->role == ROLE_RESPONDER) return rsp_command(n, cmd, r, why);
        if (n->role == ROLE_REQUESTOR) return req_command(n, cmd, r, why);
        return fo_command(n, cmd, r, why);
    }
    case RN_TIME: {
        uint64_t t = rd_u64(r);
        if (!rd_done(r)) { *why = "TIME: body must be 8 bytes"; return -1; }
        if (t < n->now) { *why = "TIME: time went backwards"; return -1; }
        n->now = t;
        if (n->role == ROLE_REQUESTOR) req_time(n);
        else if (n->role == ROLE_FAILOVER) fo_time(n);
        return 0;
    }
    case RN_DISK_RESULT: {
        uint16_t tag = rd_u16(r);
        uint8_t status = rd_u8(r);
        if (r->bad) { *why = "DISK-RESULT: truncated"; return -1; }
        const uint8_t *p = r->p + r->off;
        size_t len = rd_left(r);
        r->off = r->len;
        if (n->role != ROLE_FAILOVER) { *why = "DISK-RESULT: no disk requests in this role"; return -1; }
        return fo_disk_result(n, tag, status, p, len, why);
    }
    }
    *why = "unknown frame type";
    return -1;
}

int rn_handle(rn_node *n, uint8_t type, const uint8_t *body, size_t len, rn_emit_fn emit, void *ctx) {
    if (!n) return -1;
    if (!body) len = 0;
    n->out.emit = emit;
    n->out.ctx = ctx;
    rn_rd r = rn_reader(body, len);
    switch (type) {
    case RN_HELLO: return handle_hello(n, &r);
    case RN_RESET:
        if (len != 0) { emit_error(n, "RESET: body must be empty"); return -1; }
        return handle_reset(n);
    case RN_BYE:
        if (len != 0) { emit_error(n, "BYE: body must be empty"); return -1; }
        return 1;
    default: {
        const char *why = NULL;
        int rc = stimulus(n, type, &r, &why);
        if (rc != 0) emit_error(n, why ? why : "malformed frame");
        emit_idle(n);
        return rc == 0 ? 0 : -1;
    }
    }
}
