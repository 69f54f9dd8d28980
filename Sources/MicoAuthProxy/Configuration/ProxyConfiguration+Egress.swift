extension ProxyConfiguration {
    /// Read in this order when `egress_proxy` is absent or `null`; the lower-case name wins, as in curl.
    static let egressProxyEnvironmentVariables = ["https_proxy", "HTTPS_PROXY"]
    /// Read in this order when `no_proxy` is absent or `null`.
    static let noProxyEnvironmentVariables = ["no_proxy", "NO_PROXY"]

    /// The proxy to reach `host` through, or `nil` to connect directly: when there is no `egressProxy`,
    /// when `host` is loopback (`localhost`, 127.0.0.0/8, `::1`) and the proxy came from the environment, or when
    /// it matches a `noProxy` entry.
    ///
    /// `host` is a host name or IP literal (brackets and a trailing dot allowed). Matching follows curl:
    /// `*` matches every host; a name matches itself and its subdomains, case-insensitively, with or without
    /// a leading `.`; an IP literal matches only the same address, or an `ADDRESS/BITS` range; an entry's
    /// `:port` is ignored.
    public func egressProxy(for host: String) -> EgressProxy? {
        guard let egressProxy else { return nil }
        var name = Substring(host.lowercased())
        if name.hasPrefix("["), name.hasSuffix("]") { name = name.dropFirst().dropLast() }
        if name.hasSuffix(".") { name = name.dropLast() }
        let normalized = String(name)
        // A proxy inherited from the environment (a developer's shell, say) never captures a loopback upstream
        // such as the mock API; one set with the config key applies to every host that no_proxy does not list.
        guard !(HostSyntax.isLoopback(normalized) && egressProxySource.hasPrefix("environment")) else { return nil }
        let address = Self.addressBytes(normalized)
        for entry in noProxy where Self.noProxyEntry(entry, matches: normalized, address: address) { return nil }
        return egressProxy
    }

    /// The entries of a `no_proxy` environment value: split at commas, blanks trimmed, empty ones dropped,
    /// lower-cased.
    static func noProxyEntries(_ value: String) -> [String] {
        value.split(separator: ",").compactMap { part in
            var trimmed = part.drop(while: \.isWhitespace)
            while trimmed.last?.isWhitespace == true { trimmed = trimmed.dropLast() }
            return trimmed.isEmpty ? nil : trimmed.lowercased()
        }
    }

    /// Whether one `no_proxy` entry covers `host` (lower-case, no brackets, no trailing dot), whose
    /// address is `address` when it is an IP literal.
    static func noProxyEntry(_ entry: String, matches host: String, address: [UInt8]?) -> Bool {
        var pattern = Substring(entry.lowercased())
        if pattern == "*" { return true }
        var prefixBits: Int?
        if let slash = pattern.lastIndex(of: "/") {
            guard let bits = Int(pattern[pattern.index(after: slash)...]) else { return false }
            prefixBits = bits
            pattern = pattern[..<slash]
        }
        if pattern.hasPrefix("[") {
            guard let close = pattern.firstIndex(of: "]") else { return false }
            pattern = pattern[pattern.index(after: pattern.startIndex)..<close]
        } else if let colon = pattern.firstIndex(of: ":"), pattern.lastIndex(of: ":") == colon {
            pattern = pattern[..<colon]  // host:port; an IPv6 literal has at least two colons
        }
        if let patternAddress = addressBytes(String(pattern)) {
            guard let address else { return false }
            return prefix(of: address, equals: patternAddress, bits: prefixBits ?? patternAddress.count * 8)
        }
        guard prefixBits == nil else { return false }
        if pattern.hasPrefix("*.") {
            pattern = pattern.dropFirst(2)
        } else if pattern.hasPrefix(".") {
            pattern = pattern.dropFirst()
        }
        if pattern.hasSuffix(".") { pattern = pattern.dropLast() }
        guard !pattern.isEmpty, address == nil else { return false }
        return host == pattern || host.hasSuffix("." + pattern)
    }

    /// The bytes of an IPv4 or IPv6 literal, or `nil` for anything else.
    static func addressBytes(_ text: String) -> [UInt8]? {
        HostSyntax.ipv4Bytes(text) ?? HostSyntax.ipv6Bytes(text)
    }

    /// Whether the first `bits` bits of two addresses of the same family agree.
    private static func prefix(of address: [UInt8], equals other: [UInt8], bits: Int) -> Bool {
        guard address.count == other.count, (0...address.count * 8).contains(bits) else { return false }
        let whole = bits / 8
        guard address[..<whole] == other[..<whole] else { return false }
        let remaining = bits % 8
        guard remaining > 0 else { return true }
        let mask = UInt8(0xFF) << (8 - remaining)
        return address[whole] & mask == other[whole] & mask
    }

    /// Checks `egress_proxy` (a valid host and a port other than 0) and the `no_proxy` entries (non-empty,
    /// without commas, spaces or control characters); errors name the key.
    func validateEgress() throws(ConfigurationError) {
        if let egressProxy {
            if case .failure(let error) = HostSyntax.classify(egressProxy.host) {
                throw ConfigurationError(key: "egress_proxy", message: error.message)
            }
            guard egressProxy.port != 0 else {
                throw ConfigurationError(key: "egress_proxy", message: "the port must be a number from 1 to 65535")
            }
        }
        for entry in noProxy {
            guard !entry.isEmpty else { throw ConfigurationError(key: "no_proxy", message: "has an empty entry") }
            guard !entry.unicodeScalars.contains(where: { Self.isControlOrSpace($0) || $0 == "," }) else {
                throw ConfigurationError(
                    key: "no_proxy",
                    message: "\"\(entry)\": must be one host, domain or IP address, without spaces, control characters"
                        + " or \",\"")
            }
        }
    }
}
