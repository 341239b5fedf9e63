import ArgumentParser
import Foundation
import VigilEvidence

/// `vigil pcap FILE`: a capture the kit wrote, decoded with the kit's own codecs (not Wireshark's), so that
/// what it prints is what the models saw.
struct PcapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pcap",
        abstract: "Print a capture the kit wrote (reports/repros/ROLE/CASE.pcap), decoded with the kit's own codecs.",
        discussion: """
            One line per record: number, virtual time, direction ('>' to the IUT, '<' from it, '!!' the \
            divergence marker), protocol, port or channel, script line, and the packet in script notation \
            (SAN) or the status message's fields (failover). In a race's capture (both nodes' traffic, \
            `vigil race`) each packet record also names its node, A or B, before the direction, which is \
            then relative to that node. The record layout is specs/pcap.md; open the \
            same file in Wireshark with specs/vigil.lua:

              tshark -X lua_script:specs/vigil.lua -r FILE -V

            Exit status: 0 read; 2 the file is unreadable, not a Vigil capture, or malformed (the error \
            names the record and the byte offset).
            """
    )

    @Argument(help: "The capture file.")
    var file: String

    @Flag(name: .long, help: "One JSON object per record, one per line.")
    var json = false

    func run() throws {
        let records: [RecordDescription]
        do {
            records = try VigilPcap.describe(file)
        } catch {
            // ValidationError maps to exit status 2 in Vigil.main.
            throw ValidationError("\(error)")
        }
        for r in records { print(json ? r.json : r.text) }
    }
}
