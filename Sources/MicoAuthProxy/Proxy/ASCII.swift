/// Byte-level ASCII helpers for the proxy's own checks on names and paths (MicoHTTP keeps its own internally).
enum ASCII {
    /// `b` with `A`–`Z` mapped to `a`–`z`; every other byte unchanged.
    static func lowercased(_ b: UInt8) -> UInt8 {
        b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b | 0x20 : b
    }
}
