import Foundation
import VigilCore
import VigilFailover

/// Paths relative to this file, so tests read the committed specs wherever the checkout lives.
enum Repo {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func read(_ relative: String) -> String {
        (try? String(contentsOf: root.appendingPathComponent(relative), encoding: .utf8)) ?? ""
    }

    static var patent: PatentText {
        PatentText(markdown: read("specs/patents/US6119244-coordinating-persistent-status.md"))
    }
}
