/// Conversions between wire bytes and Strings in which each byte is one Unicode scalar (ISO-8859-1), and
/// ASCII-only case-insensitive comparison.
enum Latin1 {
    /// The bytes as a String with one scalar per byte.
    static func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var high = 0
        for b in bytes where b >= 0x80 { high += 1 }
        if high == 0 { return String(decoding: bytes, as: UTF8.self) }
        return String(unsafeUninitializedCapacity: bytes.count + high) { utf8 in
            var i = 0
            for b in bytes {
                if b < 0x80 {
                    utf8[i] = b
                    i += 1
                } else {
                    utf8[i] = 0xC0 | (b >> 6)
                    utf8[i + 1] = 0x80 | (b & 0x3F)
                    i += 2
                }
            }
            return i
        }
    }

    /// Which bytes may appear where a String is serialised; any other byte is replaced.
    enum Rule {
        case token, target, fieldValue

        @inline(__always)
        func allows(_ b: UInt8) -> Bool {
            switch self {
            case .token: ByteClass.isTokenChar(b)
            case .target: ByteClass.isTargetByte(b)
            case .fieldValue: ByteClass.isFieldValueByte(b)
            }
        }

        /// Whether every byte is ASCII and allowed, so that these UTF-8 bytes are already the wire bytes. The rule
        /// is switched on once, outside the loop over the bytes.
        func allowsAllASCII(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
            switch self {
            case .token:
                return utf8.allSatisfy(ByteClass.isTokenChar)
            case .target:
                // Target bytes that are ASCII: "!" to "~".
                let rest = ByteClass.skipASCIIWords(utf8, from: 0, to: utf8.count, lowest: UInt8(ascii: "!"))
                return utf8[rest...].allSatisfy { $0 < 0x80 && ByteClass.isTargetByte($0) }
            case .fieldValue:
                // Field-value bytes that are ASCII: SP to "~", and HTAB.
                let rest = ByteClass.skipASCIIWords(utf8, from: 0, to: utf8.count, lowest: ByteClass.sp)
                return utf8[rest...].allSatisfy { $0 < 0x80 && ByteClass.isFieldValueByte($0) }
            }
        }

        var replacement: UInt8 {
            switch self {
            case .token, .target: UInt8(ascii: "_")
            case .fieldValue: ByteClass.sp
            }
        }
    }

    /// Appends the wire bytes of `string`. A scalar above U+00FF, or a byte `rule` does not allow (CR, LF, NUL, a
    /// space in a token, ...), is written as the rule's replacement byte, so no String can inject a line or field.
    static func append(_ string: String, rule: Rule, to bytes: inout [UInt8]) {
        let appended: Bool? = string.utf8.withContiguousStorageIfAvailable { utf8 in
            guard rule.allowsAllASCII(utf8) else { return false }
            bytes.append(contentsOf: utf8)
            return true
        }
        if appended == true { return }
        var lead: UInt8 = 0
        for b in string.utf8 {
            if b < 0x80 {
                bytes.append(rule.allows(b) ? b : rule.replacement)
            } else if b >= 0xC0 {
                // A lead byte: 0xC2 and 0xC3 start the scalars U+0080-U+00FF; longer scalars have no byte.
                if b == 0xC2 || b == 0xC3 {
                    lead = b
                } else {
                    lead = 0
                    bytes.append(rule.replacement)
                }
            } else if lead != 0 {
                let byte = ((lead & 0x03) << 6) | (b & 0x3F)
                bytes.append(rule.allows(byte) ? byte : rule.replacement)
                lead = 0
            }
        }
    }

    /// Whether every scalar of `string` is a byte that `rule` allows.
    static func isValid(_ string: String, rule: Rule) -> Bool {
        for scalar in string.unicodeScalars {
            guard scalar.value <= 0xFF, rule.allows(UInt8(scalar.value)) else { return false }
        }
        return true
    }
}
