/// Byte classes of the HTTP grammar (RFC 9110 §5.6, RFC 9112 §2-§7).
enum ByteClass {
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let sp = UInt8(ascii: " ")
    static let htab = UInt8(ascii: "\t")
    static let colon = UInt8(ascii: ":")
    static let comma = UInt8(ascii: ",")
    static let semicolon = UInt8(ascii: ";")

    // RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|"
    // / "~" / DIGIT / ALPHA
    // As a set of bits, one per byte value: bytes 0-63 in the first word, 64-127 in the second (a test checks every
    // byte against the list above). One shift and mask per byte, where comparing with the list took up to a dozen.
    @inline(__always)
    static func isTokenChar(_ b: UInt8) -> Bool {
        let bits: UInt64 = b < 64 ? 0x03FF_6CFA_0000_0000 : 0x57FF_FFFF_C7FF_FFFE
        return b < 128 && (bits >> (b & 63)) & 1 != 0
    }

    @inline(__always)
    static func isWhitespace(_ b: UInt8) -> Bool { b == sp || b == htab }

    // RFC 9110 §5.5: field-value bytes are HTAB, SP, VCHAR and obs-text; every other control byte and DEL is refused.
    @inline(__always)
    static func isFieldValueByte(_ b: UInt8) -> Bool { (b >= 0x20 && b != 0x7F) || b == htab }

    // RFC 9112 §3.2: the target is a URI reference: no whitespace, controls or DEL. Bytes >= 0x80 are passed on.
    @inline(__always)
    static func isTargetByte(_ b: UInt8) -> Bool { b > 0x20 && b != 0x7F }

    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    @inline(__always)
    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    // RFC 3986 §3.2.2-3.2.3: host = IP-literal / IPv4address / reg-name, then [":" port]. The comma (a sub-delim)
    // is refused as well: a list in Host is how smuggling attempts disagree about the authority.
    @inline(__always)
    static func isHostByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "a")...UInt8(ascii: "z"):
            true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "%"),
            UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
            UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ";"), UInt8(ascii: "="),
            UInt8(ascii: ":"), UInt8(ascii: "["), UInt8(ascii: "]"):
            true
        default:
            false
        }
    }

    // Eight bytes at a time ("SWAR"): the classic tests whether any byte of a word is below or above a bound,
    // exact as to whether one is (not as to which).

    /// The eight bytes at `offset` as one word, in memory order. Like `p[offset]`, checked in debug builds only.
    @inline(__always)
    static func word(_ p: UnsafeBufferPointer<UInt8>, at offset: Int) -> UInt64 {
        assert(offset >= 0 && offset + 8 <= p.count)
        return UnsafeRawPointer(p.baseAddress! + offset).loadUnaligned(as: UInt64.self)
    }

    /// The offset, from `start` and at most `end`, of the first eight-byte word holding a byte outside
    /// `lowest...0x7E`; every byte before it is inside. The bytes from there to `end` are left to the caller.
    @inline(__always)
    static func skipASCIIWords(_ p: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int, lowest: UInt8) -> Int {
        var i = start
        while i + 8 <= end {
            let w = word(p, at: i)
            if hasByte(in: w, below: lowest) || hasByte(in: w, above: 0x7E) { break }
            i += 8
        }
        return i
    }

    /// Whether any byte of `word` is below `bound` (at most 0x80): subtracting it borrows into the byte's top bit
    /// only if it is, and `& ~word` drops the bytes whose top bit was set already.
    @inline(__always)
    static func hasByte(in word: UInt64, below bound: UInt8) -> Bool {
        (word &- UInt64(bound) &* 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080 != 0
    }

    /// Whether any byte of `word` is above `bound` (below 0x80): adding 0x7F - bound carries into the byte's top
    /// bit only if it is, and `| word` catches the bytes whose top bit was set already.
    @inline(__always)
    static func hasByte(in word: UInt64, above bound: UInt8) -> Bool {
        ((word &+ UInt64(0x7F - bound) &* 0x0101_0101_0101_0101) | word) & 0x8080_8080_8080_8080 != 0
    }
}
