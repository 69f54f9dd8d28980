/// Byte-level ASCII case folding, for field names, tokens and paths: HTTP compares these ignoring ASCII case only.
public enum ASCII {
    /// `b` with `A`-`Z` mapped to `a`-`z`; every other byte unchanged.
    @inlinable @inline(__always)
    public static func lowercased(_ b: UInt8) -> UInt8 {
        b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b | 0x20 : b
    }

    /// Whether `bytes` spell `lowercased` ignoring ASCII case; `lowercased` must have no upper-case ASCII letter.
    public static func equalsIgnoringCase(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercased: StaticString) -> Bool {
        bytes.count == lowercased.utf8CodeUnitCount && hasPrefixIgnoringCase(bytes, lowercased)
    }

    /// Whether `bytes` start with `lowercased` ignoring ASCII case; `lowercased` must have no upper-case ASCII
    /// letter.
    ///
    /// Eight bytes at a time from eight on (the last word overlapping the one before): each field name stored is
    /// matched against the names the header rules know, and a byte at a time that was 700 instructions a request.
    public static func hasPrefixIgnoringCase(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercased: StaticString) -> Bool {
        let count = lowercased.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        guard count >= 8 else {
            for i in 0..<count where Self.lowercased(bytes[i]) != lowercased.utf8Start[i] { return false }
            return true
        }
        let text = UnsafeRawPointer(bytes.baseAddress!)
        let literal = UnsafeRawPointer(lowercased.utf8Start)
        var offset = 0
        while true {
            let expected = literal.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            let word = text.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            if word | letterBits(expected) != expected { return false }
            if offset + 8 == count { return true }
            offset = min(offset + 8, count - 8)
        }
    }

    /// 0x20 in each byte of `word` that is a lower-case ASCII letter, 0 in the others; every byte must be below
    /// 0x80. OR-ing it into a text word folds exactly the bytes that can match a letter: for a letter `x`,
    /// `b | 0x20 == x` holds for `x` and its upper case only, and the other bytes are compared as they are.
    @inline(__always)
    static func letterBits(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let topBits: UInt64 = 0x8080_8080_8080_8080
        // Adding 0x80 - bound sets a byte's top bit exactly when the byte is at least `bound` (no byte carries over).
        let atLeastA = word &+ (0x80 - 0x61) &* ones
        let pastZ = word &+ (0x80 - 0x7B) &* ones
        return (atLeastA & ~pastZ & topBits) >> 2
    }

    /// Whether `a` and `b` are equal ignoring ASCII case.
    public static func equalsIgnoringCase(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where a[i] != b[i] && lowercased(a[i]) != lowercased(b[i]) { return false }
        return true
    }
}
