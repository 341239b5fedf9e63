#ifndef VIGIL_CPCAP_SHIM_H
#define VIGIL_CPCAP_SHIM_H
// The system libpcap (Debian: libpcap-dev), seen from Swift through the CPcap system-library target.
// VigilEvidence writes and reads captures through it so that the files are exactly what tcpdump and
// Wireshark expect, not a look-alike written by hand.
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdint.h>

// Builds a record header from virtual nanoseconds. A static inline helper, because `struct timeval`'s
// field types differ between platforms (time_t / suseconds_t) and this keeps that C detail on the C side.
// With a capture opened at nanosecond precision, libpcap stores tv_usec as nanoseconds.
static inline struct pcap_pkthdr vigil_pcap_header(uint64_t nanoseconds, uint32_t length) {
    struct pcap_pkthdr h;
    h.ts.tv_sec = (time_t)(nanoseconds / 1000000000u);
    h.ts.tv_usec = (suseconds_t)(nanoseconds % 1000000000u);
    h.caplen = length;
    h.len = length;
    return h;
}

static inline uint64_t vigil_pcap_seconds(const struct pcap_pkthdr *h) { return (uint64_t)h->ts.tv_sec; }
static inline uint64_t vigil_pcap_fraction(const struct pcap_pkthdr *h) { return (uint64_t)h->ts.tv_usec; }

#endif
