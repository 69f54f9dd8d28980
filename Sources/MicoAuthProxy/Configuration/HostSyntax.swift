import Glibc

/// Checks host text shared by listen addresses and URLs: IPv4 literals, IPv6 literals (without
/// brackets) and DNS names.
enum HostSyntax {
    /// What kind of host a valid text is.
    enum Kind: Equatable {
        case ipv4
        case ipv6
        case name
    }

    /// Classifies `host`, or returns why it is not a host.
    static func classify(_ host: String) -> Result<Kind, ConfigurationError> {
        if host.isEmpty { return .failure(error("has no host")) }
        if ipv4Bytes(host) != nil { return .success(.ipv4) }
        if host.contains(":") {
            return ipv6Bytes(host) != nil ? .success(.ipv6) : .failure(error("\(host) is not a valid IPv6 address"))
        }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        if labels.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) {
            return .failure(error("\(host) is not a valid IPv4 address"))
        }
        // RFC 1123 §2.1 host names; "_" is tolerated because resolvers accept it.
        let nameLabels = host.hasSuffix(".") ? labels.dropLast() : labels[...]
        guard host.utf8.count <= 253,
            nameLabels.allSatisfy({ label in
                (1...63).contains(label.utf8.count) && label.first != "-" && label.last != "-"
                    && label.utf8.allSatisfy { isNameByte($0) }
            })
        else {
            return .failure(error("\"\(host)\" is not a valid host name or IP address"))
        }
        return .success(.name)
    }

    /// Whether `host` names this machine: `localhost`, 127.0.0.0/8, `::1`, or `::ffff:127.x.y.z`.
    ///
    /// Names under `.localhost` are not counted: not every resolver maps them to loopback.
    static func isLoopback(_ host: String) -> Bool {
        let lowered = host.lowercased()
        if lowered == "localhost" || lowered == "localhost." { return true }
        if let bytes = ipv4Bytes(host) { return bytes[0] == 127 }
        if let bytes = ipv6Bytes(host) {
            if bytes == [UInt8](repeating: 0, count: 15) + [1] { return true }
            let mappedPrefix = [UInt8](repeating: 0, count: 10) + [0xff, 0xff]
            return Array(bytes[0..<12]) == mappedPrefix && bytes[12] == 127
        }
        return false
    }

    static func ipv4Bytes(_ text: String) -> [UInt8]? {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    static func ipv6Bytes(_ text: String) -> [UInt8]? {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    /// Splits `authority` (`host[:port]`, an IPv6 literal in brackets) and checks both parts; the port must be
    /// 1 to 65535. `bracketExample` shows a bracketed IPv6 authority in the caller's syntax.
    static func authority(
        _ authority: Substring,
        bracketExample: String
    ) -> Result<(host: Substring, port: UInt16?), ConfigurationError> {
        let host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                return .failure(error("missing \"]\" after the IPv6 address"))
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let rest = authority[authority.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return .failure(error("unexpected text after \"]\"")) }
                portText = rest.dropFirst()
            }
            guard ipv6Bytes(String(host)) != nil else { return .failure(error("\(host) is not a valid IPv6 address")) }
        } else {
            if let colon = authority.lastIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
            if host.contains(":") { return .failure(error("an IPv6 address needs brackets, e.g. \(bracketExample)")) }
            if case .failure(let failure) = classify(String(host)) { return .failure(failure) }
        }
        guard let portText else { return .success((host, nil)) }
        guard let port = port(portText), port != 0 else {
            return .failure(error("the port must be a number from 1 to 65535"))
        }
        return .success((host, port))
    }

    /// Parses a decimal port of 1 to 5 digits no greater than 65535.
    static func port(_ text: Substring) -> UInt16? {
        guard (1...5).contains(text.utf8.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            return nil
        }
        return UInt16(text)
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "-"), UInt8(ascii: "_"): return true
        default: return false
        }
    }

    private static func error(_ message: String) -> ConfigurationError {
        ConfigurationError(key: nil, message: message)
    }
}
