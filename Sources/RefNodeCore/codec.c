/* Byte readers and writers, CRC-32C, the SAN packet codec (specs/san-wire.md) and the failover
   status message with its carriage (specs/failover-wire.md). Every reader is bounds-checked: a short
   read sets `bad` and returns zero instead of touching memory past the end. */
#include <stdlib.h>
#include <string.h>
#include "rn_internal.h"

/* ---- readers ------------------------------------------------------------------------------ */

static bool rd_need(rn_rd *r, size_t n) {
    if (r->bad || r->len - r->off < n) { r->bad = true; return false; }
    return true;
}
uint8_t rd_u8(rn_rd *r) { if (!rd_need(r, 1)) return 0; return r->p[r->off++]; }
uint16_t rd_u16(rn_rd *r) { if (!rd_need(r, 2)) return 0; uint16_t v = get_be16(r->p + r->off); r->off += 2; return v; }
uint32_t rd_u32(rn_rd *r) { if (!rd_need(r, 4)) return 0; uint32_t v = get_be32(r->p + r->off); r->off += 4; return v; }
uint64_t rd_u64(rn_rd *r) { if (!rd_need(r, 8)) return 0; uint64_t v = get_be64(r->p + r->off); r->off += 8; return v; }
const uint8_t *rd_bytes(rn_rd *r, size_t n) {
    static const uint8_t empty[1] = { 0 };
    if (!rd_need(r, n)) return NULL;
    const uint8_t *p = n ? r->p + r->off : empty;
    r->off += n;
    return p;
}

void put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
void put_be32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (24 - 8 * i)); }
void put_be64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i)); }
uint16_t get_be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
uint32_t get_be32(const uint8_t *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }
uint64_t get_be64(const uint8_t *p) { return ((uint64_t)get_be32(p) << 32) | get_be32(p + 4); }

/* ---- writers ------------------------------------------------------------------------------ */

void wb_init(rn_wb *w) { w->p = NULL; w->len = 0; w->cap = 0; w->bad = false; }
void wb_free(rn_wb *w) { free(w->p); wb_init(w); }
void wb_bytes(rn_wb *w, const void *src, size_t n) {
    if (w->bad || n == 0) return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n) cap *= 2;
        uint8_t *p = realloc(w->p, cap);
        if (!p) { w->bad = true; return; }
        w->p = p; w->cap = cap;
    }
    memcpy(w->p + w->len, src, n);
    w->len += n;
}
void wb_u8(rn_wb *w, uint8_t v) { wb_bytes(w, &v, 1); }
void wb_u16(rn_wb *w, uint16_t v) { uint8_t b[2]; put_be16(b, v); wb_bytes(w, b, 2); }
void wb_u32(rn_wb *w, uint32_t v) { uint8_t b[4]; put_be32(b, v); wb_bytes(w, b, 4); }
void wb_u64(rn_wb *w, uint64_t v) { uint8_t b[8]; put_be64(b, v); wb_bytes(w, b, 8); }

/* ---- CRC-32C (Castagnoli, reflected 0x82F63B78, init/xorout 0xFFFFFFFF) -------------------- */

uint32_t rn_crc32c(const uint8_t *p, size_t n) {
    static uint32_t table[256];
    static int ready = 0;
    if (!ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
            table[i] = c;
        }
        ready = 1;
    }
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* ---- SAN packets -------------------------------------------------------------------------- */

/* Size of the fixed part (header, VI header, extension, NACK reason / supervisory body) before any
   payload, or 0 when it cannot be known yet. */
static size_t san_fixed(uint8_t tt, const uint8_t *b, size_t n) {
    switch (tt) {
    case TT_REQUEST: {
        if (n < 12) return 15;
        uint8_t op = b[11] >> 6;
        if (op == OP_WRITE || op == OP_READ) return 23;
        return (b[11] & 0x04) ? 19 : 15;
    }
    case TT_ACK: return 15;
    case TT_NACK: return 16;
    default: return 23;
    }
}

int san_decode(const uint8_t *b, size_t n, san_pkt *o, bool check_crc) {
    memset(o, 0, sizeof *o);
    if (n < 11) return SAN_TRUNCATED;
    uint32_t r = ((uint32_t)b[0] << 16) | ((uint32_t)b[1] << 8) | b[2];
    o->did = r >> 4; o->acb = (r >> 1) & 7; o->fabric = r & 1;
    o->tt = b[3] >> 4;
    if (o->tt < TT_REQUEST || o->tt > TT_SUP) return SAN_BAD_CODE;
    if ((b[3] & 0x0F) || (b[6] & 0x0F)) return SAN_RESERVED;
    o->sid = (((uint32_t)b[4] << 16) | ((uint32_t)b[5] << 8) | b[6]) >> 4;
    o->tsn = get_be16(b + 7);
    o->len = get_be16(b + 9);
    if (o->len > SAN_MAX_PAYLOAD) return SAN_TOO_LONG;
    if (o->tt != TT_SUP && n >= 12 && (b[11] >> 6) == 3) return SAN_BAD_CODE;
    size_t fixed = san_fixed(o->tt, b, n);
    size_t payload = 0;
    if (o->tt == TT_REQUEST && n >= 12 && (b[11] >> 6) != OP_READ) payload = o->len;
    if (o->tt == TT_ACK) payload = o->len;
    if (n < fixed + 4) return SAN_TRUNCATED;
    if (n != fixed + payload + 4) return SAN_LENGTH;
    if (check_crc && rn_crc32c(b, n - 4) != get_be32(b + n - 4)) return SAN_CRC;
    if (o->acb > 4) return SAN_BAD_CODE;
    if (o->tt == TT_SUP) {
        if (o->len != 0) return SAN_LENGTH;
        o->supop = b[11]; o->path = b[12]; o->sup_vi = get_be16(b + 13); o->sup_address = get_be64(b + 15);
        if (o->supop < SUP_PATH_BAD || o->supop > SUP_BARRIER_LOC_ACK) return SAN_BAD_CODE;
        if (o->path & 0xFC) return SAN_RESERVED;
        if (o->supop != SUP_BARRIER_LOC && o->supop != SUP_BARRIER_LOC_ACK && (o->sup_vi || o->sup_address))
            return SAN_RESERVED;
        return SAN_OK;
    }
    o->viop = b[11]; o->op = b[11] >> 6;
    o->ordered = (b[11] >> 5) & 1; o->first = (b[11] >> 4) & 1; o->last = (b[11] >> 3) & 1; o->imm = (b[11] >> 2) & 1;
    o->seq = b[12]; o->vi = get_be16(b + 13);
    if ((b[11] & 0x03) || (o->imm && o->op != OP_SEND)) return SAN_RESERVED;
    if (o->tt == TT_REQUEST) {
        size_t off = 15;
        if (o->op != OP_SEND) { o->address = get_be64(b + 15); off = 23; }
        else if (o->imm) { o->immediate = get_be32(b + 15); off = 19; }
        o->payload = b + off;
    } else if (o->tt == TT_ACK) {
        if (o->len != 0 && o->op != OP_READ) return SAN_LENGTH;
        o->payload = b + 15;
    } else {
        if (o->len != 0) return SAN_LENGTH;
        o->reason = b[15];
        if (o->reason < NACK_SEQ || o->reason > NACK_NO_VI) return SAN_BAD_CODE;
    }
    return SAN_OK;
}

size_t san_encode(const san_pkt *p, uint8_t *b) {
    uint32_t r = ((p->did & 0xFFFFF) << 4) | ((uint32_t)(p->acb & 7) << 1) | (p->fabric & 1);
    b[0] = (uint8_t)(r >> 16); b[1] = (uint8_t)(r >> 8); b[2] = (uint8_t)r;
    b[3] = (uint8_t)(p->tt << 4);
    uint32_t s = (p->sid & 0xFFFFF) << 4;
    b[4] = (uint8_t)(s >> 16); b[5] = (uint8_t)(s >> 8); b[6] = (uint8_t)s;
    put_be16(b + 7, p->tsn);
    uint16_t len = p->len > SAN_MAX_PAYLOAD ? SAN_MAX_PAYLOAD : p->len;
    put_be16(b + 9, len);
    size_t off = 11;
    if (p->tt == TT_SUP) {
        b[11] = p->supop; b[12] = p->path; put_be16(b + 13, p->sup_vi); put_be64(b + 15, p->sup_address);
        off = 23;
    } else {
        b[11] = p->viop; b[12] = p->seq; put_be16(b + 13, p->vi);
        off = 15;
        if (p->tt == TT_REQUEST) {
            if (p->op != OP_SEND) { put_be64(b + off, p->address); off += 8; }
            else if (p->imm) { put_be32(b + off, p->immediate); off += 4; }
            if (p->op != OP_READ && len) { memcpy(b + off, p->payload, len); off += len; }
        } else if (p->tt == TT_ACK) {
            if (len) { memcpy(b + off, p->payload, len); off += len; }
        } else {
            b[off++] = p->reason;
        }
    }
    put_be32(b + off, rn_crc32c(b, off));
    return off + 4;
}

/* ---- failover status message and carriage ------------------------------------------------- */

static const char *const carrier_magic[CH_COUNT] = { "VFMB", "VFNV", "VFUD" };
static const size_t carrier_size[CH_COUNT] = { 512, 64, 52 };

size_t fo_encode_carrier(const fo_msg *m, int ch, uint8_t writer_slot, uint8_t *out) {
    size_t size = carrier_size[ch];
    memset(out, 0, size);
    memcpy(out, carrier_magic[ch], 4);
    out[4] = 1;
    out[5] = writer_slot;
    put_be16(out + 6, FO_MSG_LEN);
    uint8_t *b = out + 8;
    b[0] = 0x56; b[1] = 0x46;
    b[2] = m->version;
    b[3] = m->state;
    put_be16(b + 4, m->flags);
    put_be16(b + 6, FO_MSG_LEN);
    put_be64(b + 8, m->system_id);
    put_be32(b + 16, m->generation);
    put_be64(b + 20, m->sequence);
    put_be32(b + 28, m->peer_generation);
    put_be64(b + 32, m->peer_sequence);
    put_be32(b + 40, rn_crc32c(b, 40));
    return size;
}

bool fo_decode_carrier(const uint8_t *c, size_t n, int ch, bool check_crc, fo_msg *m, uint8_t *writer_slot) {
    if (ch < 0 || ch >= CH_COUNT || n != carrier_size[ch]) return false;
    if (memcmp(c, carrier_magic[ch], 4) != 0 || c[4] != 1 || c[5] > 1 || get_be16(c + 6) != FO_MSG_LEN) return false;
    for (size_t i = 52; i < n; i++) if (c[i]) return false;
    const uint8_t *b = c + 8;
    if (b[0] != 0x56 || b[1] != 0x46 || get_be16(b + 6) != FO_MSG_LEN) return false;
    if (check_crc && rn_crc32c(b, 40) != get_be32(b + 40)) return false;
    m->version = b[2];
    m->state = b[3];
    m->flags = get_be16(b + 4);
    if (m->state < FS_NORMAL || m->state > FS_DISABLE || (m->flags & ~FO_FLAG_RECOVERING)) return false;
    m->system_id = get_be64(b + 8);
    m->generation = get_be32(b + 16);
    m->sequence = get_be64(b + 20);
    m->peer_generation = get_be32(b + 28);
    m->peer_sequence = get_be64(b + 32);
    /* The envelope is outside the CRC: its writer slot must agree with the message's system id,
       whose low byte is slot + 1 (failover-wire.md section 1). */
    if ((m->system_id & 0xFF) != (uint64_t)c[5] + 1) return false;
    *writer_slot = c[5];
    return true;
}
