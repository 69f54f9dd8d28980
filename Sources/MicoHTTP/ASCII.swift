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
    public static func hasPrefixIgnoringCase(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercased: StaticString) -> Bool {
        let count = lowercased.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        for i in 0..<count where Self.lowercased(bytes[i]) != lowercased.utf8Start[i] { return false }
        return true
    }

    /// Whether `a` and `b` are equal ignoring ASCII case.
    public static func equalsIgnoringCase(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where a[i] != b[i] && lowercased(a[i]) != lowercased(b[i]) { return false }
        return true
    }
}
