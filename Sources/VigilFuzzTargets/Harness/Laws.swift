// The libFuzzer harness of the kit's own decoders (README "Fuzzing the decoders with libFuzzer"). Each
// target feeds arbitrary bytes to a decoder; a decoder may refuse them with its typed error but must never
// trap, and whatever it accepts must survive a round trip. A broken round trip is a hard failure here
// (fatalError), which libFuzzer reports as a crash and saves as an artifact, exactly like a trap inside a
// decoder.

/// Fails the run, naming the target and the law that broke.
@inline(never)
func law(_ holds: Bool, _ target: FuzzTarget, _ what: @autoclosure () -> String) {
    guard !holds else { return }
    fatalError("libfuzz \(target.rawValue): round-trip law broken: \(what())")
}

/// Hex of a prefix, for failure messages.
func preview(_ bytes: some Collection<UInt8>, limit: Int = 64) -> String {
    let digits = Array("0123456789abcdef")
    var s = ""
    for b in bytes.prefix(limit) {
        s.append(digits[Int(b >> 4)])
        s.append(digits[Int(b & 0xF)])
    }
    if bytes.count > limit { s += "… (\(bytes.count) bytes)" }
    return s
}
