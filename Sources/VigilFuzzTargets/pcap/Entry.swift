// libFuzzer target `fuzz-pcap`: see FuzzTarget.pcap (Sources/VigilFuzzTargets/Harness/FuzzTarget.swift).
import VigilFuzzHarness

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTarget.pcap.entry(data, size)
}

// Built by scripts/libfuzz.sh with -DVIGIL_LIBFUZZER: libFuzzer supplies main. In an ordinary build this
// is a plain program that replays inputs (`fuzz-pcap CRASH-FILE`) or writes the seed corpus.
#if !VIGIL_LIBFUZZER
@main
enum Main {
    static func main() { FuzzDriver.main(.pcap) }
}
#endif
