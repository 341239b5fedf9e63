#!/usr/bin/env python3
"""Applies deliberate mistakes to the SAN reference model, one at a time, in a scratch copy of the
repository, and checks that the SAN test suite fails for each. A mutant the tests do not catch is a
hole in the tests. Usage: python3 scripts/model-mutants.py [NAME ...]   (default: all)
Prints one line per mutant and exits 1 if any survived."""
import os, subprocess, sys

MUTANTS = [
    # (name, file, old, new) - old must occur in the file
    ("partition-boundary", "Sources/VigilSAN/SequenceNumber.swift",
     "distance < UInt8(window) ? .ahead", "distance <= UInt8(window) ? .ahead"),
    ("responder-increments-unordered", "Sources/VigilSAN/SANResponder.swift",
     "        if request.ordered {\n            vis[request.vi]!.expected", "        if true {\n            vis[request.vi]!.expected"),
    ("responder-nacks-duplicates", "Sources/VigilSAN/SANResponder.swift",
     "step.rules.insert(.rspDuplicateAck, at: 0)\n                step.outputs = [reply(to: packet, request, port: port, .ack(data: []))]",
     "step.rules.insert(.rspDuplicateAck, at: 0)\n                step.outputs = [reply(to: packet, request, port: port, .nack(reason: .sequenceError))]"),
    ("duplicate-read-not-reexecuted", "Sources/VigilSAN/SANResponder.swift",
     "step.rules.insert(.rspDuplicateRead, at: 0)\n                step.outputs = [reply(to: packet, request, port: port, .ack(data: data))]",
     "step.rules.insert(.rspDuplicateRead, at: 0)\n                step.outputs = [reply(to: packet, request, port: port, .ack(data: [UInt8](repeating: 0, count: data.count)))]"),
    ("response-wrong-seq", "Sources/VigilSAN/SANResponder.swift",
     "case .nack(let reason): body = .nack(fields, reason: reason)",
     "case .nack(let reason): body = .nack(ResponseFields(control: fields.control, sequence: fields.sequence &+ 1, vi: fields.vi), reason: reason)"),
    ("reqinpath-ignored", "Sources/VigilSAN/SANResponder.swift",
     "guard isBarrierVI || reqInPath & (1 << path.index) != 0 else {", "guard isBarrierVI || reqInPath & (1 << path.index) != 0 || true else {"),
    ("did-not-checked", "Sources/VigilSAN/SANNode.swift",
     "guard packet.destination == ports[p] else {", "guard packet.destination == ports[p] || true else {"),
    ("crc-polynomial", "Sources/VigilCore/CRC32C.swift", "0x82F6_3B78 : crc >> 1", "0xEDB8_8320 : crc >> 1"),
    ("window-off-by-one", "Sources/VigilSAN/SANRequestor.swift",
     "guard vi.outstanding.count < SequenceNumber.window else {", "guard vi.outstanding.count <= SequenceNumber.window else {"),
    ("requestor-increments-unordered", "Sources/VigilSAN/SANRequestor.swift",
     "if r.ordered { vi.nextSeq &+= 1 }", "vi.nextSeq &+= 1"),
    ("retransmit-from-nacked-packet", "Sources/VigilSAN/SANRequestor.swift",
     "                case .none:\n                    vi.recovery = .retransmit(cursor: vi.outstanding.first { !$0.acked }!.serial, afterNack: true)",
     "                case .none:\n                    vi.recovery = .retransmit(cursor: vi.outstanding[i].serial, afterNack: true)"),
    ("ndaa-ignored", "Sources/VigilSAN/SANRequestor+Allowed.swift",
     "if posted.launched.isEmpty, vi.descriptors[..<d].contains(where: { $0.descriptor.waitsForAcks && !$0.done }) {",
     "if posted.launched.isEmpty, vi.descriptors[..<d].contains(where: { $0.descriptor.waitsForAcks && !$0.done && false }) {"),
    ("retry-before-path-bad-ack", "Sources/VigilSAN/SANRequestor.swift",
     "if failedPaths.allSatisfy({ paths[$0.index] == .bad }) || goodPaths.isEmpty {",
     "if failedPaths.allSatisfy({ paths[$0.index] == .bad || paths[$0.index] == .failed }) || goodPaths.isEmpty {"),
    ("barrier-number-reused", "Sources/VigilSAN/SANRequestor+Allowed.swift",
     "var counter = nextBarrierCounter", "var counter: UInt64 = 1; let usedBarrierNumbers: Set<UInt64> = []"),
    ("no-barrier-after-timeout", "Sources/VigilSAN/SANRequestor.swift",
     "            let routes = vi.routes\n            vi.recovery = .barriers(routes)",
     "            let routes: Set<Route> = []\n            vi.recovery = .barriers(routes)"),
]

def main():
    names = sys.argv[1:]
    chosen = [m for m in MUTANTS if not names or m[0] in names]
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # A scratch copy inside the repository's ignored build folders, kept between runs so that only the
    # mutated module is rebuilt. (Copying a .build folder elsewhere breaks Swift's module cache.)
    work = os.path.join(repo, ".build-mutants", "src")
    os.makedirs(work, exist_ok=True)
    subprocess.run(["rsync", "-a", "--delete", "--exclude", ".build", "--exclude", ".build-*", "--exclude", ".git",
                    repo + "/", work + "/"], check=True)
    survivors = []
    for name, path, old, new in chosen:
        full = os.path.join(work, path)
        original = open(full).read() if os.path.exists(full) else ""
        if old not in original:
            print(f"{name}: STALE (pattern not found in {path})")
            survivors.append(name)
            continue
        open(full, "w").write(original.replace(old, new, 1))
        try:
            r = subprocess.run(["swift", "test", "--filter", "VigilSANTests"], cwd=work, capture_output=True, text=True,
                               timeout=900)
            out = r.stdout + r.stderr
        except subprocess.TimeoutExpired:
            open(full, "w").write(original)
            print(f"{name}: caught: the test run did not finish in 900 s")
            continue
        open(full, "w").write(original)
        failing = sorted({line.split("Test ")[1].split("(")[0] for line in out.splitlines()
                          if line.startswith("✘ Test ") and "recorded an issue" in line})
        if "error:" in out and "Compiling" in out and r.returncode != 0 and not failing:
            print(f"{name}: DID NOT COMPILE")
            print("\n".join(l for l in out.splitlines() if "error:" in l)[:1500])
            survivors.append(name)
        elif r.returncode == 0:
            print(f"{name}: SURVIVED (the tests passed)")
            survivors.append(name)
        else:
            print(f"{name}: caught by {len(failing)} test(s): {', '.join(failing[:6])}{' ...' if len(failing) > 6 else ''}")
        sys.stdout.flush()
    print(f"{len(chosen) - len(survivors)} of {len(chosen)} mutants caught")
    sys.exit(1 if survivors else 0)

if __name__ == "__main__":
    main()
