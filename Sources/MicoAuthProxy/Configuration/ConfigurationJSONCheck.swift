/// Finds what JSONDecoder does not report: where a syntax error is (it only says "not valid JSON")
/// and keys given twice in the top-level object (it silently keeps one).
///
/// A validator only, per RFC 8259; values are decoded by JSONDecoder afterwards.
struct ConfigurationJSONCheck {
    private let bytes: [UInt8]
    private var index: Int
    private var topLevelKeys: Set<String> = []
    /// The top-level key whose value is being read.
    private var memberKey: String?

    private struct Problem: Error {
        var offset: Int
        var what: String
        var duplicateKey: String?
        /// The top-level key to blame for a value JSONDecoder could not hold either.
        var key: String?
    }

    private static let maximumDepth = 64

    private init(_ bytes: [UInt8]) {
        self.bytes = bytes
        index = Self.byteOrderMarkLength(bytes)
    }

    /// The length of a leading UTF-8 byte order mark: 3 or 0.
    static func byteOrderMarkLength(_ bytes: [UInt8]) -> Int {
        bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
    }

    /// The first problem in `bytes`: a syntax error with its line and column, or a duplicate key.
    static func problem(in bytes: [UInt8]) -> ConfigurationError? {
        var check = ConfigurationJSONCheck(bytes)
        do throws(Problem) {
            try check.value(depth: 0)
            check.skipWhitespace()
            if check.index < bytes.count { throw check.problem("unexpected text after the end of the JSON value") }
            return nil
        } catch {
            if let key = error.duplicateKey { return ConfigurationError(key: key, message: "appears more than once") }
            if let key = error.key {
                return ConfigurationError(key: key, message: ConfigurationFile.expectations[key] ?? error.what)
            }
            var line = 1
            var lineStart = 0
            for offset in 0..<min(error.offset, bytes.count) where bytes[offset] == 0x0A {
                line += 1
                lineStart = offset + 1
            }
            return ConfigurationError(
                key: nil,
                message: "is not valid JSON: line \(line), column \(error.offset - lineStart + 1): \(error.what)")
        }
    }

    private func problem(_ what: String) -> Problem { Problem(offset: index, what: what) }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
    }

    private mutating func value(depth: Int) throws(Problem) {
        skipWhitespace()
        guard let byte = current else { throw problem("unexpected end of file") }
        switch byte {
        case UInt8(ascii: "{"): try object(depth: depth + 1)
        case UInt8(ascii: "["): try array(depth: depth + 1)
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        default: throw problem("expected a value (string, number, object, array, true, false or null)")
        }
    }

    private mutating func object(depth: Int) throws(Problem) {
        guard depth <= Self.maximumDepth else { throw problem("nested too deeply") }
        index += 1
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw problem("expected a key in double quotes") }
            let keyOffset = index
            let key = try string()
            if depth == 1, !topLevelKeys.insert(key).inserted {
                throw Problem(offset: keyOffset, what: "duplicate key", duplicateKey: key)
            }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw problem("expected \":\" after the key") }
            index += 1
            if depth == 1 { memberKey = key }
            try value(depth: depth)
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return
            default: throw problem("expected \",\" or \"}\"")
            }
        }
    }

    private mutating func array(depth: Int) throws(Problem) {
        guard depth <= Self.maximumDepth else { throw problem("nested too deeply") }
        index += 1
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            index += 1
            return
        }
        while true {
            try value(depth: depth)
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return
            default: throw problem("expected \",\" or \"]\"")
            }
        }
    }

    /// Reads a string; escapes other than `\uXXXX` are decoded, which is enough to compare keys.
    private mutating func string() throws(Problem) -> String {
        index += 1
        var text: [UInt8] = []
        while let byte = current {
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: text, as: UTF8.self)
            case 0x00..<0x20:
                throw problem("control character in a string (write it as an escape such as \\n)")
            case UInt8(ascii: "\\"):
                index += 1
                guard let escaped = current else { break }
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(escaped)
                case UInt8(ascii: "b"): text.append(0x08)
                case UInt8(ascii: "f"): text.append(0x0C)
                case UInt8(ascii: "n"): text.append(0x0A)
                case UInt8(ascii: "r"): text.append(0x0D)
                case UInt8(ascii: "t"): text.append(0x09)
                case UInt8(ascii: "u"):
                    let digits = bytes[min(index + 1, bytes.count)..<min(index + 5, bytes.count)]
                    guard digits.count == 4, digits.allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit }) else {
                        throw problem("\\u must be followed by 4 hex digits")
                    }
                    text += [UInt8(ascii: "\\"), escaped] + digits
                    index += 4
                default: throw problem("invalid escape in a string")
                }
                index += 1
            default:
                text.append(byte)
                index += 1
            }
        }
        throw problem("unterminated string")
    }

    private mutating func skipDigits() -> Int {
        let first = index
        while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
        return index - first
    }

    private mutating func literal(_ word: String) throws(Problem) {
        guard bytes[index...].starts(with: word.utf8) else { throw problem("expected a value") }
        index += word.utf8.count
    }

    private mutating func number() throws(Problem) {
        let start = index
        if current == UInt8(ascii: "-") { index += 1 }
        let integerStart = index
        let integerDigits = skipDigits()
        guard integerDigits > 0 else { throw problem("invalid number") }
        guard integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else {
            throw Problem(offset: integerStart, what: "numbers must not have leading zeros")
        }
        var isInteger = true
        if current == UInt8(ascii: ".") {
            index += 1
            isInteger = false
            guard skipDigits() > 0 else { throw problem("invalid number: expected digits after \".\"") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            isInteger = false
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard skipDigits() > 0 else { throw problem("invalid number: expected digits in the exponent") }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        guard let number = Double(text), number.isFinite else {
            throw Problem(offset: start, what: "number out of range", key: memberKey)
        }
        // JSONDecoder would take 1.0 or 1e3 for an integer; keys that count things accept digits only.
        if !isInteger, let memberKey, ConfigurationFile.integerKeys.contains(memberKey) {
            throw Problem(offset: start, what: "expected an integer", key: memberKey)
        }
    }
}
