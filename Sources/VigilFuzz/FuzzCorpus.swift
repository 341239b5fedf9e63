import Foundation
import VigilCore

/// The cases that reached something new in the model, kept to be mutated further. An entry is kept when
/// its run exercised a feature (rule, state, transition, arithmetic) no earlier entry did; the union of
/// the entries' features is the campaign's coverage.
///
/// On disk a corpus is a folder of scripts (`specs/script.md`), one case per file, named by a hash of its
/// text; folders merge by running each file and keeping those that add coverage (`vigil fuzz --merge`).
public struct FuzzCorpus: Sendable {
    public struct Entry: Sendable {
        public var name: String
        public var script: Script
        public var features: Set<String>
    }

    public private(set) var entries: [Entry] = []
    /// The entries' scripts, kept beside them for the mutator's splices.
    public private(set) var scripts: [Script] = []
    public private(set) var coverage: Set<String> = []
    /// At most this many entries (the oldest are never dropped: later ones are simply not kept).
    public var limit = 4_096

    public init() {}

    /// Keeps `script` when `features` has something the corpus has not; returns whether it did.
    @discardableResult
    public mutating func add(_ script: Script, name: String, coverage features: Set<String>) -> Bool {
        guard entries.count < limit, !features.isSubset(of: coverage) else { return false }
        coverage.formUnion(features)
        entries.append(Entry(name: name, script: script, features: features))
        scripts.append(script)
        return true
    }

    /// A file's name for a script: its case-independent text hashed (CRC-32C of the lines), so that the
    /// same case saved twice is one file.
    public static func fileName(for script: Script) -> String {
        var body = Script(lines: script.lines.filter { $0.direction == .stimulus })
        body.headers = []
        let crc = CRC32C.checksum(Array(body.text.utf8))
        return "c-" + String(crc, radix: 16).leftPadded(to: 8) + ".vgl"
    }

    /// The scripts of a corpus folder, in file-name order, each parsed with its line errors reported.
    /// Files other than `.vgl` are ignored; a folder that does not exist is an empty corpus.
    public static func load(folder: String) throws(CorpusError) -> [(name: String, script: Script)] {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: folder, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { throw CorpusError(path: folder, message: "not a folder") }
        let names: [String]
        do {
            names = try fm.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".vgl") }.sorted()
        } catch {
            throw CorpusError(path: folder, message: "cannot list: \(error.localizedDescription)")
        }
        var out: [(String, Script)] = []
        for name in names {
            let path = (folder as NSString).appendingPathComponent(name)
            guard let data = fm.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw CorpusError(path: path, message: "cannot read as UTF-8 text")
            }
            do {
                out.append((String(name.dropLast(4)), try Script.parse(text)))
            } catch {
                throw CorpusError(path: path, message: "\(error)")
            }
        }
        return out
    }

    /// Writes `script` into `folder` under its hash name (created if needed); returns the path.
    @discardableResult
    public static func save(_ script: Script, into folder: String) throws(CorpusError) -> String {
        let path = (folder as NSString).appendingPathComponent(fileName(for: script))
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try script.text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw CorpusError(path: path, message: "cannot write: \(error.localizedDescription)")
        }
        return path
    }
}

/// A corpus file or folder that cannot be used: which, and why (a parse error carries its line and column).
public struct CorpusError: Error, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}

extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
