// libFuzzer target `fuzz-failover`: see FuzzTarget.failover (Sources/VigilFuzzTargets/Harness/FuzzTarget.swift).
import VigilFuzzHarness

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTarget.failover.entry(data, size)
}

// Built by scripts/libfuzz.sh with -DVIGIL_LIBFUZZER: libFuzzer supplies main. In an ordinary build this
// is a plain program that replays inputs (`fuzz-failover CRASH-FILE`) or writes the seed corpus.
#if !VIGIL_LIBFUZZER
@main
enum Main {
    static func main() { FuzzDriver.main(.failover) }
}
#endif
