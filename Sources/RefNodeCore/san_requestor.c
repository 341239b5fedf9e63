/* The san-requestor role (US 6,545,981): descriptors become packets (512 bytes each), sequence
 * numbers (incremented for ordered, held for unordered packets), the window of 128, NDAL / NDAA,
 * ordered traffic on one path and lane, unordered traffic spread over the good paths, response
 * matching, time-outs on the virtual clock, recovery with barriers on every route the failed traffic
 * used, path-bad over another good path (waiting for its acknowledgement), retransmission from the
 * earliest unacknowledged packet with fresh TSNs, and periodic re-probing of bad paths with path-good.
 *
 * Choices where the specs leave it open (see the report):
 *  - every packet uses lane 0 (ACB 000); unordered packets go round-robin over the good paths;
 *  - the barrier location (HELLO option SAN-BARRIER, default VI 0xFFFF address 0) is proposed lazily,
 *    with a barrier-location message before the first barrier of the case;
 *  - a barrier sends its RDMA write and RDMA read back to back on the route; it succeeds when the read's
 *    ACK returns the number written, fails on a time-out or NACK, and is retried with a fresh number on
 *    a mismatch;
 *  - a sequence-error NACK retransmits at once (no barrier) on the same path; a NACK to such a resend
 *    recovers as a time-out does, with barriers (else a packet lost for good would be resent for ever);
 *  - responses are matched on the port they arrive by too (TSNs are per port);
 *  - after recovery, packets are resent with fresh TSNs; already acknowledged ones are not resent;
 *  - TSNs count up per port and skip any TSN still in use on that port (an unacknowledged request, a
 *    barrier in flight, a supervisory message awaiting its acknowledgement) and, for a resend, the TSNs
 *    the packet's last REQ_TSN_HISTORY transmissions used from that port (answers to older ones have been
 *    flushed by barriers, in practice): after the 16-bit counter wraps (e.g. a barrier retried for ever on
 *    stale answers) no outstanding request shares its TSN.
 */
#include <stdlib.h>
#include <string.h>
#include "rn_internal.h"

#define REQ_MAX_VIS 16
#define REQ_MAX_DESC 64
#define REQ_WINDOW 128
#define REQ_MAX_LEN (1u << 20)
#define REQ_MAX_SUP 8
#define REQ_TSN_HISTORY 16

typedef struct {
    uint32_t serial, id;
    uint8_t op, flags;
    uint64_t addr;
    uint32_t len, imm;
    uint8_t *data;            /* Send / write data, or the read buffer */
    uint32_t npkts, sent, acked;
    bool last_acked;
} desc;

typedef struct {
    uint32_t serial;          /* the descriptor */
    uint32_t k;               /* packet index within it */
    uint8_t seq, path;
    uint16_t tsn;
    uint64_t deadline;
    bool acked, ordered;
    bool nack_retx;           /* this transmission was a resend after a sequence-error NACK */
    uint32_t used[REQ_TSN_HISTORY];   /* earlier transmissions, port << 16 | TSN (a ring) */
    uint8_t nused, nextused;  /* entries filled (at most REQ_TSN_HISTORY), next slot to write */
} opkt;

typedef struct {
    uint16_t id;
    uint8_t seq;              /* SAN-SEQ-INIT: 0 */
    bool error;
    bool halted;              /* waiting for recovery */
    bool member;              /* part of the recovery in progress */
    uint8_t ordered_path;
    desc q[REQ_MAX_DESC];
    int qhead, qcount;
    uint32_t next_serial;
    opkt out[REQ_WINDOW + 2];
    int ohead, ocount;
} rvi;

typedef struct {
    bool active, probe;
    uint64_t number;
    uint16_t wtsn, rtsn;
    uint64_t deadline;
    int result;               /* 0 pending, 1 ok, -1 failed */
} barrier;

typedef struct {
    bool active;
    uint8_t supop, path_field, via;
    uint16_t tsn;
    uint64_t deadline;
} supmsg;

enum { REC_IDLE, REC_LOCATION, REC_BARRIERS, REC_NOTIFY };

struct rn_requestor {
    int nvi;
    rvi vi[REQ_MAX_VIS];
    uint8_t bad;              /* bit p: path p held bad */
    uint8_t notified;         /* bad paths the responder has acknowledged as bad */
    uint64_t probe_at[4];
    uint16_t tsn[2];
    uint8_t rr;
    uint64_t barrier_counter;
    bool loc_agreed;
    barrier bar[4];
    supmsg sup[REQ_MAX_SUP];
    int rec;                  /* REC_* */
    uint8_t suspect;          /* paths the current recovery barriers */
};

int req_create(rn_node *n) {
    n->req = calloc(1, sizeof *n->req);
    if (!n->req) return -1;
    n->req->barrier_counter = 0x5647000000000001ull;
    return 0;
}

static void free_desc(desc *d) { free(d->data); d->data = NULL; }

void req_destroy(rn_node *n) {
    struct rn_requestor *s = n->req;
    if (!s) return;
    for (int i = 0; i < s->nvi; i++)
        for (int k = 0; k < s->vi[i].qcount; k++) free_desc(&s->vi[i].q[(s->vi[i].qhead + k) % REQ_MAX_DESC]);
    free(s);
    n->req = NULL;
}

static rvi *find_vi(struct rn_requestor *s, uint16_t id) {
    for (int i = 0; i < s->nvi; i++) if (s->vi[i].id == id) return &s->vi[i];
    return NULL;
}

static bool path_good(struct rn_requestor *s, int p) { return !(s->bad & (1u << p)); }

static int first_good(struct rn_requestor *s, int avoid) {
    for (int p = 0; p < 4; p++) if (path_good(s, p) && p != avoid) return p;
    return -1;
}

static desc *desc_of(rvi *v, uint32_t serial) {
    for (int k = 0; k < v->qcount; k++) {
        desc *d = &v->q[(v->qhead + k) % REQ_MAX_DESC];
        if (d->serial == serial) return d;
    }
    return NULL;
}

/* Whether TSN `t` is in use on `port`: by an unacknowledged request, a barrier in flight or a supervisory
   message awaiting its acknowledgement; or, for `self` (a packet about to be resent), by one of its
   earlier transmissions from that port. */
static bool tsn_in_use(struct rn_requestor *s, int port, uint16_t t, const opkt *self) {
    for (int i = 0; i < s->nvi; i++) {
        rvi *v = &s->vi[i];
        for (int k = 0; k < v->ocount; k++) {
            const opkt *o = &v->out[(v->ohead + k) % (REQ_WINDOW + 2)];
            if (!o->acked && o->tsn == t && (o->path >> 1) == port) return true;
        }
    }
    for (int p = 0; p < 4; p++)
        if (s->bar[p].active && (p >> 1) == port && (s->bar[p].wtsn == t || s->bar[p].rtsn == t)) return true;
    for (int i = 0; i < REQ_MAX_SUP; i++)
        if (s->sup[i].active && (s->sup[i].via >> 1) == port && s->sup[i].tsn == t) return true;
    if (self) {
        for (int i = 0; i < self->nused; i++) if (self->used[i] == ((uint32_t)port << 16 | t)) return true;
    }
    return false;
}

/* SAN-REQ-TSN-UNIQUE: the next TSN of the port that nothing outstanding there uses. */
static uint16_t fresh_tsn_for(struct rn_requestor *s, int port, const opkt *self) {
    port &= 1;
    uint16_t t = s->tsn[port]++;
    for (int guard = 0; guard < 65536 && tsn_in_use(s, port, t, self); guard++) t = s->tsn[port]++;
    return t;
}

static uint16_t fresh_tsn(struct rn_requestor *s, int port) { return fresh_tsn_for(s, port, NULL); }

/* ---- sending ------------------------------------------------------------------------------ */

static void send_request(rn_node *n, int path, uint16_t tsn, uint16_t vi, uint8_t seq, desc *d, uint32_t k, bool ordered) {
    san_pkt p;
    memset(&p, 0, sizeof p);
    uint32_t off = k * SAN_MAX_PAYLOAD;
    uint32_t len = d->len - off < SAN_MAX_PAYLOAD ? d->len - off : SAN_MAX_PAYLOAD;  /* SAN-REQ-PACKETIZE */
    bool first = k == 0, last = k + 1 == d->npkts;
    bool imm = d->op == OP_SEND && (d->flags & 4) && last;
    p.did = n->san.peer[path & 1];
    p.acb = 0;
    p.tt = TT_REQUEST;
    p.tsn = tsn;
    p.len = (uint16_t)len;
    p.op = d->op;
    p.viop = (uint8_t)((d->op << 6) | (ordered ? 0x20 : 0) | (first ? 0x10 : 0) | (last ? 0x08 : 0) | (imm ? 0x04 : 0));
    p.imm = imm;
    p.immediate = d->imm;
    p.seq = seq;
    p.vi = vi;
    p.address = d->addr + off;
    p.payload = d->data ? d->data + off : NULL;
    emit_san(n, (uint8_t)(path >> 1), &p);
}

static void transmit(rn_node *n, rvi *v, opkt *o) {
    struct rn_requestor *s = n->req;
    desc *d = desc_of(v, o->serial);
    if (!d) return;
    o->tsn = fresh_tsn_for(s, o->path >> 1, o);
    o->used[o->nextused] = (uint32_t)(o->path >> 1) << 16 | o->tsn;
    o->nextused = (uint8_t)((o->nextused + 1) % REQ_TSN_HISTORY);
    if (o->nused < REQ_TSN_HISTORY) o->nused++;
    o->deadline = n->now + n->san.response_timeout;
    send_request(n, o->path, o->tsn, v->id, o->seq, d, o->k, o->ordered);
}

static int pick_unordered_path(struct rn_requestor *s, const rn_node *n) {
    for (int i = 0; i < 4; i++) {
        int p = (s->rr + i) % 4;
        if (path_good(s, p) || MUT(n, M_REQ_UNORDERED_ON_BAD_PATH)) { s->rr = (uint8_t)(p + 1); return p; }
    }
    return -1;
}

static void pump(rn_node *n, rvi *v) {
    struct rn_requestor *s = n->req;
    while (!v->halted && !v->error) {
        desc *d = NULL;
        bool blocked = false;
        for (int k = 0; k < v->qcount; k++) {
            desc *e = &v->q[(v->qhead + k) % REQ_MAX_DESC];
            if (e->sent < e->npkts) { d = e; break; }
            /* SAN-REQ-NDAA: after an unordered (or NDAA) descriptor wait for all its ACKs;
               SAN-REQ-NDAL: after an ordered one, go on once its last packet is launched. */
            bool ndaa = !(e->flags & 1) || (e->flags & 2);
            if (ndaa && e->acked < e->npkts && !MUT(n, M_REQ_NO_NDAA)) { blocked = true; break; }
        }
        if (!d || blocked) return;
        int limit = MUT(n, M_REQ_EXCEED_WINDOW) ? REQ_WINDOW + 1 : REQ_WINDOW;           /* SAN-REQ-WINDOW */
        if (v->ocount >= limit) return;
        bool ordered = d->flags & 1;
        int path;
        if (ordered) {
            if (!path_good(s, v->ordered_path)) {
                int p = first_good(s, -1);
                if (p < 0) return;
                v->ordered_path = (uint8_t)p;
            }
            path = v->ordered_path;                                                     /* SAN-REQ-ORDERED-ONE-PATH */
        } else {
            path = pick_unordered_path(s, n);                                           /* SAN-REQ-UNORDERED-ANY-PATH */
            if (path < 0) return;
        }
        opkt *o = &v->out[(v->ohead + v->ocount) % (REQ_WINDOW + 2)];
        v->ocount++;
        memset(o, 0, sizeof *o);
        o->serial = d->serial;
        o->k = d->sent++;
        o->seq = v->seq;
        o->path = (uint8_t)path;
        o->ordered = ordered;
        transmit(n, v, o);
        /* SAN-REQ-SEQ-ORDERED-INC / SAN-REQ-SEQ-UNORDERED-HOLD */
        if (ordered || MUT(n, M_REQ_INC_UNORDERED)) v->seq++;
    }
}

/* ---- completion --------------------------------------------------------------------------- */

static void completion(rn_node *n, uint16_t vi, desc *d, uint8_t status) {
    rn_wb w; wb_init(&w);
    wb_u8(&w, 0x01);
    wb_u16(&w, vi);
    wb_u32(&w, d->id);
    wb_u8(&w, status);
    if (status == 0 && d->op == OP_READ) wb_bytes(&w, d->data, d->len);
    if (!w.bad) emit_frame(n, RN_EVENT, w.p, w.len);
    wb_free(&w);
}

static void pop_desc(rvi *v) {
    free_desc(&v->q[v->qhead]);
    v->qhead = (v->qhead + 1) % REQ_MAX_DESC;
    v->qcount--;
}

/* SAN-REQ-OUTSTANDING and SAN-REQ-DESC-COMPLETE: release from the head, complete in post order. */
static void settle(rn_node *n, rvi *v) {
    while (v->ocount > 0 && v->out[v->ohead].acked) {
        v->ohead = (v->ohead + 1) % (REQ_WINDOW + 2);
        v->ocount--;
    }
    while (v->qcount > 0) {
        desc *d = &v->q[v->qhead];
        bool done = MUT(n, M_REQ_COMPLETE_ON_LAST_ACK) ? (d->sent == d->npkts && d->last_acked)
                                                        : (d->sent == d->npkts && d->acked == d->npkts);
        if (!done) break;
        completion(n, v->id, d, 0);
        pop_desc(v);
    }
}

static void fail_vi(rn_node *n, rvi *v, uint32_t failed_serial, uint8_t status) {
    /* SAN-REQ-NACK-FAIL / SAN-REQ-ALL-PATHS-BAD: the VI stops; its descriptors complete in order. */
    v->error = true;
    v->halted = false;
    v->member = false;
    v->ocount = 0;
    while (v->qcount > 0) {
        desc *d = &v->q[v->qhead];
        uint8_t st = d->serial == failed_serial ? status : (status == 2 ? 2 : 3);
        if (d->sent == d->npkts && d->acked == d->npkts) st = 0;
        completion(n, v->id, d, st);
        pop_desc(v);
    }
}

/* Resend every unacknowledged outstanding packet from index `from` (SAN-REQ-RETX-EARLIEST). */
static void retransmit_from(rn_node *n, rvi *v, int from, bool after_nack) {
    struct rn_requestor *s = n->req;
    for (int i = from; i < v->ocount; i++) {
        opkt *o = &v->out[(v->ohead + i) % (REQ_WINDOW + 2)];
        if (o->acked) continue;
        if (!path_good(s, o->path)) {
            int p = o->ordered ? v->ordered_path : pick_unordered_path(s, n);
            if (p < 0 || !path_good(s, p)) p = first_good(s, -1);
            if (p < 0) continue;
            o->path = (uint8_t)p;
        }
        o->nack_retx = after_nack;
        transmit(n, v, o);
    }
}

static int earliest_unacked(rvi *v) {
    for (int i = 0; i < v->ocount; i++) if (!v->out[(v->ohead + i) % (REQ_WINDOW + 2)].acked) return i;
    return v->ocount;
}

/* ---- supervisory messages and barriers ---------------------------------------------------- */

static void send_sup(rn_node *n, uint8_t supop, uint8_t path_field, int via) {
    struct rn_requestor *s = n->req;
    supmsg *m = NULL;
    for (int i = 0; i < REQ_MAX_SUP; i++) if (!s->sup[i].active) { m = &s->sup[i]; break; }
    if (!m) return;
    m->active = true; m->supop = supop; m->path_field = path_field; m->via = (uint8_t)via;
    m->tsn = fresh_tsn(s, via >> 1);
    m->deadline = n->now + n->san.response_timeout;
    san_pkt p;
    memset(&p, 0, sizeof p);
    p.did = n->san.peer[via & 1];
    p.tt = TT_SUP;
    p.tsn = m->tsn;
    p.supop = supop;
    p.path = path_field;
    if (supop == SUP_BARRIER_LOC) { p.sup_vi = n->san.barrier_vi; p.sup_address = n->san.barrier_address; }
    emit_san(n, (uint8_t)(via >> 1), &p);
}

static bool sup_pending(struct rn_requestor *s, uint8_t supop, int path_field) {
    for (int i = 0; i < REQ_MAX_SUP; i++)
        if (s->sup[i].active && s->sup[i].supop == supop && (path_field < 0 || s->sup[i].path_field == path_field)) return true;
    return false;
}

static void start_barrier(rn_node *n, int path, bool probe) {
    struct rn_requestor *s = n->req;
    barrier *b = &s->bar[path];
    b->active = true; b->probe = probe; b->result = 0;
    b->number = s->barrier_counter;
    if (!MUT(n, M_REQ_BARRIER_NUMBER_REUSED)) s->barrier_counter++;     /* SAN-REQ-BARRIER-FRESH */
    b->deadline = n->now + n->san.response_timeout;
    rvi *bv = find_vi(s, n->san.barrier_vi);
    uint8_t seq = bv ? bv->seq : 0;
    uint8_t num[8];
    put_be64(num, b->number);
    desc d;
    memset(&d, 0, sizeof d);
    d.npkts = 1; d.len = 8; d.addr = n->san.barrier_address; d.data = num;
    /* SAN-REQ-BARRIER-FORM: RDMA write of the number, then RDMA read of it, unordered, on the route. */
    d.op = OP_WRITE;
    b->wtsn = fresh_tsn(s, path >> 1);
    send_request(n, path, b->wtsn, n->san.barrier_vi, seq, &d, 0, false);
    d.op = OP_READ;
    b->rtsn = fresh_tsn(s, path >> 1);
    send_request(n, path, b->rtsn, n->san.barrier_vi, seq, &d, 0, false);
}

static void finish_recovery(rn_node *n);
static void recovery_progress(rn_node *n);

static void all_paths_bad(rn_node *n) {
    struct rn_requestor *s = n->req;
    for (int i = 0; i < s->nvi; i++) if (s->vi[i].member || s->vi[i].halted) fail_vi(n, &s->vi[i], UINT32_MAX, 2);
    s->rec = REC_IDLE;
    s->suspect = 0;
}

static void mark_bad(rn_node *n, int path) {
    struct rn_requestor *s = n->req;
    if (s->bad & (1u << path)) return;
    s->bad |= (uint8_t)(1u << path);                                     /* SAN-REQ-BARRIER-FAIL-BAD */
    s->notified &= (uint8_t)~(1u << path);
    s->probe_at[path] = n->now + n->san.probe_interval;                  /* SAN-REQ-REPROBE */
}

/* Drives the recovery in progress one phase further when the current phase is complete. */
static void recovery_progress(rn_node *n) {
    struct rn_requestor *s = n->req;
    if (s->rec == REC_LOCATION) {
        if (s->loc_agreed) {
            s->rec = REC_BARRIERS;
            for (int p = 0; p < 4; p++)                                  /* SAN-REQ-BARRIER-EVERY-LANE */
                if ((s->suspect & (1u << p)) && !s->bar[p].active) start_barrier(n, p, false);
        } else if (!sup_pending(s, SUP_BARRIER_LOC, -1)) {
            int via = first_good(s, -1);
            for (int p = 0; p < 4; p++) if (path_good(s, p) && !(s->suspect & (1u << p))) { via = p; break; }
            if (via < 0) { all_paths_bad(n); return; }
            send_sup(n, SUP_BARRIER_LOC, 0, via);
        }
        return;
    }
    if (s->rec == REC_BARRIERS) {
        for (int p = 0; p < 4; p++)
            if ((s->suspect & (1u << p)) && s->bar[p].active && !s->bar[p].probe) return;   /* still running */
        s->rec = REC_NOTIFY;
    }
    if (s->rec == REC_NOTIFY) {
        /* SAN-REQ-NOTIFY-BEFORE-RETRY: every bad path is announced over another good path and acknowledged. */
        bool waiting = false;
        for (int p = 0; p < 4; p++) {
            if (path_good(s, p) || (s->notified & (1u << p))) continue;
            if (sup_pending(s, SUP_PATH_BAD, p)) { waiting = true; continue; }
            int via = first_good(s, p);
            if (via < 0) { all_paths_bad(n); return; }
            send_sup(n, SUP_PATH_BAD, (uint8_t)p, via);
            if (MUT(n, M_REQ_RETRY_BEFORE_SUP_ACK)) s->notified |= (uint8_t)(1u << p);
            else waiting = true;
        }
        if (!waiting) finish_recovery(n);
    }
}

static void finish_recovery(rn_node *n) {
    struct rn_requestor *s = n->req;
    s->rec = REC_IDLE;
    s->suspect = 0;
    if (first_good(s, -1) < 0) { all_paths_bad(n); return; }
    for (int i = 0; i < s->nvi; i++) {
        rvi *v = &s->vi[i];
        if (!v->member) continue;
        v->member = false;
        v->halted = false;
        if (!path_good(s, v->ordered_path)) v->ordered_path = (uint8_t)first_good(s, -1);
        retransmit_from(n, v, earliest_unacked(v), false);              /* SAN-REQ-TRANSIENT-SAME-PATH */
        pump(n, v);
    }
    /* VIs that timed out while this recovery ran get their own. */
    uint8_t more = 0;
    for (int i = 0; i < s->nvi; i++) {
        rvi *v = &s->vi[i];
        if (!v->halted) continue;
        for (int k = 0; k < v->ocount; k++) {
            opkt *o = &v->out[(v->ohead + k) % (REQ_WINDOW + 2)];
            if (!o->acked) more |= (uint8_t)(1u << o->path);
        }
        v->member = true;
    }
    if (more) {
        s->suspect = more;
        s->rec = REC_LOCATION;
        recovery_progress(n);
    } else {
        for (int i = 0; i < s->nvi; i++) if (s->vi[i].member) { s->vi[i].member = false; s->vi[i].halted = false; pump(n, &s->vi[i]); }
    }
}

/* SAN-REQ-TIMEOUT: a request without a response in time starts recovery for its VI. */
static void timeout_vi(rn_node *n, rvi *v) {
    struct rn_requestor *s = n->req;
    if (MUT(n, M_REQ_NO_BARRIER_AFTER_TIMEOUT)) {
        retransmit_from(n, v, earliest_unacked(v), false);
        return;
    }
    v->halted = true;
    if (s->rec != REC_IDLE) return;                                     /* joins the next recovery */
    uint8_t suspect = 0;
    for (int k = 0; k < v->ocount; k++) {
        opkt *o = &v->out[(v->ohead + k) % (REQ_WINDOW + 2)];
        if (!o->acked) suspect |= (uint8_t)(1u << o->path);
    }
    v->member = true;
    s->suspect = suspect;
    s->rec = REC_LOCATION;                                               /* SAN-REQ-BARRIER-AFTER-TIMEOUT */
    recovery_progress(n);
}

static void barrier_done(rn_node *n, int path, bool ok) {
    struct rn_requestor *s = n->req;
    barrier *b = &s->bar[path];
    bool probe = b->probe;
    b->active = false;
    b->result = ok ? 1 : -1;
    if (probe) {
        if (ok) send_sup(n, SUP_PATH_GOOD, (uint8_t)path, path);        /* SAN-REQ-REPROBE */
        else s->probe_at[path] = n->now + n->san.probe_interval;
        return;
    }
    if (!ok) mark_bad(n, path);
    recovery_progress(n);
}

/* ---- receiving ---------------------------------------------------------------------------- */

static void on_sup_ack(rn_node *n, uint8_t port, const san_pkt *p) {
    struct rn_requestor *s = n->req;
    for (int i = 0; i < REQ_MAX_SUP; i++) {
        supmsg *m = &s->sup[i];
        if (!m->active || p->supop != m->supop + 1 || p->tsn != m->tsn || p->path != m->path_field) continue;
        if (p->sid != n->san.peer[m->via & 1] || (m->via >> 1) != port) continue;
        if (m->supop == SUP_BARRIER_LOC && (p->sup_vi != n->san.barrier_vi || p->sup_address != n->san.barrier_address)) continue;
        m->active = false;
        if (m->supop == SUP_BARRIER_LOC) s->loc_agreed = true;
        else if (m->supop == SUP_PATH_BAD) s->notified |= (uint8_t)(1u << m->path_field);
        else if (m->supop == SUP_PATH_GOOD) {
            s->bad &= (uint8_t)~(1u << m->path_field);
            s->notified &= (uint8_t)~(1u << m->path_field);
            for (int k = 0; k < s->nvi; k++) pump(n, &s->vi[k]);
        }
        recovery_progress(n);
        return;
    }
}

static bool on_barrier_response(rn_node *n, uint8_t port, const san_pkt *p) {
    struct rn_requestor *s = n->req;
    if (p->vi != n->san.barrier_vi) return false;
    for (int path = 0; path < 4; path++) {
        barrier *b = &s->bar[path];
        /* TSNs are per port: the path is the port the answer arrived on and the port it came from. */
        if (!b->active || p->sid != n->san.peer[path & 1] || (path >> 1) != port) continue;
        if (p->tsn == b->wtsn && p->op == OP_WRITE) {
            if (p->tt == TT_NACK) barrier_done(n, path, false);
            return true;
        }
        if (p->tsn == b->rtsn && p->op == OP_READ) {
            if (p->tt == TT_NACK) { barrier_done(n, path, false); return true; }
            if (p->len == 8 && get_be64(p->payload) == b->number) barrier_done(n, path, true);  /* SAN-REQ-BARRIER-MATCH */
            else {
                bool probe = b->probe;                                   /* SAN-REQ-BARRIER-MISMATCH-RETRY */
                start_barrier(n, path, probe);
            }
            return true;
        }
    }
    return false;
}

static void on_response(rn_node *n, uint8_t port, const san_pkt *p) {
    struct rn_requestor *s = n->req;
    if (on_barrier_response(n, port, p)) return;
    rvi *v = find_vi(s, p->vi);
    if (!v || v->error) return;
    /* SAN-REQ-MATCH: source, VI, sequence number, operation and TSN. A TSN is unique only among the
       requests of one port (SAN-REQ-TSN-UNIQUE), and a response comes back to the port its request
       left by, so the port it arrived on is part of the match. */
    int idx = -1;
    for (int i = 0; i < v->ocount; i++) {
        opkt *o = &v->out[(v->ohead + i) % (REQ_WINDOW + 2)];
        if (o->seq != p->seq || p->sid != n->san.peer[o->path & 1] || (o->path >> 1) != port) continue;
        desc *d = desc_of(v, o->serial);
        if (!d || d->op != p->op) continue;
        if (o->tsn != p->tsn && !MUT(n, M_REQ_MATCH_IGNORES_TSN)) continue;
        if (MUT(n, M_REQ_MATCH_IGNORES_TSN) && o->acked) continue;
        idx = i;
        break;
    }
    if (idx < 0) return;
    opkt *o = &v->out[(v->ohead + idx) % (REQ_WINDOW + 2)];
    desc *d = desc_of(v, o->serial);
    if (p->tt == TT_NACK) {
        if (v->halted) return;
        if (p->reason == NACK_SEQ) {                                     /* SAN-REQ-NACK-RECOVERY */
            /* A resend after a NACK that is itself NACKed did not close the gap (the earliest packet
               keeps getting lost, e.g. on a dead path, while the NACKs come back over the others):
               recover as after a time-out, with barriers ("The requestor repeats these two basic steps
               on each path until the packet is transmitted successfully", col. 10). Resending on every
               NACK would go on for ever, the time-out never coming. */
            if (o->nack_retx && o->tsn == p->tsn) { timeout_vi(n, v); return; }   /* answers this very resend */
            retransmit_from(n, v, MUT(n, M_REQ_RETX_FROM_NACKED) ? idx : earliest_unacked(v), true);
        } else {
            fail_vi(n, v, o->serial, 1);                                 /* SAN-REQ-NACK-FAIL */
        }
        return;
    }
    if (o->acked) return;
    uint32_t off = o->k * SAN_MAX_PAYLOAD;
    if (d->op == OP_READ) {
        uint32_t want = d->len - off < SAN_MAX_PAYLOAD ? d->len - off : SAN_MAX_PAYLOAD;
        if (p->len != want) return;                                       /* not the answer to this read */
        memcpy(d->data + off, p->payload, want);
    }
    o->acked = true;
    d->acked++;
    if (o->k + 1 == d->npkts) d->last_acked = true;
    settle(n, v);
    pump(n, v);
}

int req_packet(rn_node *n, uint8_t port, const uint8_t *b, size_t len, const char **why) {
    if (port > 1) { *why = "PACKET: SAN port must be 0 or 1"; return -1; }
    san_pkt p;
    /* SAN-REQ-RESP-VALID */
    if (san_decode(b, len, &p, true) != SAN_OK) return 0;
    if (p.did != n->san.port[port] || p.fabric != ((n->san.fabrics >> port) & 1)) return 0;
    if (p.sid != n->san.peer[0] && p.sid != n->san.peer[1]) return 0;
    if (p.tt == TT_SUP) { on_sup_ack(n, port, &p); return 0; }
    if (p.tt == TT_ACK || p.tt == TT_NACK) on_response(n, port, &p);
    return 0;
}

/* ---- commands and time -------------------------------------------------------------------- */

int req_command(rn_node *n, uint8_t cmd, rn_rd *r, const char **why) {
    struct rn_requestor *s = n->req;
    if (cmd == 0x01) { /* CREATE-VI */
        uint16_t id = rd_u16(r);
        if (!rd_done(r)) { *why = "CREATE-VI: body must be u16 vi"; return -1; }
        rvi *v = find_vi(s, id);
        if (v) { *why = "CREATE-VI: VI exists"; return -1; }
        if (s->nvi >= REQ_MAX_VIS) { *why = "CREATE-VI: too many VIs"; return -1; }
        v = &s->vi[s->nvi++];
        memset(v, 0, sizeof *v);
        v->id = id;
        v->ordered_path = (uint8_t)(first_good(s, -1) < 0 ? 0 : first_good(s, -1));
        return 0;
    }
    if (cmd != 0x03) { *why = "command not supported by san-requestor"; return -1; }
    /* POST */
    uint16_t id = rd_u16(r);
    uint32_t serial_id = rd_u32(r);
    uint8_t op = rd_u8(r), flags = rd_u8(r);
    uint64_t addr = rd_u64(r);
    uint32_t len = rd_u32(r), imm = rd_u32(r);
    if (r->bad) { *why = "POST: truncated"; return -1; }
    size_t dlen = rd_left(r);
    const uint8_t *data = rd_bytes(r, dlen);
    if (op > 2 || (flags & ~7u)) { *why = "POST: bad op or flags"; return -1; }
    if ((flags & 4) && op != OP_SEND) { *why = "POST: immediate data only on a Send"; return -1; }
    if (len > REQ_MAX_LEN) { *why = "POST: descriptor longer than 1 MiB"; return -1; }
    if (op == OP_READ ? dlen != 0 : dlen != len) { *why = "POST: data must be `length` bytes (none for a read)"; return -1; }
    rvi *v = find_vi(s, id);
    if (!v) { *why = "POST: no such VI"; return -1; }
    if (v->qcount >= REQ_MAX_DESC) { *why = "POST: too many descriptors queued"; return -1; }
    desc *d = &v->q[(v->qhead + v->qcount) % REQ_MAX_DESC];
    memset(d, 0, sizeof *d);
    d->data = malloc(len ? len : 1);
    if (!d->data) { *why = "POST: out of memory"; return -1; }
    if (op != OP_READ && len) memcpy(d->data, data, len);
    if (op == OP_READ) memset(d->data, 0, len);
    v->qcount++;
    d->serial = v->next_serial++;
    d->id = serial_id;
    d->op = op; d->flags = flags; d->addr = addr; d->len = len; d->imm = imm;
    d->npkts = len == 0 ? 1 : (len + SAN_MAX_PAYLOAD - 1) / SAN_MAX_PAYLOAD;
    if (v->error) { completion(n, v->id, d, 3); pop_desc(v); return 0; }
    pump(n, v);
    return 0;
}

void req_time(rn_node *n) {
    struct rn_requestor *s = n->req;
    for (int guard = 0; guard < 64; guard++) {
        bool acted = false;
        for (int i = 0; i < REQ_MAX_SUP; i++) {
            supmsg *m = &s->sup[i];
            if (!m->active || m->deadline > n->now) continue;
            /* SAN-REQ-SUP-TIMEOUT: the path it travelled failed; send again over another good path. */
            m->active = false;
            acted = true;
            if (m->supop == SUP_PATH_GOOD) { s->probe_at[m->path_field] = n->now + n->san.probe_interval; continue; }
            mark_bad(n, m->via);
            if (s->rec == REC_IDLE) { s->rec = REC_NOTIFY; }
            recovery_progress(n);
        }
        for (int p = 0; p < 4; p++) {
            barrier *b = &s->bar[p];
            if (b->active && b->deadline <= n->now) { barrier_done(n, p, false); acted = true; }
        }
        for (int p = 0; p < 4; p++) {
            if (path_good(s, p) || s->bar[p].active || s->probe_at[p] > n->now || !s->loc_agreed) continue;
            if (sup_pending(s, SUP_PATH_GOOD, p)) continue;
            start_barrier(n, p, true);
            acted = true;
        }
        for (int i = 0; i < s->nvi; i++) {
            rvi *v = &s->vi[i];
            if (v->halted || v->error) continue;
            for (int k = 0; k < v->ocount; k++) {
                opkt *o = &v->out[(v->ohead + k) % (REQ_WINDOW + 2)];
                if (!o->acked && o->deadline <= n->now) { timeout_vi(n, v); acted = true; break; }
            }
        }
        if (!acted) break;
    }
}

uint64_t req_next(rn_node *n) {
    struct rn_requestor *s = n->req;
    if (!s) return RN_NEVER;
    uint64_t t = RN_NEVER;
    for (int i = 0; i < REQ_MAX_SUP; i++) if (s->sup[i].active && s->sup[i].deadline < t) t = s->sup[i].deadline;
    for (int p = 0; p < 4; p++) {
        if (s->bar[p].active && s->bar[p].deadline < t) t = s->bar[p].deadline;
        if (!path_good(s, p) && !s->bar[p].active && s->loc_agreed && !sup_pending(s, SUP_PATH_GOOD, p) && s->probe_at[p] < t)
            t = s->probe_at[p];
    }
    for (int i = 0; i < s->nvi; i++) {
        rvi *v = &s->vi[i];
        if (v->halted || v->error) continue;
        for (int k = 0; k < v->ocount; k++) {
            opkt *o = &v->out[(v->ohead + k) % (REQ_WINDOW + 2)];
            if (!o->acked && o->deadline < t) t = o->deadline;
        }
    }
    if (t != RN_NEVER && t <= n->now) t = n->now + 1;
    return t;
}
