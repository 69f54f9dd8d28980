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
            for b in utf8 where b >= 0x80 || !rule.allows(b) { return false }
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

    /// Whether `a` and `b` are equal ignoring ASCII case.
    static func equalsIgnoringCase(_ a: String, _ b: String) -> Bool {
        let x = a.utf8
        let y = b.utf8
        guard x.count == y.count else { return false }
        let contiguous: Bool?? = x.withContiguousStorageIfAvailable { p in
            y.withContiguousStorageIfAvailable { q in
                for i in 0..<p.count where ByteClass.lowercased(p[i]) != ByteClass.lowercased(q[i]) { return false }
                return true
            }
        }
        if let contiguous, let equal = contiguous { return equal }
        for (p, q) in zip(x, y) where ByteClass.lowercased(p) != ByteClass.lowercased(q) {
            return false
        }
        return true
    }
}
