import MicoHTTP
import Testing

/// Every byte value in every position of a long line: the decoder and serialiser check most bytes eight at a time,
/// and must give the answer that checking them one by one gives (RFC 9110 §5.5, §5.6.2; RFC 9112 §2.2).
struct HTTPByteClassTests {
    /// RFC 9110 §5.6.2, spelt out.
    static let tchars = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)

    /// A field value of `length` letters with `byte` at `position`.
    static func value(_ byte: UInt8, at position: Int, length: Int = 27) -> [UInt8] {
        var value = [UInt8](repeating: UInt8(ascii: "v"), count: length)
        value[position] = byte
        return value
    }

    /// The String with one scalar per byte, as the decoder makes them.
    static func latin1(_ bytes: [UInt8]) -> String {
        String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }

    @Test func tokenCharactersAreExactlyTheRFCList() {
        for byte in UInt8.min...UInt8.max {
            let name = Self.latin1([byte])
            #expect(HTTPHeaders.isValidName(name) == Self.tchars.contains(byte), "byte \(byte)")
        }
    }

    @Test(arguments: 0..<27)
    func everyByteInAFieldValueIsJudgedAsAlone(position: Int) {
        for byte in UInt8.min...UInt8.max {
            // Between two letters, so that no SP or HTAB is trimmed.
            let value = bytes("<") + Self.value(byte, at: position) + bytes(">")
            let input = bytes("GET / HTTP/1.1\r\nHost: a\r\nX-Long: ") + value + bytes("\r\n\r\n")
            let expected: Outcome<HTTPRequestHead>
            switch byte {
            case UInt8(ascii: "\r"): expected = .error(.bareCR)
            case UInt8(ascii: "\n"): expected = .error(.bareLF)
            case 0x00..<0x20 where byte != UInt8(ascii: "\t"), 0x7F: expected = .error(.invalidFieldValue)
            default:
                let headers = HTTPHeaders([("Host", "a"), ("X-Long", Self.latin1(value))])
                expected = .head(HTTPRequestHead(method: "GET", target: "/", headers: headers), .none, input.count)
            }
            #expect(requestOutcome(input) == expected, "byte \(byte) at \(position)")
        }
    }

    @Test(arguments: 0..<27)
    func everyByteInATargetIsJudgedAsAlone(position: Int) {
        for byte in UInt8.min...UInt8.max {
            let target = bytes("/") + Self.value(byte, at: position)
            let input = bytes("GET ") + target + bytes(" HTTP/1.1\r\nHost: a\r\n\r\n")
            let outcome = requestOutcome(input)
            switch byte {
            case UInt8(ascii: "\r"): #expect(outcome == .error(.bareCR), "byte \(byte) at \(position)")
            case UInt8(ascii: "\n"): #expect(outcome == .error(.bareLF), "byte \(byte) at \(position)")
            case UInt8(ascii: " "): #expect(outcome == .error(.invalidVersion), "byte \(byte) at \(position)")
            case 0x00..<0x20, 0x7F: #expect(outcome == .error(.invalidTarget), "byte \(byte) at \(position)")
            default:
                guard case .head(let head, _, _) = outcome else {
                    Issue.record("byte \(byte) at \(position): \(outcome)")
                    continue
                }
                #expect(head.target.unicodeScalars.map { UInt8($0.value) } == target, "byte \(byte) at \(position)")
            }
        }
    }

    @Test(arguments: 0..<27)
    func everyScalarInASerialisedValueIsReplacedOrKeptAsAlone(position: Int) {
        for byte in UInt8.min...UInt8.max {
            let value = Self.latin1(Self.value(byte, at: position))
            var out: [UInt8] = []
            HTTPResponseHead(status: 200, headers: HTTPHeaders([("X-Long", value)])).serialize(into: &out)
            let allowed = byte == UInt8(ascii: "\t") || (byte >= 0x20 && byte != 0x7F)
            let expected = Self.value(allowed ? byte : UInt8(ascii: " "), at: position)
            #expect(out == bytes("HTTP/1.1 200 \r\nX-Long: ") + expected + bytes("\r\n\r\n"), "byte \(byte)")
        }
    }

    @Test(arguments: 0..<27)
    func everyScalarInASerialisedTargetIsReplacedOrKeptAsAlone(position: Int) {
        for byte in UInt8.min...UInt8.max {
            let target = Self.latin1(Self.value(byte, at: position))
            var out: [UInt8] = []
            HTTPRequestHead(method: "GET", target: target).serialize(into: &out)
            let expected = Self.value(byte > 0x20 && byte != 0x7F ? byte : UInt8(ascii: "_"), at: position)
            #expect(out == bytes("GET ") + expected + bytes(" HTTP/1.1\r\n\r\n"), "byte \(byte)")
        }
    }
}
