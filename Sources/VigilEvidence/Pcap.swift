import CPcap
import VigilCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A capture file error: what went wrong, and where — the record (1-based; 0 for the file header) and the
/// byte offset in the file — so that a person can find the bad byte with a hex viewer.
public struct CaptureError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    /// 1-based record number, 0 when the fault is in the file header or the file as a whole.
    public var record: Int
    /// Byte offset in the file, nil when libpcap does not say where (it could not open the file at all).
    public var offset: Int?
    public var message: String

    public init(path: String, record: Int, offset: Int?, _ message: String) {
        self.path = path
        self.record = record
        self.offset = offset
        self.message = message
    }

    public var description: String {
        var s = path
        if record > 0 { s += ", record \(record)" }
        if let offset { s += ", byte \(offset)" }
        return s + ": " + message
    }
}

/// Vigil captures: pcap files with link type DLT_USER0 (147) whose records are a `CaptureRecord`, written
/// and read through the system libpcap so that tcpdump, tshark and Wireshark read exactly what the kit
/// wrote. Timestamps are the virtual time at nanosecond precision (the pcap "nanosecond" magic), so the
/// same records always give the same file, byte for byte.
public enum VigilPcap {
    /// DLT_USER0: the first link type the tcpdump registry leaves to private use.
    public static let linkType: Int32 = 147
    /// Large enough for any record the kit writes (a 512-byte mailbox carrier, a 539-byte SAN packet, a
    /// marker with long texts) so that no record is ever cut.
    public static let snapLength: Int32 = 262_144
    /// Size of the pcap file header and of each record header, for byte offsets in errors.
    static let fileHeaderSize = 24
    static let recordHeaderSize = 16

    /// Writes `records` to `path` (replacing it) through pcap_open_dead / pcap_dump_open / pcap_dump.
    public static func write(_ records: [CaptureRecord], to path: String) throws(CaptureError) {
        guard let dead = pcap_open_dead_with_tstamp_precision(linkType, snapLength, UInt32(PCAP_TSTAMP_PRECISION_NANO)) else {
            throw CaptureError(path: path, record: 0, offset: nil, "libpcap could not make a capture handle")
        }
        defer { pcap_close(dead) }
        guard let dumper = pcap_dump_open(dead, path) else {
            throw CaptureError(path: path, record: 0, offset: nil, "cannot create the capture: " + String(cString: pcap_geterr(dead)))
        }
        for record in records {
            let bytes = record.encoded()
            var header = vigil_pcap_header(record.time.nanoseconds, UInt32(clamping: bytes.count))
            bytes.withUnsafeBufferPointer { buffer in
                // pcap_dump's first argument is the dumper passed as the callback's "user" pointer.
                pcap_dump(UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self), &header, buffer.baseAddress)
            }
        }
        let flushed = pcap_dump_flush(dumper)
        pcap_dump_close(dumper)
        guard flushed == 0 else { throw CaptureError(path: path, record: 0, offset: nil, "writing the capture failed") }
    }

    /// Reads a capture through pcap_open_offline. Refuses anything that is not a Vigil capture: another
    /// link type, a record whose timestamp disagrees with its pseudo-header, a cut record, a malformed
    /// pseudo-header or marker — each with the record number and the file offset of the bad byte.
    public static func read(_ path: String) throws(CaptureError) -> [CaptureRecord] {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let handle = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errbuf) else {
            let why = String(decoding: errbuf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw CaptureError(path: path, record: 0, offset: nil, "not a capture libpcap can read (\(why))")
        }
        defer { pcap_close(handle) }
        return try records(of: handle, path: path)
    }

    /// Reads a capture held in memory, exactly as `read(_:)` reads a file (libpcap over `fmemopen`), for
    /// captures that never touch the disk (the libFuzzer target of the reader). `name` stands for the path
    /// in errors.
    public static func read(bytes: [UInt8], name: String = "<memory>") throws(CaptureError) -> [CaptureRecord] {
        var copy = bytes
        var result: Result<[CaptureRecord], CaptureError> = .success([])
        copy.withUnsafeMutableBytes { buffer in
            // fmemopen refuses a zero-size buffer on some C libraries; an empty capture is cut short anyway.
            guard buffer.count > 0, let file = fmemopen(buffer.baseAddress, buffer.count, "rb") else {
                result = .failure(CaptureError(path: name, record: 0, offset: nil, "not a capture libpcap can read (empty or unreadable)"))
                return
            }
            var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
            guard let handle = pcap_fopen_offline_with_tstamp_precision(file, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errbuf) else {
                fclose(file)
                let why = String(decoding: errbuf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                result = .failure(CaptureError(path: name, record: 0, offset: nil, "not a capture libpcap can read (\(why))"))
                return
            }
            defer { pcap_close(handle) }  // closes the FILE too, while the buffer is still alive
            do throws(CaptureError) { result = .success(try records(of: handle, path: name)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    /// The records of an open capture, checked as `read(_:)` describes.
    private static func records(of handle: OpaquePointer, path: String) throws(CaptureError) -> [CaptureRecord] {
        let link = pcap_datalink(handle)
        guard link == linkType else {
            let name = pcap_datalink_val_to_name(link).map { String(cString: $0) } ?? "unknown"
            throw CaptureError(path: path, record: 0, offset: 20,
                               "link type \(link) (\(name)), expected \(linkType) (USER0): not a capture the kit wrote")
        }
        var records: [CaptureRecord] = []
        var offset = fileHeaderSize
        var number = 0
        while true {
            var headerPointer: UnsafeMutablePointer<pcap_pkthdr>?
            var dataPointer: UnsafePointer<UInt8>?
            let status = pcap_next_ex(handle, &headerPointer, &dataPointer)
            if status == PCAP_ERROR_BREAK { break }  // -2: the end of the file
            number += 1
            guard status == 1, let h = headerPointer, let data = dataPointer else {
                let why = String(cString: pcap_geterr(handle))
                throw CaptureError(path: path, record: number, offset: offset, "the record is cut short or unreadable (\(why))")
            }
            let caplen = Int(h.pointee.caplen)
            guard h.pointee.len == h.pointee.caplen else {
                throw CaptureError(path: path, record: number, offset: offset + 12,
                                   "the record was cut at \(caplen) of \(h.pointee.len) bytes (snap length); Vigil records are whole")
            }
            let bytes = Array(UnsafeBufferPointer(start: data, count: caplen))
            let body = offset + recordHeaderSize
            let record: CaptureRecord
            do { record = try CaptureRecord(decoding: bytes) } catch {
                throw CaptureError(path: path, record: number, offset: body + error.offset, error.message)
            }
            let stamp = vigil_pcap_seconds(h).multipliedReportingOverflow(by: 1_000_000_000)
            let nanos = stamp.partialValue &+ vigil_pcap_fraction(h)
            guard !stamp.overflow, vigil_pcap_fraction(h) < 1_000_000_000, nanos == record.time.nanoseconds else {
                throw CaptureError(path: path, record: number, offset: offset,
                                   "the record's timestamp (\(vigil_pcap_seconds(h)) s + \(vigil_pcap_fraction(h)) ns) disagrees with its virtual time (\(record.time.nanoseconds) ns)")
            }
            records.append(record)
            offset = body + caplen
        }
        return records
    }
}
