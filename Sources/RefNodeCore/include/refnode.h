/*
 * refnode: an independent sample implementation, in C, of the three roles Vigil checks
 * (san-responder, san-requestor, failover-node), written from specs/adapter.md, specs/san-wire.md,
 * specs/failover-wire.md, the rule catalogs in specs/rules/ and the two patents only.
 *
 * The protocol core is a library with a function-call interface: feed it one kit->IUT frame
 * (type + body exactly as in specs/adapter.md, without the u32 length prefix) with rn_handle();
 * it answers with zero or more IUT->kit frames through the emit callback. The core does no I/O,
 * reads no clock and draws no randomness: time enters only through TIME frames (virtual clock).
 *
 * Switchable bugs ("mutants") are selected at creation by name; see rn_mutant_*().
 */
#ifndef REFNODE_H
#define REFNODE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Adapter protocol version this core speaks. */
#define RN_ADAPTER_VERSION 1

/* One IUT->kit frame: type (0x81...0x87) and its body (no length prefix). */
typedef void (*rn_emit_fn)(void *ctx, uint8_t type, const uint8_t *body, size_t len);

typedef struct rn_node rn_node;

/* Creates a node. `mutant` is NULL or "" for the correct node, else a name from the catalogue.
   Returns NULL (with a message in err, if err is not NULL) for an unknown mutant or no memory. */
rn_node *rn_create(const char *mutant, char *err, size_t errlen);
void rn_destroy(rn_node *node);

/* Handles one kit->IUT frame. Emits zero or more IUT->kit frames through emit:
   HELLO -> HELLO-ACK; RESET -> READY; BYE -> nothing (the caller exits);
   every stimulus (PACKET, COMMAND, TIME, DISK-RESULT) -> observations, then exactly one IDLE.
   A malformed frame, an unknown frame type or an unsupported command gets ERROR (and, for
   anything but HELLO/RESET/BYE, IDLE after it) and the call returns -1. Returns 1 for BYE, 0 otherwise.
   Never crashes and never allocates more than bounded amounts, whatever the bytes. */
int rn_handle(rn_node *node, uint8_t type, const uint8_t *body, size_t len, rn_emit_fn emit, void *ctx);

/* UDP mode (HELLO packets = 1): the front end binds the sockets and tells the core which udp port
   serves which adapter port, so that HELLO-ACK carries option 0x31 UDP-IUT. Call before HELLO.
   At most 4 entries are kept. The core itself still emits packets as PACKET frames; the front end
   turns them into datagrams and fills in IDLE's datagram count. */
void rn_set_udp_ports(rn_node *node, const uint8_t *ports, const uint16_t *udp_ports, size_t count);

/* The mutant catalogue. role is "san-responder", "san-requestor" or "failover-node"; rule is the
   rule id (specs/rules/ catalogs) the kit reports against the mutant. Out-of-range i gives NULL. */
size_t rn_mutant_count(void);
const char *rn_mutant_name(size_t i);
const char *rn_mutant_role(size_t i);
const char *rn_mutant_rule(size_t i);
const char *rn_mutant_description(size_t i);

/* The adapter protocol version (1). */
int rn_version(void);

/* Frame types (specs/adapter.md section 3 and 7). */
enum {
    RN_HELLO = 0x01, RN_RESET = 0x02, RN_PACKET = 0x03, RN_COMMAND = 0x04, RN_TIME = 0x05,
    RN_DISK_RESULT = 0x06, RN_BYE = 0x07,
    RN_HELLO_ACK = 0x81, RN_READY = 0x82, RN_OUT_PACKET = 0x83, RN_EVENT = 0x84, RN_IDLE = 0x85,
    RN_ERROR = 0x86, RN_DISK = 0x87
};

#ifdef __cplusplus
}
#endif
#endif
