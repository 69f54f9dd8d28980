/// An `http` or `https` URL as the proxy needs it: scheme, host, port and request target.
///
/// `parse` accepts `scheme://host[:port][/path][?query]` with no user information and no
/// fragment, and requires `https` unless the host is loopback.
public struct HTTPURL: Sendable, Hashable, CustomStringConvertible {
    /// `"https"` or `"http"`, lowercase.
    public var scheme: String
    /// The host, lowercase; an IPv6 literal without brackets.
    public var host: String
    /// The explicit port, or 443 for `https` and 80 for `http`.
    public var port: UInt16
    /// Path and query, e.g. `"/oauth/token"`; `""` when the URL has none.
    public var path: String

    /// Builds a URL from parts without checking them; use `parse` for text from outside.
    /// `port` defaults to the scheme's default port.
    public init(scheme: String, host: String, port: UInt16? = nil, path: String = "") {
        self.scheme = scheme.lowercased()
        self.host = host
        self.port = port ?? (self.scheme == "https" ? 443 : 80)
        self.path = path
    }

    /// Whether the scheme is `https`.
    public var isTLS: Bool { scheme == "https" }

    /// Whether the host is `localhost`, in 127.0.0.0/8 or `::1`.
    public var isLoopbackHost: Bool { HostSyntax.isLoopback(host) }

    /// The port the scheme implies: 443 for `https`, 80 for `http`.
    public var defaultPort: UInt16 { isTLS ? 443 : 80 }

    /// `host[:port]` for a `Host` header (RFC 9110 §7.2): IPv6 in brackets, the port left out when it is
    /// the scheme's default.
    public var authority: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return port == defaultPort ? bracketed : "\(bracketed):\(port)"
    }

    /// `scheme://authority/path?query`.
    public var description: String { "\(scheme)://\(authority)\(path)" }

    /// Parses `text`; errors name `key` and never quote the text, which may hold a password.
    public static func parse(_ text: String, key: String) throws(ConfigurationError) -> HTTPURL {
        func failure(_ why: String) -> ConfigurationError { ConfigurationError(key: key, message: why) }
        guard let separator = text.firstRange(of: "://") else {
            throw failure("must be an absolute URL such as https://api.micovoice.com")
        }
        let scheme = text[..<separator.lowerBound].lowercased()
        guard scheme == "https" || scheme == "http" else {
            throw failure("the scheme must be https (or http for a loopback host)")
        }
        let afterScheme = text[separator.upperBound...]
        let authorityEnd =
            afterScheme.firstIndex(where: { (character: Character) in "/?#".contains(character) })
            ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        var target = String(afterScheme[authorityEnd...])
        // RFC 9110 §4.2.4: user information in an http(s) URI is deprecated; it would also end up in logs.
        guard !authority.contains("@") else { throw failure("must not contain user information (user:password@)") }
        guard !target.contains("#") else { throw failure("must not contain a fragment (#...)") }
        guard target.utf8.allSatisfy(isTargetByte) else {
            throw failure("the path contains a character that must be percent-encoded")
        }
        if target.hasPrefix("?") { target = "/" + target }

        let host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw failure("missing \"]\" after the IPv6 address")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let rest = authority[authority.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw failure("unexpected text after \"]\"") }
                portText = rest.dropFirst()
            }
            guard HostSyntax.ipv6Bytes(String(host)) != nil else {
                throw failure("\(host) is not a valid IPv6 address")
            }
        } else {
            if let colon = authority.lastIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
            if host.contains(":") { throw failure("an IPv6 address needs brackets, e.g. https://[::1]:8443") }
            if case .failure(let error) = HostSyntax.classify(String(host)) { throw failure(error.message) }
        }
        var port: UInt16?
        if let portText {
            guard let value = HostSyntax.port(portText), value != 0 else {
                throw failure("the port must be a number from 1 to 65535")
            }
            port = value
        }
        let url = HTTPURL(scheme: scheme, host: host.lowercased(), port: port, path: target)
        guard url.isTLS || url.isLoopbackHost else {
            throw failure("must use https; http is allowed only for a loopback host (127.0.0.1, [::1], localhost)")
        }
        return url
    }

    /// RFC 3986 §3.3-3.4: unreserved, sub-delims, ":", "@", "/", "?" and "%" (percent-encoding).
    private static func isTargetByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return "-._~!$&'()*+,;=:@/?%".utf8.contains(byte)
        }
    }
}
