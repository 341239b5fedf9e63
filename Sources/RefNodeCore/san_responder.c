/* The san-responder role (US 6,545,981): validity checks, ReqInPath per VI and path, sequence
   classification with the window of 128, ACK / sequence-error NACK / duplicate handling, RDMA access
   checks, and the supervisory messages path-bad, path-good and barrier-location. */
#include <stdlib.h>
#include <string.h>
#include "rn_internal.h"

#define RSP_MAX_VIS 64
#define RSP_MAX_REGIONS 8
#define RSP_MAX_REGION (1u << 20)          /* one ENABLE-RDMA: at most 1 MiB */
#define RSP_MAX_MEMORY (16u << 20)         /* all regions together: at most 16 MiB */

typedef struct { uint64_t addr; uint32_t len; uint8_t *mem; } rsp_region;

typedef struct {
    uint16_t id;
    uint8_t expected;        /* E: the sequence number the responder expects (SAN-SEQ-INIT: 0) */
    uint8_t reqinpath;       /* bit k: requests accepted over path k (requestor port * 2 + responder port) */
    int nreg;
    rsp_region reg[RSP_MAX_REGIONS];
} rsp_vi;

struct rn_responder {
    int nvi;
    rsp_vi vi[RSP_MAX_VIS];
    bool barrier_set;
    uint16_t barrier_vi;
    size_t memory;
};

int rsp_create(rn_node *n) {
    n->rsp = calloc(1, sizeof *n->rsp);
    return n->rsp ? 0 : -1;
}

void rsp_destroy(rn_node *n) {
    struct rn_responder *s = n->rsp;
    if (!s) return;
    for (int i = 0; i < s->nvi; i++)
        for (int k = 0; k < s->vi[i].nreg; k++) free(s->vi[i].reg[k].mem);
    free(s);
    n->rsp = NULL;
}

static rsp_vi *find_vi(struct rn_responder *s, uint16_t id) {
    for (int i = 0; i < s->nvi; i++) if (s->vi[i].id == id) return &s->vi[i];
    return NULL;
}

/* A VI made afresh (specs/adapter.md, CREATE-VI): a VI that exists loses its RDMA regions and its
   barrier role too, as if destroyed and created again. */
static rsp_vi *create_vi(struct rn_responder *s, uint16_t id) {
    rsp_vi *v = find_vi(s, id);
    if (!v) {
        if (s->nvi >= RSP_MAX_VIS) return NULL;
        v = &s->vi[s->nvi++];
    } else {
        for (int k = 0; k < v->nreg; k++) {
            free(v->reg[k].mem);
            s->memory -= v->reg[k].len;
        }
        if (s->barrier_set && s->barrier_vi == id) s->barrier_set = false;
    }
    memset(v, 0, sizeof *v);
    v->id = id;
    v->expected = 0;          /* SAN-SEQ-INIT */
    v->reqinpath = 0x0F;      /* every path allowed */
    return v;
}

static int add_region(struct rn_responder *s, rsp_vi *v, uint64_t addr, uint32_t len) {
    if (len > RSP_MAX_REGION || s->memory + len > RSP_MAX_MEMORY || v->nreg >= RSP_MAX_REGIONS) return -1;
    if (len && addr > UINT64_MAX - len) return -1;
    /* One guard byte so that an off-by-one range check (a mutant) stays inside the allocation. */
    uint8_t *mem = calloc(1, (size_t)len + 1);
    if (!mem) return -1;
    v->reg[v->nreg++] = (rsp_region){ addr, len, mem };
    s->memory += len;
    return 0;
}

/* The bytes [addr, addr+len) if they lie inside one enabled region of the VI (US 6,545,981 col. 6:
   "the address is checked to ensure access has been enabled for that particular VI"). */
static uint8_t *access_range(const rn_node *n, rsp_vi *v, uint64_t addr, uint32_t len) {
    uint64_t slack = MUT(n, M_RSP_RDMA_BOUND_OFF_BY_ONE) ? 1 : 0;
    for (int k = 0; k < v->nreg; k++) {
        rsp_region *r = &v->reg[k];
        if (addr < r->addr) continue;
        uint64_t off = addr - r->addr;
        if (off > r->len) continue;
        if ((uint64_t)len <= (uint64_t)r->len - off + slack && off + len <= (uint64_t)r->len + 1) return r->mem + off;
    }
    return NULL;
}

static void respond(rn_node *n, uint8_t port, const san_pkt *req, uint8_t tt, uint8_t seq, uint8_t reason,
                    const uint8_t *data, uint16_t dlen) {
    /* SAN-RSP-RESP-FIELDS: to the request's source, by the arrival port, same ACB, TSN, VI op byte, VI. */
    san_pkt r;
    memset(&r, 0, sizeof r);
    r.did = req->sid; r.acb = req->acb; r.tt = tt; r.tsn = req->tsn;
    r.viop = req->viop; r.op = req->op; r.seq = seq; r.vi = req->vi;
    r.len = dlen; r.payload = data; r.reason = reason;
    emit_san(n, MUT(n, M_RSP_REPLY_PORT0) ? 0 : port, &r);
}

static void deliver(rn_node *n, const san_pkt *p) {
    rn_wb w; wb_init(&w);
    wb_u8(&w, 0x02);
    wb_u16(&w, p->vi);
    wb_u8(&w, (uint8_t)((p->first ? 1 : 0) | (p->last ? 2 : 0) | (p->imm ? 4 : 0)));
    wb_u32(&w, p->immediate);
    wb_bytes(&w, p->payload, p->len);
    if (!w.bad) emit_frame(n, RN_EVENT, w.p, w.len);
    wb_free(&w);
}

enum { CLASS_EXPECTED, CLASS_AHEAD, CLASS_DUPLICATE };

/* SAN-RSP-SEQ-PARTITION: d = (s - E) mod 256: 0 expected, 1-127 ahead, 128-255 duplicate. */
static int classify(const rn_node *n, uint8_t s, uint8_t e) {
    if (s == e) return CLASS_EXPECTED;
    if (MUT(n, M_RSP_PLAIN_COMPARE)) return s > e ? CLASS_AHEAD : CLASS_DUPLICATE;
    uint8_t d = (uint8_t)(s - e);
    uint8_t last_ahead = MUT(n, M_RSP_WINDOW_OFF_BY_ONE) ? 128 : 127;
    return d <= last_ahead ? CLASS_AHEAD : CLASS_DUPLICATE;
}

static void request(rn_node *n, uint8_t port, int path, const san_pkt *p) {
    struct rn_responder *s = n->rsp;
    rsp_vi *v = find_vi(s, p->vi);
    if (!v) { respond(n, port, p, TT_NACK, p->seq, NACK_NO_VI, NULL, 0); return; }    /* SAN-RSP-NO-VI */
    bool barrier_vi = s->barrier_set && p->vi == s->barrier_vi;
    /* SAN-RSP-REQINPATH: a cleared bit means the path was declared bad; ignore the request. */
    if (!(v->reqinpath & (1u << path)) && !barrier_vi && !MUT(n, M_RSP_ACCEPT_BAD_PATH)) return;

    switch (classify(n, p->seq, v->expected)) {
    case CLASS_AHEAD:
        /* SAN-RSP-SEQ-AHEAD-DISCARD, with the preferred sequence-error NACK (col. 9 ll. 7-14). */
        respond(n, port, p, TT_NACK, MUT(n, M_RSP_NACK_WRONG_SEQ) ? v->expected : p->seq, NACK_SEQ, NULL, 0);
        return;
    case CLASS_DUPLICATE:
        if (MUT(n, M_RSP_NACK_DUPLICATES)) {
            respond(n, port, p, TT_NACK, p->seq, NACK_SEQ, NULL, 0);
            return;
        }
        /* SAN-RSP-DUP-READ: "the responder completes the read operation and returns the data". */
        if (p->op == OP_READ && !MUT(n, M_RSP_DUP_READ_NOT_REEXECUTED)) {
            uint8_t *m = access_range(n, v, p->address, p->len);
            if (!m) { respond(n, port, p, TT_NACK, p->seq, NACK_ACCESS, NULL, 0); return; }
            respond(n, port, p, TT_ACK, p->seq, 0, m, p->len);
            return;
        }
        /* SAN-RSP-DUP-ACK: "the responder ACKs the packet and throws it away". */
        respond(n, port, p, TT_ACK, p->seq, 0, NULL, 0);
        return;
    default:
        break;
    }

    /* SAN-RSP-SEQ-EXPECTED: process, acknowledge, commit. */
    if (p->op == OP_SEND) {
        deliver(n, p);
        respond(n, port, p, TT_ACK, p->seq, 0, NULL, 0);
    } else {
        uint8_t *m = access_range(n, v, p->address, p->len);
        if (!m) { respond(n, port, p, TT_NACK, p->seq, NACK_ACCESS, NULL, 0); return; }  /* SAN-RSP-RDMA-ACCESS */
        if (p->op == OP_WRITE) {
            memmove(m, p->payload, p->len);
            respond(n, port, p, TT_ACK, p->seq, 0, NULL, 0);
        } else {
            respond(n, port, p, TT_ACK, p->seq, 0, m, p->len);
        }
    }
    /* SAN-RSP-SEQ-ORDERED-INC / SAN-RSP-SEQ-UNORDERED-HOLD */
    if (p->ordered || MUT(n, M_RSP_INC_UNORDERED)) v->expected++;
}

static void supervisory(rn_node *n, uint8_t port, const san_pkt *p) {
    struct rn_responder *s = n->rsp;
    switch (p->supop) {
    case SUP_PATH_BAD:     /* SAN-RSP-SUP-PATH-BAD: clear the bit for every VI (the barrier VI excepted) */
        for (int i = 0; i < s->nvi; i++) {
            if (s->barrier_set && s->vi[i].id == s->barrier_vi) continue;
            s->vi[i].reqinpath &= (uint8_t)~(1u << p->path);
            if (MUT(n, M_RSP_PATH_BAD_FIRST_VI_ONLY)) break;
        }
        break;
    case SUP_PATH_GOOD:    /* SAN-RSP-SUP-PATH-GOOD */
        for (int i = 0; i < s->nvi; i++) s->vi[i].reqinpath |= (uint8_t)(1u << p->path);
        break;
    case SUP_BARRIER_LOC: { /* SAN-RSP-SUP-BARRIER-LOC: enable the 8 bytes, exempt the VI */
        rsp_vi *v = find_vi(s, p->sup_vi);
        if (!v) v = create_vi(s, p->sup_vi);
        if (!v) return;                                   /* no room: no acknowledgement */
        if (!access_range(n, v, p->sup_address, 8) && add_region(s, v, p->sup_address, 8) != 0) return;
        s->barrier_set = true;
        s->barrier_vi = p->sup_vi;
        break;
    }
    default:
        return;            /* acknowledgements are the requestor's business */
    }
    san_pkt a;
    memset(&a, 0, sizeof a);
    a.did = p->sid; a.acb = p->acb; a.tt = TT_SUP; a.tsn = p->tsn;
    a.supop = (uint8_t)(p->supop + 1); a.path = p->path; a.sup_vi = p->sup_vi; a.sup_address = p->sup_address;
    emit_san(n, MUT(n, M_RSP_REPLY_PORT0) ? 0 : port, &a);
}

int rsp_packet(rn_node *n, uint8_t port, const uint8_t *b, size_t len, const char **why) {
    if (port > 1) { *why = "PACKET: SAN port must be 0 or 1"; return -1; }
    san_pkt p;
    /* Claim 4: an invalid packet is discarded without a response. */
    if (san_decode(b, len, &p, !MUT(n, M_RSP_SKIP_CRC)) != SAN_OK) return 0;
    if (p.did != n->san.port[port]) return 0;                                            /* SAN-RSP-VALID-DID */
    if (!MUT(n, M_RSP_SKIP_FABRIC) && p.fabric != ((n->san.fabrics >> port) & 1)) return 0; /* SAN-RSP-VALID-FABRIC */
    int rport = p.sid == n->san.peer[0] ? 0 : p.sid == n->san.peer[1] ? 1 : -1;
    if (rport < 0) return 0;                                                             /* not the peer node */
    if (p.tt == TT_SUP) { supervisory(n, port, &p); return 0; }
    if (p.tt != TT_REQUEST) return 0;                                                    /* SAN-RSP-VALID-REQCODE */
    request(n, port, rport * 2 + port, &p);
    return 0;
}

int rsp_command(rn_node *n, uint8_t cmd, rn_rd *r, const char **why) {
    struct rn_responder *s = n->rsp;
    switch (cmd) {
    case 0x01: { /* CREATE-VI */
        uint16_t vi = rd_u16(r);
        if (!rd_done(r)) { *why = "CREATE-VI: body must be u16 vi"; return -1; }
        if (!create_vi(s, vi)) { *why = "CREATE-VI: too many VIs"; return -1; }
        return 0;
    }
    case 0x02: { /* ENABLE-RDMA */
        uint16_t vi = rd_u16(r); uint64_t addr = rd_u64(r); uint32_t len = rd_u32(r);
        if (!rd_done(r)) { *why = "ENABLE-RDMA: body must be u16 vi, u64 address, u32 length"; return -1; }
        rsp_vi *v = find_vi(s, vi);
        if (!v) { *why = "ENABLE-RDMA: no such VI"; return -1; }
        if (add_region(s, v, addr, len) != 0) { *why = "ENABLE-RDMA: region too large or too many regions"; return -1; }
        return 0;
    }
    case 0x04: { /* READ-MEMORY */
        uint16_t vi = rd_u16(r); uint64_t addr = rd_u64(r); uint32_t len = rd_u32(r);
        if (!rd_done(r)) { *why = "READ-MEMORY: body must be u16 vi, u64 address, u32 length"; return -1; }
        rsp_vi *v = find_vi(s, vi);
        bool saved = n->mutant == M_RSP_RDMA_BOUND_OFF_BY_ONE;
        if (saved) n->mutant = M_NONE;      /* the kit's own view of memory is exact */
        uint8_t *m = v ? access_range(n, v, addr, len) : NULL;
        if (saved) n->mutant = M_RSP_RDMA_BOUND_OFF_BY_ONE;
        if (!m) { *why = "READ-MEMORY: range not enabled for the VI"; return -1; }
        rn_wb w; wb_init(&w);
        wb_u8(&w, 0x03); wb_u16(&w, vi); wb_u64(&w, addr); wb_bytes(&w, m, len);
        if (!w.bad) emit_frame(n, RN_EVENT, w.p, w.len);
        wb_free(&w);
        return 0;
    }
    default:
        *why = "command not supported by san-responder";
        return -1;
    }
}
