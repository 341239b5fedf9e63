/* refnode: the stdio / UDP front end of the refnode core (specs/adapter.md).
 *
 *   refnode [--mutant NAME] [--list-mutants]
 *
 * Control frames (u32 length, u8 type, body) arrive on stdin and leave on stdout, flushed per frame;
 * logs go to stderr. With HELLO packets = 1 (UDP mode) the front end binds one UDP socket on
 * 127.0.0.1 per port (SAN: ports 0 and 1; failover: port 2, the network channel), reports them in
 * HELLO-ACK (option 0x31), turns each arriving datagram into a PACKET stimulus for the core and each
 * PACKET the core emits into a datagram to the kit's socket for that port (option 0x30), and puts the
 * number of datagrams sent into IDLE. Time is virtual: the front end never reads a clock.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "refnode.h"

#define MAX_FRAME (1u << 20)

static int out_broken = 0;

static void write_all(const uint8_t *p, size_t n) {
    while (n > 0 && !out_broken) {
        ssize_t w = write(STDOUT_FILENO, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            out_broken = 1;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Frames out are gathered and written together once every complete frame in has been handled, so
   that the kit wakes once per answer, not once per frame. */
static uint8_t *outbuf;
static size_t outlen, outcap;

static void out_flush(void) {
    write_all(outbuf, outlen);
    outlen = 0;
}

static void out_append(const uint8_t *p, size_t n) {
    if (outcap - outlen < n) {
        if (outlen > 0) out_flush();
        if (outcap < n) {
            uint8_t *q = realloc(outbuf, n);
            if (!q) { write_all(p, n); return; }
            outbuf = q;
            outcap = n;
        }
    }
    memcpy(outbuf + outlen, p, n);
    outlen += n;
}

/* ---- UDP mode ----------------------------------------------------------------------------- */

typedef struct {
    int count;
    uint8_t port[4];
    int fd[4];
    uint16_t local[4];
    uint16_t kit[256];        /* kit's udp port per adapter port (0 = unknown) */
    uint32_t sent;            /* datagrams sent while reacting to the current stimulus */
    int active;
} udp_state;

static udp_state udp;

static void udp_close(void) {
    for (int i = 0; i < udp.count; i++) close(udp.fd[i]);
    memset(&udp, 0, sizeof udp);
}

static int udp_open(uint8_t port) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t al = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        close(fd);
        return -1;
    }
    udp.port[udp.count] = port;
    udp.fd[udp.count] = fd;
    udp.local[udp.count] = ntohs(a.sin_port);
    udp.count++;
    return 0;
}

/* Looks at a HELLO before the core does: in UDP mode, binds the sockets and notes the kit's ports. */
static void udp_prepare(rn_node *node, const uint8_t *b, size_t len) {
    udp_close();
    if (len < 5 || b[4] != 1) return;
    uint8_t role = b[2];
    size_t off = 5;
    while (off + 3 <= len) {
        uint8_t tag = b[off];
        size_t l = ((size_t)b[off + 1] << 8) | b[off + 2];
        off += 3;
        if (off + l > len) break;
        if (tag == 0x30)
            for (size_t k = 0; k + 3 <= l; k += 3)
                udp.kit[b[off + k]] = (uint16_t)((b[off + k + 1] << 8) | b[off + k + 2]);
        off += l;
    }
    int ok = 0;
    if (role == 3) ok = udp_open(2);
    else ok = udp_open(0) | udp_open(1);
    if (ok != 0) fprintf(stderr, "refnode: cannot bind UDP sockets: %s\n", strerror(errno));
    udp.active = 1;
    uint8_t ports[4];
    uint16_t local[4];
    for (int i = 0; i < udp.count; i++) { ports[i] = udp.port[i]; local[i] = udp.local[i]; }
    rn_set_udp_ports(node, ports, local, (size_t)udp.count);
}

static void udp_send(uint8_t port, const uint8_t *pkt, size_t len) {
    int fd = -1;
    for (int i = 0; i < udp.count; i++) if (udp.port[i] == port) fd = udp.fd[i];
    if (fd < 0 && udp.count > 0) fd = udp.fd[0];
    if (fd < 0 || udp.kit[port] == 0) {
        fprintf(stderr, "refnode: no UDP-KIT port for port %u; packet dropped\n", port);
        return;
    }
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(udp.kit[port]);
    if (sendto(fd, pkt, len, 0, (struct sockaddr *)&a, sizeof a) >= 0) udp.sent++;
    else fprintf(stderr, "refnode: sendto: %s\n", strerror(errno));
}

/* ---- frames out --------------------------------------------------------------------------- */

static void emit(void *ctx, uint8_t type, const uint8_t *body, size_t len) {
    (void)ctx;
    if (udp.active && type == RN_OUT_PACKET && len >= 1) {
        udp_send(body[0], body + 1, len - 1);
        return;
    }
    uint8_t idle[12];
    if (type == RN_IDLE && len == 12) {
        memcpy(idle, body, 12);
        uint32_t d = udp.active ? udp.sent : 0;
        idle[8] = (uint8_t)(d >> 24); idle[9] = (uint8_t)(d >> 16); idle[10] = (uint8_t)(d >> 8); idle[11] = (uint8_t)d;
        udp.sent = 0;
        body = idle;
    }
    uint8_t hdr[5];
    uint32_t l = (uint32_t)len + 1;
    hdr[0] = (uint8_t)(l >> 24); hdr[1] = (uint8_t)(l >> 16); hdr[2] = (uint8_t)(l >> 8); hdr[3] = (uint8_t)l;
    hdr[4] = type;
    out_append(hdr, 5);
    out_append(body, len);
}

/* ---- frames in ---------------------------------------------------------------------------- */

static uint8_t *inbuf;
static size_t inlen, incap;

static void usage(FILE *f) {
    fprintf(f, "usage: refnode [--mutant NAME] [--list-mutants]\n"
               "  Speaks the Vigil adapter protocol (specs/adapter.md) on stdin/stdout.\n");
}

int main(int argc, char **argv) {
    const char *mutant = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list-mutants") == 0) {
            for (size_t k = 0; k < rn_mutant_count(); k++)
                printf("%s\t%s\t%s\t%s\n", rn_mutant_name(k), rn_mutant_role(k), rn_mutant_rule(k), rn_mutant_description(k));
            return 0;
        } else if (strcmp(argv[i], "--mutant") == 0 && i + 1 < argc) {
            mutant = argv[++i];
        } else if (strncmp(argv[i], "--mutant=", 9) == 0) {
            mutant = argv[i] + 9;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "refnode: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    char err[200];
    rn_node *node = rn_create(mutant, err, sizeof err);
    if (!node) {
        fprintf(stderr, "refnode: %s\n", err);
        return 2;
    }
    if (mutant && *mutant) fprintf(stderr, "refnode: running mutant %s\n", mutant);

    outcap = 1 << 16;
    outbuf = malloc(outcap);
    if (!outbuf) return 1;
    incap = 1 << 16;
    inbuf = malloc(incap);
    if (!inbuf) return 1;
    uint8_t *dgram = malloc(65536 + 1);
    if (!dgram) return 1;
    int eof = 0;
    for (;;) {
        /* Hand every complete frame in the buffer to the core. */
        for (;;) {
            if (inlen < 4) break;
            uint32_t l = ((uint32_t)inbuf[0] << 24) | ((uint32_t)inbuf[1] << 16) | ((uint32_t)inbuf[2] << 8) | inbuf[3];
            if (l < 1 || l > MAX_FRAME) {
                fprintf(stderr, "refnode: bad frame length %u from the kit; exiting\n", l);
                return 2;
            }
            if (inlen < 4 + (size_t)l) {
                if (incap < 4 + (size_t)l) {
                    uint8_t *p = realloc(inbuf, 4 + (size_t)l);
                    if (!p) return 1;
                    inbuf = p;
                    incap = 4 + (size_t)l;
                }
                break;
            }
            uint8_t type = inbuf[4];
            if (type == RN_HELLO) udp_prepare(node, inbuf + 5, l - 1);
            udp.sent = 0;
            int rc = rn_handle(node, type, inbuf + 5, l - 1, emit, NULL);
            memmove(inbuf, inbuf + 4 + l, inlen - 4 - l);
            inlen -= 4 + l;
            if (rc == 1) { out_flush(); rn_destroy(node); udp_close(); return 0; }   /* BYE */
            if (out_broken) { fprintf(stderr, "refnode: stdout closed; exiting\n"); return 0; }
        }
        out_flush();
        if (eof) { rn_destroy(node); udp_close(); return 0; }

        struct pollfd pf[5];
        int np = 0;
        pf[np].fd = STDIN_FILENO; pf[np].events = POLLIN; np++;
        for (int i = 0; i < udp.count; i++) { pf[np].fd = udp.fd[i]; pf[np].events = POLLIN; np++; }
        if (poll(pf, (nfds_t)np, -1) < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "refnode: poll: %s\n", strerror(errno));
            return 1;
        }
        for (int i = 1; i < np; i++) {
            if (!(pf[i].revents & POLLIN)) continue;
            ssize_t got = recv(pf[i].fd, dgram + 1, 65536, 0);
            if (got < 0) continue;
            dgram[0] = udp.port[i - 1];
            udp.sent = 0;
            rn_handle(node, RN_PACKET, dgram, (size_t)got + 1, emit, NULL);
            out_flush();
        }
        if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (incap - inlen < 4096) {
                uint8_t *p = realloc(inbuf, incap * 2);
                if (!p) return 1;
                inbuf = p;
                incap *= 2;
            }
            ssize_t got = read(STDIN_FILENO, inbuf + inlen, incap - inlen);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) {
                if (inlen > 0) fprintf(stderr, "refnode: stdin ended inside a frame\n");
                eof = 1;
                continue;
            }
            inlen += (size_t)got;
        }
    }
}
