import Glibc
import Logging

/// Writes one line per log event to standard error, in logfmt or as a JSON object.
///
/// - logfmt: `ts=2025-01-02T03:04:05.678Z level=info msg="listening" address=127.0.0.1:8642`. A value is quoted
///   when it is empty or holds a space, `"`, `=`, `\` or a control character.
/// - JSON: `{"ts":"2025-01-02T03:04:05.678Z","level":"info","msg":"listening","address":"127.0.0.1:8642"}`.
///   A `.stringConvertible` value whose text is a JSON number, `true` or `false` is written bare; any other value,
///   arrays and dictionaries included, as a string of its text.
///
/// `ts` comes first, then `level` and `msg`, then the metadata sorted by key (a metadata key named `ts`, `level`
/// or `msg` gets a leading `_`). Line breaks and other control characters in a message or value are escaped
/// (`\n`, `\u001b`), so an event never takes more than one line. The logger's label is not written: every logger
/// in the daemon has the same one.
///
/// When journald reads standard error (see `journalIsStandardError(environment:)`) each line starts with its
/// syslog priority, which journald strips and files (sd-daemon(3)): `<7>` trace and debug, `<6>` info, `<5>` notice,
/// `<4>` warning, `<3>` error, `<2>` critical. Then `ts` is left out, since journald stamps every line itself;
/// otherwise it is the RFC 3339 time in UTC with milliseconds.
public struct StandardErrorLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let format: LogFormat
    private let journal: Bool

    /// - Parameters:
    ///   - format: logfmt or JSON lines.
    ///   - journal: whether standard error goes to journald: priority prefixes and no timestamp.
    public init(label: String, level: Logger.Level = .info, format: LogFormat = .logfmt, journal: Bool = false) {
        self.logLevel = level
        self.format = format
        self.journal = journal
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata {
            merged.merge(extra) { _, new in new }
        }
        let line = Self.line(
            level: event.level, message: "\(event.message)", metadata: merged, format: format,
            priorityPrefix: journal, time: journal ? nil : Self.now())
        // One write(2) per line so that lines from concurrent tasks do not interleave.
        line.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return  // Nowhere to report a failure to write the log.
                }
            }
        }
    }

    /// Whether systemd connected standard error to the journal: `JOURNAL_STREAM` (`DEVICE:INODE`) names the file
    /// that descriptor 2 is. systemd.exec(5) asks for the comparison: a shell started from a unit inherits the
    /// variable while its standard error is a terminal or a file.
    public static func journalIsStandardError(environment: [String: String]) -> Bool {
        guard let value = environment["JOURNAL_STREAM"] else { return false }
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var status = stat()
        guard fstat(2, &status) == 0 else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }

    /// The syslog priority journald files a line of `level` at (sd-daemon(3)).
    static func priority(_ level: Logger.Level) -> UInt8 {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// One complete line, newline included. `time` is written as `ts` when given.
    static func line(
        level: Logger.Level, message: String, metadata: Logger.Metadata, format: LogFormat, priorityPrefix: Bool,
        time: timespec?
    ) -> [UInt8] {
        var writer = LineWriter(format: format, capacity: 160 + message.utf8.count + metadata.count * 32)
        if priorityPrefix {
            writer.out += [UInt8(ascii: "<"), UInt8(ascii: "0") + priority(level), UInt8(ascii: ">")]
        }
        if format == .json { writer.out.append(UInt8(ascii: "{")) }
        if let time { writer.member("ts", text: Self.rfc3339(time), quoteAlways: false) }
        writer.member("level", text: level.rawValue, quoteAlways: false)
        writer.member("msg", text: message, quoteAlways: true)
        for key in metadata.keys.sorted() {
            let name = Self.reservedKeys.contains(key) ? "_" + key : key
            writer.member(name, value: metadata[key]!)
        }
        if format == .json { writer.out.append(UInt8(ascii: "}")) }
        writer.out.append(UInt8(ascii: "\n"))
        return writer.out
    }

    private static let reservedKeys: Set<String> = ["ts", "level", "msg"]

    private static func now() -> timespec {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return time
    }

    /// `2025-01-02T03:04:05.678Z` (RFC 3339 §5.6, UTC, milliseconds).
    static func rfc3339(_ time: timespec) -> String {
        var seconds = time.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var text: [UInt8] = []
        text.reserveCapacity(24)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                text.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4)
        text.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2)
        text.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2)
        text.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2)
        text.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2)
        text.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2)
        text.append(UInt8(ascii: "."))
        digits(Int(time.tv_nsec) / 1_000_000, 3)
        text.append(UInt8(ascii: "Z"))
        return String(decoding: text, as: UTF8.self)
    }
}

/// Appends `key=value` pairs (logfmt) or `"key":value` members (JSON) to one line.
private struct LineWriter {
    let format: LogFormat
    var out: [UInt8]
    private var first = true

    init(format: LogFormat, capacity: Int) {
        self.format = format
        out = []
        out.reserveCapacity(capacity)
    }

    mutating func member(_ key: String, value: Logger.Metadata.Value) {
        switch value {
        case .string(let text):
            member(key, text: text, quoteAlways: false)
        case .stringConvertible(let convertible):
            let text = convertible.description
            if format == .json && Self.isJSONScalar(text) {
                separator(key)
                out += text.utf8
            } else {
                member(key, text: text, quoteAlways: false)
            }
        case .array, .dictionary:
            member(key, text: value.description, quoteAlways: false)
        }
    }

    /// `quoteAlways` quotes a logfmt value even when it needs no quotes (the message, so that it reads as one).
    mutating func member(_ key: String, text: String, quoteAlways: Bool) {
        separator(key)
        if format == .json || quoteAlways || Self.needsQuotes(text) {
            quoted(text)
        } else {
            out += text.utf8
        }
    }

    private mutating func separator(_ key: String) {
        switch format {
        case .logfmt:
            if !first { out.append(UInt8(ascii: " ")) }
            // logfmt keys are bare words: anything but letters, digits, `_`, `-`, `.` becomes `_`.
            for byte in key.utf8 {
                let plain =
                    (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                    || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
                out.append(plain ? byte : UInt8(ascii: "_"))
            }
            if key.isEmpty { out.append(UInt8(ascii: "_")) }
            out.append(UInt8(ascii: "="))
        case .json:
            if !first { out.append(UInt8(ascii: ",")) }
            quoted(key)
            out.append(UInt8(ascii: ":"))
        }
        first = false
    }

    /// A double-quoted string with RFC 8259 §7 escapes, which logfmt readers accept too. DEL, the C1 controls and
    /// U+2028/U+2029 are escaped as well, so that no reader sees a line break inside a line.
    private mutating func quoted(_ text: String) {
        out.append(UInt8(ascii: "\""))
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x22: out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case 0x5C: out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0x00..<0x20, 0x7F...0x9F, 0x2028, 0x2029:
                let hex = Self.hexDigits
                let value = Int(scalar.value)
                out += [UInt8(ascii: "\\"), UInt8(ascii: "u")]
                out += [hex[value >> 12 & 0xF], hex[value >> 8 & 0xF], hex[value >> 4 & 0xF], hex[value & 0xF]]
            case 0x20..<0x80:
                out.append(UInt8(scalar.value))
            default:
                UTF8.encode(scalar) { out.append($0) }
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// logfmt: an empty value, or one with a space, `"`, `=`, `\` or a control character, goes in quotes.
    private static func needsQuotes(_ text: String) -> Bool {
        if text.isEmpty { return true }
        return text.unicodeScalars.contains { scalar in
            scalar.value <= 0x20 || scalar == "\"" || scalar == "=" || scalar == "\\"
                || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
                || scalar.properties.isWhitespace
        }
    }

    /// `true`, `false` or an RFC 8259 §6 number: `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?`.
    private static func isJSONScalar(_ text: String) -> Bool {
        if text == "true" || text == "false" { return true }
        let bytes = Array(text.utf8)
        var index = 0
        func digits() -> Int {
            let start = index
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
            return index - start
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count else { return false }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else if digits() == 0 {
            return false
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { return false }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard digits() > 0 else { return false }
        }
        return index == bytes.count
    }
}
