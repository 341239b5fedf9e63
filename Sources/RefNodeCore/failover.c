/* The failover-node role (US 6,119,244, FIG. 2): states NORMAL 210, TAKEOVER 220, STOPPED 230 and
 * REBOOTING 240; status messages over the mailbox disks, the SAN (persistent memory) and the network;
 * the newness rule on the merged stream; per-channel time-outs and the silence multiple; takeover
 * (step 213), giveback (step 222) and the reboot steps 251-258.
 *
 * How refnode drives the channels through the adapter (choices where the specs leave it open):
 *  - Every status period (node B offset by half a period) a running node sends one message, the
 *    same bytes on every channel, with a fresh sequence number:
 *      mailbox: DISK write, disk 0, block 8 + own slot, 1 block (512-byte "VFMB" region); when that
 *               write completes, the same region to disk 2 (first, then second mailbox disk);
 *      SAN:     DISK write to device 0xFF (the peer's persistent memory, reached over the SAN),
 *               block = own slot, 1 slot (64-byte "VFNV" record); and the same record to device
 *               0xFE (own persistent memory), block = own slot;
 *      network: PACKET on port 2 (52-byte "VFUD" payload).
 *    and polls: DISK read of disk 0 and disk 2, block 8 + peer slot, and of device 0xFE, block =
 *    peer slot (the record the peer wrote into our persistent memory).
 *  - Persistent memory slot 2 holds the node record: "VFNR", version 1, flags (bit 0: takeover
 *    disabled by the operator), 2 zero bytes, u32 generation, u32 CRC-32C of bytes 0..11, zeros.
 *  - At BOOT / REBOOT (step 251) the node reads slots 0-2 of device 0xFE in one request, takes the
 *    generation from slot 2, increments it, writes slot 2 back, and once that write completed reports
 *    its status (NO-TAKEOVER with RECOVERING) on every channel. Then one step per tick.
 */
#include <stdlib.h>
#include <string.h>
#include "rn_internal.h"

enum { ST_OFF = 0, ST_NORMAL = 1, ST_TAKEOVER = 2, ST_STOPPED = 3, ST_REBOOTING = 4 };
enum { SUB_NONE, SUB_213_WAIT, SUB_213_RESERVE, SUB_222_RELEASE, SUB_222_HOLD };
enum { K_BOOT_READ = 1, K_NODE_WRITE, K_OWN_PM_WRITE, K_PEER_PM_WRITE, K_MB_WRITE1, K_MB_WRITE2,
       K_MB_READ, K_PM_POLL, K_RESERVE, K_RELEASE };
enum { DOP_RESERVE = 1, DOP_RELEASE = 2, DOP_WRITE = 3, DOP_READ = 4 };
#define DEV_PM 0xFE
#define DEV_PEER_PM 0xFF
#define MAX_PENDING 64
#define NODE_RECORD_SLOT 2

typedef struct {
    bool used;
    uint16_t tag;
    uint8_t kind, device;
    fo_msg msg;               /* K_MB_WRITE1: the message to write to the second mailbox disk */
} pending;

struct rn_failover {
    uint8_t state, sub;
    uint16_t step;            /* 251-258 while rebooting */
    uint32_t generation;
    bool gen_persisted;
    uint64_t seq;
    bool op_disabled, peer_disabled, version_mismatch;
    bool op_commanded;        /* DISABLE / ENABLE given during this boot before the node record was read */
    bool record_read;         /* this boot has read the node record: the new generation is known */
    /* FO-MSG-NEWNESS on the merged stream: the most recent new message */
    bool have_recent;
    uint32_t rec_gen;
    uint64_t rec_seq;
    /* FO-CHANNEL-UPDATE: per channel, the newest message seen on it and when */
    bool ch_have[CH_COUNT];
    uint32_t ch_gen[CH_COUNT];
    uint64_t ch_seq[CH_COUNT];
    uint64_t ch_update[CH_COUNT];
    bool peer_known;
    uint8_t peer_state;
    uint8_t prev_own_state;   /* own state before the interruption, from own persistent memory */
    bool seize_all;
    uint64_t next_tick, wait_end;
    int disk_pending;         /* reservations / releases still to be answered */
    bool disk_failed;
    uint16_t next_tag;
    pending pend[MAX_PENDING];
    int pend_next;
    /* last STATE reported */
    bool reported;
    uint8_t r_state, r_step, r_enabled;
    uint32_t r_gen;
};

int fo_create(rn_node *n) {
    n->fov = calloc(1, sizeof *n->fov);
    return n->fov ? 0 : -1;
}

void fo_destroy(rn_node *n) {
    free(n->fov);
    n->fov = NULL;
}

static uint8_t own_slot(rn_node *n) { return n->fo.slot; }
static uint8_t peer_slot(rn_node *n) { return (uint8_t)(n->fo.slot ^ 1); }
static uint8_t own_disk(rn_node *n, int k) { return (uint8_t)(n->fo.slot * 2 + k); }
static uint8_t peer_disk(rn_node *n, int k) { return (uint8_t)((n->fo.slot ^ 1) * 2 + k); }

/* ---- observations ------------------------------------------------------------------------- */

/* Effective takeover enablement: operator, peer's DISABLE / NO-TAKEOVER, version mismatch. */
static bool takeover_enabled(struct rn_failover *f) {
    return !f->op_disabled && !f->peer_disabled && !f->version_mismatch;
}

static void report_state(rn_node *n) {
    struct rn_failover *f = n->fov;
    if (f->state == ST_OFF) return;
    uint8_t en = takeover_enabled(f) ? 1 : 0;
    /* adapter.md gives STATE's step a u8, where 256-258 do not fit: refnode reports step - 250
       (1-8 for steps 251-258, 0 outside REBOOTING). */
    uint8_t step = f->state == ST_REBOOTING ? (uint8_t)(f->step - 250) : 0;
    if (f->reported && f->r_state == f->state && f->r_step == step && f->r_gen == f->generation && f->r_enabled == en)
        return;
    f->reported = true; f->r_state = f->state; f->r_step = step; f->r_gen = f->generation; f->r_enabled = en;
    uint8_t b[8];
    b[0] = 0x20; b[1] = f->state; b[2] = step;
    put_be32(b + 3, f->generation);
    b[7] = en;
    emit_frame(n, RN_EVENT, b, 8);
}

static uint16_t disk(rn_node *n, uint8_t kind, uint8_t op, uint8_t device, uint32_t block, uint32_t count,
                     const uint8_t *data, size_t len, const fo_msg *m) {
    struct rn_failover *f = n->fov;
    uint16_t tag = f->next_tag++;
    pending *p = &f->pend[f->pend_next];
    f->pend_next = (f->pend_next + 1) % MAX_PENDING;   /* the oldest unanswered request is forgotten */
    p->used = true; p->tag = tag; p->kind = kind; p->device = device;
    if (m) p->msg = *m;
    uint8_t b[12 + 512];
    put_be16(b, tag);
    b[2] = op; b[3] = device;
    put_be32(b + 4, block);
    put_be32(b + 8, count);
    if (len > 512) len = 512;
    if (len) memcpy(b + 12, data, len);
    emit_frame(n, RN_DISK, b, 12 + len);
    return tag;
}

static void write_node_record(rn_node *n) {
    struct rn_failover *f = n->fov;
    uint8_t r[64];
    memset(r, 0, sizeof r);
    memcpy(r, "VFNR", 4);
    r[4] = 1;
    r[5] = f->op_disabled ? 1 : 0;
    put_be32(r + 8, f->generation);
    put_be32(r + 12, rn_crc32c(r, 12));
    disk(n, K_NODE_WRITE, DOP_WRITE, DEV_PM, NODE_RECORD_SLOT, 1, r, 64, NULL);
}

/* FO-SEND-ALL-CHANNELS: one message, a fresh sequence number, the same payload on every channel. */
static void send_status(rn_node *n, uint8_t state, uint16_t flags) {
    struct rn_failover *f = n->fov;
    fo_msg m;
    memset(&m, 0, sizeof m);
    m.version = 1;
    m.state = state;
    m.flags = flags;
    m.system_id = n->fo.system_id;
    m.generation = f->generation;
    m.sequence = ++f->seq;                         /* FO-SEQ-INCREMENT, FO-SEQ-PER-GENERATION */
    m.peer_generation = f->have_recent ? f->rec_gen : 0;   /* FO-MSG-PEER-ECHO */
    m.peer_sequence = f->have_recent ? f->rec_seq : 0;
    uint8_t c[512];
    size_t len = fo_encode_carrier(&m, CH_NET, own_slot(n), c);
    emit_packet(n, 2, c, len);                                                   /* FO-NET-DATAGRAM */
    len = fo_encode_carrier(&m, CH_SAN, own_slot(n), c);
    disk(n, K_PEER_PM_WRITE, DOP_WRITE, DEV_PEER_PM, own_slot(n), 1, c, len, NULL); /* FO-SAN-PERSISTENT-MEMORY */
    disk(n, K_OWN_PM_WRITE, DOP_WRITE, DEV_PM, own_slot(n), 1, c, len, NULL);       /* FO-SAVE-OWN-STATE */
    len = fo_encode_carrier(&m, CH_MAILBOX, own_slot(n), c);
    disk(n, K_MB_WRITE1, DOP_WRITE, 0, 8u + own_slot(n), 1, c, len, &m);            /* FO-MAILBOX-REGIONS */
}

static void send_current_status(rn_node *n) {
    struct rn_failover *f = n->fov;
    switch (f->state) {
    case ST_REBOOTING:  /* FO-RECOVERY-REPORT, FO-RECOVERY-FLAG */
        send_status(n, FS_NO_TAKEOVER, FO_FLAG_RECOVERING);
        break;
    case ST_NORMAL:
        if (f->sub == SUB_213_WAIT || f->sub == SUB_213_RESERVE)
            send_status(n, MUT(n, M_FO_TAKEOVER_NO_ANNOUNCE) ? FS_NORMAL : FS_TAKEOVER, 0);
        else
            send_status(n, f->op_disabled ? FS_DISABLE : FS_NORMAL, 0);       /* FO-DISABLE-SIGNAL */
        break;
    case ST_TAKEOVER:   /* FO-TAKEOVER-MESSAGES; FO-222-HOLD-DISABLED while waiting at step 222 */
        send_status(n, f->sub == SUB_222_HOLD ? FS_NO_TAKEOVER : FS_TAKEOVER, 0);
        break;
    default:
        break;
    }
}

static void poll_channels(rn_node *n) {
    disk(n, K_MB_READ, DOP_READ, 0, 8u + peer_slot(n), 1, NULL, 0, NULL);
    disk(n, K_MB_READ, DOP_READ, 2, 8u + peer_slot(n), 1, NULL, 0, NULL);
    disk(n, K_PM_POLL, DOP_READ, DEV_PM, peer_slot(n), 1, NULL, 0, NULL);
}

/* ---- transitions -------------------------------------------------------------------------- */

static void clear_pending(struct rn_failover *f) {
    memset(f->pend, 0, sizeof f->pend);
    f->disk_pending = 0;
    f->disk_failed = false;
}

static void stop(rn_node *n) {                  /* STOPPED 230: no disks, no operations */
    struct rn_failover *f = n->fov;
    f->state = ST_STOPPED;
    f->sub = SUB_NONE;
    clear_pending(f);
    report_state(n);
}

static uint64_t first_tick_after(rn_node *n, uint64_t t) {
    /* FO-STATUS-PERIOD: ticks at offset + k * period, node B offset by half a period. */
    uint64_t period = n->fo.status_period;
    uint64_t offset = (n->fo.slot == 1 ? period / 2 : 0) % period;
    if (t < offset) return offset;
    uint64_t k = (t - offset) / period + 1;
    if (k > (UINT64_MAX - offset) / period) return RN_NEVER;
    return offset + k * period;
}

static void start_boot(rn_node *n) {            /* REBOOTING 240, step 251 */
    struct rn_failover *f = n->fov;
    uint32_t gen = f->generation;
    uint16_t tag = f->next_tag;
    memset(f, 0, sizeof *f);
    f->generation = gen;                        /* what STATE shows until the new one is persisted */
    /* Tags go on from the previous instantiation's: the answer to a request made before the boot
       (still in flight at the device) must not be taken for the answer to a new request with the
       same tag (a rebooted node ignores them, see fo_disk_result). */
    f->next_tag = tag;
    f->state = ST_REBOOTING;
    f->step = 251;
    for (int c = 0; c < CH_COUNT; c++) f->ch_update[c] = n->now;
    f->next_tick = first_tick_after(n, n->now);
    report_state(n);
    disk(n, K_BOOT_READ, DOP_READ, DEV_PM, 0, 3, NULL, 0, NULL);   /* FO-251-INITIATE: read persistent memory */
}

static void reserve_disks(rn_node *n, bool own, bool peers, uint8_t op) {
    struct rn_failover *f = n->fov;
    f->disk_pending = 0;
    f->disk_failed = false;
    for (int k = 0; k < 2; k++) {
        if (own) { disk(n, op == DOP_RESERVE ? K_RESERVE : K_RELEASE, op, own_disk(n, k), 0, 0, NULL, 0, NULL); f->disk_pending++; }
        if (peers) { disk(n, op == DOP_RESERVE ? K_RESERVE : K_RELEASE, op, peer_disk(n, k), 0, 0, NULL, 0, NULL); f->disk_pending++; }
    }
}

static void end_213_wait(rn_node *n) {
    struct rn_failover *f = n->fov;
    if (!takeover_enabled(f) && !MUT(n, M_FO_IGNORE_DISABLE)) {   /* FO-213-ABORT */
        f->sub = SUB_NONE;
        return;
    }
    f->sub = SUB_213_RESERVE;
    reserve_disks(n, false, true, DOP_RESERVE);                   /* FO-213-RESERVE */
}

static void begin_213(rn_node *n) {
    struct rn_failover *f = n->fov;
    f->sub = SUB_213_WAIT;
    send_current_status(n);                                       /* FO-213-SEND-TAKEOVER */
    if (MUT(n, M_FO_TAKEOVER_NO_WAIT)) { end_213_wait(n); return; }
    f->wait_end = n->now + n->fo.takeover_wait;                   /* FO-213-WAIT */
    if (f->wait_end < n->now) f->wait_end = RN_NEVER;
}

static void check_silence(rn_node *n) {
    struct rn_failover *f = n->fov;
    bool enabled = MUT(n, M_FO_IGNORE_DISABLE) ? (!f->peer_disabled && !f->version_mismatch) : takeover_enabled(f);
    if (f->state != ST_NORMAL || f->sub != SUB_NONE || !enabled) return;
    uint64_t mult = MUT(n, M_FO_SILENCE_SINGLE_TIMEOUT) ? 1 : n->fo.silence_multiple;
    int silent = 0;
    for (int c = 0; c < CH_COUNT; c++) {
        uint64_t limit = n->fo.timeout[c] > UINT64_MAX / mult ? UINT64_MAX : n->fo.timeout[c] * mult;
        if (n->now - f->ch_update[c] >= limit) silent++;
    }
    /* FO-TAKEOVER-SILENCE: every channel silent for the multiple of its own time-out. */
    if (MUT(n, M_FO_TAKEOVER_ONE_CHANNEL) ? silent > 0 : silent == CH_COUNT) begin_213(n);
}

static void advance_reboot(rn_node *n) {       /* one step of 251-258 per tick (FO-REBOOT-STEP-PACE) */
    struct rn_failover *f = n->fov;
    bool peer_takeover = f->peer_known && f->peer_state == FS_TAKEOVER;
    switch (f->step) {
    case 251:
        f->step = 252;
        break;
    case 252:   /* FO-252-CHECK-WRITABLE / FO-T241-REBOOT-FAILED: wait while the peer holds our disks */
        if (!peer_takeover) f->step = 253;
        break;
    case 253:   /* FO-253-PEER-STATE: own state before the interruption and the peer's now */
        f->seize_all = f->prev_own_state == FS_TAKEOVER && !(f->peer_known && f->peer_state == FS_NORMAL);
        f->step = f->seize_all ? 255 : 254;
        reserve_disks(n, true, f->seize_all, DOP_RESERVE);       /* FO-254-SEIZE-OWN / FO-255-SEIZE-ALL */
        break;
    case 254:
    case 255:
        if (f->disk_pending > 0) break;
        f->step = f->disk_failed ? 252 : 256;                    /* refused: the peer holds them */
        break;
    case 256:   /* FO-256-FLUSH: refnode keeps no pending file-server operations, nothing to flush */
        f->step = 257;
        break;
    case 257:   /* FO-257-CHECK-PREVENTING: the operator setting was read from persistent memory */
        f->step = 258;
        break;
    case 258:   /* FO-258-ENTER, FO-T242 / FO-T243 */
        f->state = f->seize_all ? ST_TAKEOVER : ST_NORMAL;
        f->step = 0;
        break;
    }
    report_state(n);
}

static void tick(rn_node *n) {
    struct rn_failover *f = n->fov;
    f->next_tick = first_tick_after(n, n->now);
    switch (f->state) {
    case ST_REBOOTING:
        if (!f->gen_persisted) {
            return;
        }
        send_current_status(n);
        poll_channels(n);
        advance_reboot(n);
        break;
    case ST_NORMAL:
        send_current_status(n);
        poll_channels(n);
        check_silence(n);
        break;
    case ST_TAKEOVER:
        send_current_status(n);
        poll_channels(n);
        break;
    default:
        break;
    }
}

/* ---- receiving ---------------------------------------------------------------------------- */

static bool newer(const rn_node *n, uint32_t g, uint64_t s, uint32_t G, uint64_t S) {
    if (MUT(n, M_FO_NEWNESS_SEQ_FIRST)) return s > S || (s == S && g > G);
    return g > G || (g == G && s > S);           /* FO-MSG-NEWNESS */
}

static void act_on(rn_node *n, const fo_msg *m) {
    struct rn_failover *f = n->fov;
    f->peer_known = true;
    if (m->version != 1) {                       /* FO-DISABLE-VERSION-MISMATCH */
        /* The state indicator of another protocol version is not interpreted: the mismatch only
           disables takeover (col. 6 ll. 36-40). Before, it was kept as the peer's state and held a
           node at step 252 but not at 253-258 (found by the failover fuzzer). */
        f->version_mismatch = true;
        report_state(n);
        return;
    }
    f->peer_state = m->state;
    f->version_mismatch = false;
    /* FO-DISABLE-PEER-MESSAGE */
    f->peer_disabled = (m->state == FS_DISABLE || m->state == FS_NO_TAKEOVER) && !MUT(n, M_FO_IGNORE_PEER_DISABLE);
    bool peer_takeover = m->state == FS_TAKEOVER && !MUT(n, M_FO_WRITE_AFTER_TAKEOVER);
    switch (f->state) {
    case ST_NORMAL:
        if (peer_takeover) { stop(n); return; }                      /* FO-CLAIM14-STOP-WRITING */
        if (f->sub == SUB_213_WAIT) f->sub = SUB_NONE;               /* FO-213-PASSIVE: the peer is alive */
        break;
    case ST_TAKEOVER:
        if (peer_takeover && f->sub != SUB_222_HOLD) { stop(n); return; }
        if (f->sub == SUB_222_HOLD && m->state == FS_NORMAL) {       /* giveback complete: T221 */
            f->state = ST_NORMAL;
            f->sub = SUB_NONE;
        }
        break;
    case ST_REBOOTING:
        if (m->state == FS_TAKEOVER && f->step > 252) {              /* FO-T241: wait for the giveback */
            f->step = 252;
            f->disk_pending = 0;
        }
        break;
    }
    report_state(n);
}

static void receive(rn_node *n, const uint8_t *b, size_t len, int ch) {
    struct rn_failover *f = n->fov;
    if (f->state == ST_OFF || f->state == ST_STOPPED) return;       /* FO-STOPPED-NO-OPERATIONS */
    fo_msg m;
    uint8_t writer;
    if (!fo_decode_carrier(b, len, ch, !MUT(n, M_FO_SKIP_CRC), &m, &writer)) return;   /* FO-WIRE-INTEGRITY */
    if (writer != peer_slot(n)) return;
    /* FO-CHANNEL-UPDATE: newer than anything earlier on this channel */
    bool ch_new = !f->ch_have[ch] || newer(n, m.generation, m.sequence, f->ch_gen[ch], f->ch_seq[ch]);
    if (ch_new) {
        f->ch_have[ch] = true;
        f->ch_gen[ch] = m.generation;
        f->ch_seq[ch] = m.sequence;
        f->ch_update[ch] = n->now;
    }
    /* FO-MSG-MERGED-STREAM: one newness record for all channels */
    bool is_new = MUT(n, M_FO_PER_CHANNEL_NEWNESS) ? ch_new
                : !f->have_recent || newer(n, m.generation, m.sequence, f->rec_gen, f->rec_seq);
    if (!is_new) return;                                            /* FO-MSG-IGNORE-OLD */
    f->have_recent = true;
    f->rec_gen = m.generation;
    f->rec_seq = m.sequence;
    act_on(n, &m);
}

int fo_packet(rn_node *n, uint8_t port, const uint8_t *b, size_t len, const char **why) {
    if (port != 2) { *why = "PACKET: failover-node packets arrive on port 2"; return -1; }
    receive(n, b, len, CH_NET);
    return 0;
}

/* ---- disk results ------------------------------------------------------------------------- */

static void boot_read(rn_node *n, uint8_t status, const uint8_t *d, size_t len) {
    struct rn_failover *f = n->fov;
    if (status != 0 || len != 192) {            /* cannot recover yet (T241): read again */
        disk(n, K_BOOT_READ, DOP_READ, DEV_PM, 0, 3, NULL, 0, NULL);
        return;
    }
    const uint8_t *rec = d + 64 * NODE_RECORD_SLOT;
    uint32_t old = 0;
    /* An operator command given at step 251 before the record was read wins over the record (found by
       the failover fuzzer: a DISABLE right after BOOT was lost and "enabled" written back). */
    if (!f->op_commanded) f->op_disabled = false;
    if (memcmp(rec, "VFNR", 4) == 0 && rec[4] == 1 && rn_crc32c(rec, 12) == get_be32(rec + 12)) {
        old = get_be32(rec + 8);                /* FO-GEN-PERSISTED */
        if (!f->op_commanded) f->op_disabled = (rec[5] & 1) != 0;   /* FO-DISABLE-OPERATOR: kept in persistent memory */
    }
    fo_msg m;
    uint8_t writer;
    f->prev_own_state = 0;
    if (fo_decode_carrier(d + 64 * own_slot(n), 64, CH_SAN, true, &m, &writer) && writer == own_slot(n))
        f->prev_own_state = m.state;            /* FO-SAVE-OWN-STATE, read back at reboot */
    /* FO-GEN-INCREMENT-AT-BOOT */
    f->generation = MUT(n, M_FO_GEN_NOT_INCREMENTED) ? old : old + 1;
    f->seq = 0;
    f->record_read = true;
    /* The record the peer left in our persistent memory goes through the newness rule. */
    receive(n, d + 64 * peer_slot(n), 64, CH_SAN);
    if (f->state != ST_REBOOTING) return;
    if (MUT(n, M_FO_GEN_NOT_PERSISTED)) {
        f->gen_persisted = true;
        report_state(n);
        send_current_status(n);
        return;
    }
    write_node_record(n);
}

int fo_disk_result(rn_node *n, uint16_t tag, uint8_t status, const uint8_t *d, size_t len, const char **why) {
    struct rn_failover *f = n->fov;
    (void)why;
    if (status > 2) { *why = "DISK-RESULT: status must be 0, 1 or 2"; return -1; }
    pending *p = NULL;
    for (int i = 0; i < MAX_PENDING; i++)
        if (f->pend[i].used && f->pend[i].tag == tag) { p = &f->pend[i]; break; }
    if (!p) return 0;                           /* a request from before a stop or reboot */
    pending req = *p;
    p->used = false;
    if (f->state == ST_OFF || f->state == ST_STOPPED) return 0;
    switch (req.kind) {
    case K_BOOT_READ:
        if (f->state == ST_REBOOTING && f->step == 251 && !f->gen_persisted) boot_read(n, status, d, len);
        break;
    case K_NODE_WRITE:
        if (status != 0) { write_node_record(n); break; }
        if (f->state == ST_REBOOTING && !f->gen_persisted) {
            f->gen_persisted = true;
            report_state(n);
            send_current_status(n);                                  /* FO-251-INITIATE: report status */
        }
        break;
    case K_MB_WRITE1:
        if (status == 1) { if (f->state != ST_REBOOTING) stop(n); break; }   /* FO-CLAIM13-FENCED */
        if (!MUT(n, M_FO_MAILBOX_ONE_DISK)) {                                 /* FO-MAILBOX-TWO-DISKS */
            uint8_t c[512];
            size_t l = fo_encode_carrier(&req.msg, CH_MAILBOX, own_slot(n), c);
            disk(n, K_MB_WRITE2, DOP_WRITE, 2, 8u + own_slot(n), 1, c, l, NULL);
        }
        break;
    case K_MB_WRITE2:
        if (status == 1 && f->state != ST_REBOOTING) stop(n);
        break;
    case K_MB_READ:
        if (status == 0) receive(n, d, len, CH_MAILBOX);
        break;
    case K_PM_POLL:
        if (status == 0) receive(n, d, len, CH_SAN);
        break;
    case K_RESERVE:
    case K_RELEASE:
        if (status != 0) f->disk_failed = true;
        if (f->disk_pending > 0) f->disk_pending--;
        if (f->disk_pending > 0) break;
        if (f->state == ST_NORMAL && f->sub == SUB_213_RESERVE) {
            f->sub = SUB_NONE;
            if (!f->disk_failed) f->state = ST_TAKEOVER;             /* FO-T212-TAKEOVER-OPERATION */
            report_state(n);
        } else if (f->state == ST_TAKEOVER && f->sub == SUB_222_RELEASE) {
            f->sub = SUB_222_HOLD;
            send_status(n, FS_NORMAL, 0);                            /* FO-222-SEND-NORMAL */
        }
        break;
    default:
        break;
    }
    return 0;
}

/* ---- commands and time -------------------------------------------------------------------- */

int fo_command(rn_node *n, uint8_t cmd, rn_rd *r, const char **why) {
    struct rn_failover *f = n->fov;
    if (cmd < 0x10 || cmd > 0x15) { *why = "command not supported by failover-node"; return -1; }
    if (!rd_done(r)) { *why = "failover commands take no arguments"; return -1; }
    bool running = f->state != ST_OFF && f->state != ST_STOPPED;
    switch (cmd) {
    case 0x10: /* BOOT: power on (a running node is power-cycled) */
    case 0x15: /* REBOOT: T231 */
        start_boot(n);
        break;
    case 0x11: /* DISABLE */
    case 0x12: /* ENABLE */
        if (!running) break;
        f->op_disabled = cmd == 0x11;
        f->op_commanded = true;
        /* FO-DISABLE-OPERATOR: the setting is kept in persistent memory. Before the node record was read
           the new generation is unknown: boot_read writes the setting with it. Afterwards it is written at
           once, also while the record with the new generation is still being written (before, a command
           given then was never written). A node rebooted before it wrote the setting has lost it with its
           volatile memory; one it wrote survives the reboot (model choice, specs/adapter.md §7.1). */
        if ((f->gen_persisted || f->record_read) && !MUT(n, M_FO_GEN_NOT_PERSISTED)) write_node_record(n);
        if (f->op_disabled && f->sub == SUB_213_WAIT && !MUT(n, M_FO_IGNORE_DISABLE)) f->sub = SUB_NONE; /* FO-213-ABORT */
        report_state(n);
        break;
    case 0x13: /* GIVEBACK: step 222 */
        if (f->state != ST_TAKEOVER || f->sub != SUB_NONE) break;
        if (MUT(n, M_FO_GIVEBACK_NO_RELEASE)) {
            f->sub = SUB_222_HOLD;
            send_status(n, FS_NORMAL, 0);
            break;
        }
        f->sub = SUB_222_RELEASE;
        reserve_disks(n, false, true, DOP_RELEASE);                  /* FO-222-RELEASE */
        break;
    case 0x14: /* STOP */
        if (f->state != ST_OFF) stop(n);
        break;
    }
    return 0;
}

void fo_time(rn_node *n) {
    struct rn_failover *f = n->fov;
    for (int guard = 0; guard < 100000; guard++) {
        if (f->state == ST_OFF || f->state == ST_STOPPED) return;
        bool wait_due = f->state == ST_NORMAL && f->sub == SUB_213_WAIT && f->wait_end <= n->now;
        bool tick_due = f->next_tick <= n->now;
        if (wait_due && (!tick_due || f->wait_end <= f->next_tick)) end_213_wait(n);
        else if (tick_due) tick(n);
        else return;
    }
}

uint64_t fo_next(rn_node *n) {
    struct rn_failover *f = n->fov;
    if (!f || f->state == ST_OFF || f->state == ST_STOPPED) return RN_NEVER;
    uint64_t t = f->next_tick;
    if (f->state == ST_NORMAL && f->sub == SUB_213_WAIT && f->wait_end < t) t = f->wait_end;
    return t;
}
