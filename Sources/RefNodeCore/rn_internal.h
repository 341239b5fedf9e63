/* Internal declarations of the refnode core: byte codec, SAN packet codec, failover message codec,
   the node and the three roles. Not part of the public interface. */
#ifndef RN_INTERNAL_H
#define RN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "refnode.h"

#define RN_NEVER UINT64_MAX

/* ---- mutants ------------------------------------------------------------------------------ */

enum rn_mutant_id {
    M_NONE = 0,
    /* san-responder */
    M_RSP_PLAIN_COMPARE, M_RSP_WINDOW_OFF_BY_ONE, M_RSP_INC_UNORDERED, M_RSP_NACK_DUPLICATES,
    M_RSP_DUP_READ_NOT_REEXECUTED, M_RSP_NACK_WRONG_SEQ, M_RSP_ACCEPT_BAD_PATH, M_RSP_SKIP_CRC,
    M_RSP_SKIP_FABRIC, M_RSP_RDMA_BOUND_OFF_BY_ONE, M_RSP_PATH_BAD_FIRST_VI_ONLY, M_RSP_REPLY_PORT0,
    /* san-requestor */
    M_REQ_EXCEED_WINDOW, M_REQ_INC_UNORDERED, M_REQ_COMPLETE_ON_LAST_ACK, M_REQ_RETX_FROM_NACKED,
    M_REQ_BARRIER_NUMBER_REUSED, M_REQ_RETRY_BEFORE_SUP_ACK, M_REQ_NO_BARRIER_AFTER_TIMEOUT,
    M_REQ_NO_NDAA, M_REQ_MATCH_IGNORES_TSN, M_REQ_UNORDERED_ON_BAD_PATH,
    /* failover-node */
    M_FO_GEN_NOT_INCREMENTED, M_FO_GEN_NOT_PERSISTED, M_FO_NEWNESS_SEQ_FIRST, M_FO_PER_CHANNEL_NEWNESS,
    M_FO_TAKEOVER_ONE_CHANNEL, M_FO_TAKEOVER_NO_ANNOUNCE, M_FO_TAKEOVER_NO_WAIT, M_FO_IGNORE_DISABLE,
    M_FO_IGNORE_PEER_DISABLE, M_FO_WRITE_AFTER_TAKEOVER, M_FO_GIVEBACK_NO_RELEASE,
    M_FO_MAILBOX_ONE_DISK, M_FO_SKIP_CRC, M_FO_SILENCE_SINGLE_TIMEOUT,
    M_COUNT
};

/* ---- bytes -------------------------------------------------------------------------------- */

typedef struct { const uint8_t *p; size_t len, off; bool bad; } rn_rd;

static inline rn_rd rn_reader(const uint8_t *p, size_t len) { rn_rd r = { p, len, 0, false }; return r; }
uint8_t rd_u8(rn_rd *r);
uint16_t rd_u16(rn_rd *r);
uint32_t rd_u32(rn_rd *r);
uint64_t rd_u64(rn_rd *r);
const uint8_t *rd_bytes(rn_rd *r, size_t n);
static inline size_t rd_left(const rn_rd *r) { return r->bad ? 0 : r->len - r->off; }
static inline bool rd_done(const rn_rd *r) { return !r->bad && r->off == r->len; }

/* A growable output buffer; on allocation failure it sets `bad` and drops writes. */
typedef struct { uint8_t *p; size_t len, cap; bool bad; } rn_wb;
void wb_init(rn_wb *w);
void wb_free(rn_wb *w);
void wb_u8(rn_wb *w, uint8_t v);
void wb_u16(rn_wb *w, uint16_t v);
void wb_u32(rn_wb *w, uint32_t v);
void wb_u64(rn_wb *w, uint64_t v);
void wb_bytes(rn_wb *w, const void *p, size_t n);

uint32_t rn_crc32c(const uint8_t *p, size_t n);
void put_be16(uint8_t *p, uint16_t v);
void put_be32(uint8_t *p, uint32_t v);
void put_be64(uint8_t *p, uint64_t v);
uint16_t get_be16(const uint8_t *p);
uint32_t get_be32(const uint8_t *p);
uint64_t get_be64(const uint8_t *p);

/* ---- SAN packets (specs/san-wire.md) ------------------------------------------------------ */

enum { TT_REQUEST = 1, TT_ACK = 2, TT_NACK = 3, TT_SUP = 4 };
enum { OP_SEND = 0, OP_WRITE = 1, OP_READ = 2 };
enum { NACK_SEQ = 1, NACK_ACCESS = 2, NACK_NO_VI = 3 };
enum { SUP_PATH_BAD = 1, SUP_PATH_BAD_ACK = 2, SUP_PATH_GOOD = 3, SUP_PATH_GOOD_ACK = 4,
       SUP_BARRIER_LOC = 5, SUP_BARRIER_LOC_ACK = 6 };
#define SAN_MAX_PAYLOAD 512
#define SAN_MAX_PACKET 539

typedef struct {
    uint32_t did, sid;
    uint8_t acb, fabric, tt;
    uint16_t tsn, len;
    /* VI header (TT 1-3) */
    uint8_t viop;            /* the whole VI operation byte */
    uint8_t op;              /* viop >> 6 */
    bool ordered, first, last, imm;
    uint8_t seq;
    uint16_t vi;
    uint64_t address;        /* RDMA requests */
    uint32_t immediate;      /* Send with IMM */
    const uint8_t *payload;  /* len bytes (requests with data, ACK to a read) */
    uint8_t reason;          /* NACK */
    /* supervisory (TT 4) */
    uint8_t supop, path;
    uint16_t sup_vi;
    uint64_t sup_address;
} san_pkt;

/* Decode errors, in the order of specs/san-wire.md "Decoding: order of checks". */
enum { SAN_OK = 0, SAN_TRUNCATED, SAN_BAD_CODE, SAN_TOO_LONG, SAN_LENGTH, SAN_CRC, SAN_RESERVED };
/* Strict decode. check_crc = false skips the CRC check (a mutant). The payload points into bytes. */
int san_decode(const uint8_t *bytes, size_t n, san_pkt *out, bool check_crc);
/* Encode into out (at least SAN_MAX_PACKET bytes); returns the size. Payload copied from p->payload. */
size_t san_encode(const san_pkt *p, uint8_t *out);

/* ---- failover status message (specs/failover-wire.md) ------------------------------------- */

enum { FS_NORMAL = 1, FS_TAKEOVER = 2, FS_NO_TAKEOVER = 3, FS_DISABLE = 4 };
enum { CH_MAILBOX = 0, CH_SAN = 1, CH_NET = 2, CH_COUNT = 3 };
#define FO_MSG_LEN 44
#define FO_FLAG_RECOVERING 1

typedef struct {
    uint8_t version, state;
    uint16_t flags;
    uint64_t system_id;
    uint32_t generation;
    uint64_t sequence;
    uint32_t peer_generation;
    uint64_t peer_sequence;
} fo_msg;

/* Writes the carrier for channel ch (512 / 64 / 52 bytes) into out (512 bytes); returns its size. */
size_t fo_encode_carrier(const fo_msg *m, int ch, uint8_t writer_slot, uint8_t *out);
/* Decodes a carrier of channel ch strictly; returns true and fills m and *writer_slot if valid.
   check_crc = false skips the message's CRC (a mutant). */
bool fo_decode_carrier(const uint8_t *b, size_t n, int ch, bool check_crc, fo_msg *m, uint8_t *writer_slot);

/* ---- the node ----------------------------------------------------------------------------- */

enum { ROLE_NONE = 0, ROLE_RESPONDER = 1, ROLE_REQUESTOR = 2, ROLE_FAILOVER = 3 };

typedef struct {
    uint32_t port[2], peer[2];
    uint8_t fabrics;          /* bit k: fabric bit of own port k */
    uint64_t response_timeout, probe_interval;
    bool have_barrier;
    uint16_t barrier_vi;
    uint64_t barrier_address;
} san_config;

typedef struct {
    uint8_t slot;
    uint64_t system_id;
    uint64_t status_period, timeout[CH_COUNT];
    uint8_t silence_multiple;
    uint64_t takeover_wait;
} fo_config;

struct rn_responder;
struct rn_requestor;
struct rn_failover;

typedef struct {
    rn_emit_fn emit;
    void *ctx;
} rn_out;

struct rn_node {
    int mutant;
    bool hello_done, reset_done;
    uint8_t role;
    uint8_t packets;          /* 1 = UDP mode */
    uint64_t now;
    san_config san;
    fo_config fo;
    size_t udp_count;
    uint8_t udp_port_id[4];
    uint16_t udp_port[4];
    struct rn_responder *rsp;
    struct rn_requestor *req;
    struct rn_failover *fov;
    rn_out out;
};

static inline bool MUT(const rn_node *n, int m) { return n->mutant == m; }

/* Emit helpers (all through node->out). */
void emit_frame(rn_node *n, uint8_t type, const uint8_t *body, size_t len);
void emit_error(rn_node *n, const char *reason);
void emit_packet(rn_node *n, uint8_t port, const uint8_t *pkt, size_t len);
/* Builds and emits a SAN packet leaving by own port `port`: fills SID and fabric from the config. */
void emit_san(rn_node *n, uint8_t port, san_pkt *p);

/* Role entry points. Each returns 0, or -1 with a reason in *why for a malformed/unsupported input. */
int rsp_create(rn_node *n);
void rsp_destroy(rn_node *n);
int rsp_packet(rn_node *n, uint8_t port, const uint8_t *b, size_t len, const char **why);
int rsp_command(rn_node *n, uint8_t cmd, rn_rd *args, const char **why);

int req_create(rn_node *n);
void req_destroy(rn_node *n);
int req_packet(rn_node *n, uint8_t port, const uint8_t *b, size_t len, const char **why);
int req_command(rn_node *n, uint8_t cmd, rn_rd *args, const char **why);
void req_time(rn_node *n);
uint64_t req_next(rn_node *n);

int fo_create(rn_node *n);
void fo_destroy(rn_node *n);
int fo_packet(rn_node *n, uint8_t port, const uint8_t *b, size_t len, const char **why);
int fo_command(rn_node *n, uint8_t cmd, rn_rd *args, const char **why);
int fo_disk_result(rn_node *n, uint16_t tag, uint8_t status, const uint8_t *data, size_t len, const char **why);
void fo_time(rn_node *n);
uint64_t fo_next(rn_node *n);

#endif
