#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum Environment {
    static func get(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
    static var pid: Int32 { getpid() }
}

/// Files, for the driver and the seed writer.
enum Files {
    static func read(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n > 0 { out += buffer[0..<n] }
            if n < buffer.count { break }
        }
        return ferror(f) == 0 ? out : nil
    }

    @discardableResult
    static func write(_ bytes: [UInt8], to path: String) -> Bool {
        guard let f = fopen(path, "wb") else { return false }
        let n = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        return fclose(f) == 0 && n == bytes.count
    }

    static func isDirectory(_ path: String) -> Bool {
        var s = stat()
        return stat(path, &s) == 0 && (s.st_mode & S_IFMT) == S_IFDIR
    }

    /// Regular files under `dir`, recursively, sorted by path.
    static func list(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let path = dir + "/" + name
            if isDirectory(path) { out += list(path) } else { out.append(path) }
        }
        return out.sorted()
    }

    static func makeDirectory(_ path: String) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            mkdir(prefix, 0o755)
        }
    }
}

/// The `main` of a fuzz executable in an ordinary build (no libFuzzer; `scripts/libfuzz.sh` builds with
/// `-DVIGIL_LIBFUZZER`, where libFuzzer supplies `main`): runs the target once on each file given (a
/// crash artifact, a corpus directory) — the way to replay a finding under the debugger — or writes the
/// target's seed corpus.
public enum FuzzDriver {
    public static func main(_ target: FuzzTarget) {
        var args = Array(CommandLine.arguments.dropFirst())
        if args.first == "--write-seeds", args.count >= 2 {
            let dir = args[1]
            let corpus = args.count >= 3 ? args[2] : "corpus"
            let n = Seeds.write(target, to: dir, corpusRoot: corpus)
            print("\(target.rawValue): wrote \(n) seeds to \(dir)")
            return
        }
        if args.isEmpty || args.first == "--help" || args.first == "-h" {
            print("""
                usage: fuzz-\(target.rawValue) FILE|DIR...            run the target once on each input (replays a crash)
                       fuzz-\(target.rawValue) --write-seeds DIR [CORPUS]   write the seed corpus (CORPUS: the kit's corpus/)
                This is the plain build; scripts/libfuzz.sh builds the same target with libFuzzer.
                """)
            return
        }
        var count = 0
        while !args.isEmpty {
            let path = args.removeFirst()
            for file in Files.isDirectory(path) ? Files.list(path) : [path] {
                guard let bytes = Files.read(file) else {
                    print("cannot read \(file)")
                    exit(2)
                }
                print("\(file) (\(bytes.count) bytes)")
                bytes.withUnsafeBufferPointer { target.run($0) }
                count += 1
            }
        }
        print("\(target.rawValue): \(count) inputs, no crash")
    }
}
