#!/usr/bin/env python3
"""A deliberately bad IUT for the kit's robustness tests. It speaks just enough of the adapter protocol
(specs/adapter.md) to pass the handshake, then misbehaves as told:
  misbehaving_iut.py MODE [N]
MODE: crash (exit 9 at the Nth PACKET), hang (stop answering at the Nth PACKET), garbage (write junk at
the Nth PACKET), oversized (announce a 16 MiB frame at the Nth PACKET), flood (answer the Nth PACKET with
endless ERROR frames), quiet (discard every packet: answers IDLE only)."""
import struct, sys, time

mode = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1
inp, out = sys.stdin.buffer, sys.stdout.buffer

def send(t, body=b""):
    out.write(struct.pack(">IB", len(body) + 1, t) + body)
    out.flush()

def idle():
    send(0x85, struct.pack(">QI", 0xFFFFFFFFFFFFFFFF, 0))

packets = 0
while True:
    head = inp.read(4)
    if len(head) < 4:
        sys.exit(0)
    (length,) = struct.unpack(">I", head)
    frame = inp.read(length)
    t = frame[0]
    if t == 0x01:
        name = b"misbehaving"
        send(0x81, struct.pack(">HBBH", 1, 7, 1, len(name)) + name)
    elif t == 0x02:
        send(0x82)
    elif t == 0x07:
        sys.exit(0)
    elif t == 0x03:
        packets += 1
        if packets == n and mode != "quiet":
            if mode == "crash":
                sys.stderr.write("misbehaving: crashing on purpose\n")
                sys.exit(9)
            if mode == "hang":
                time.sleep(60)
            if mode == "garbage":
                out.write(b"\x00\x00\x00\x05\xee garbage that is not a frame")
                out.flush()
                time.sleep(60)
            if mode == "oversized":
                out.write(struct.pack(">I", 16 << 20))
                out.flush()
                time.sleep(60)
            if mode == "flood":
                while True:
                    send(0x86, struct.pack(">H", 5) + b"flood")
        idle()
    else:
        idle()
