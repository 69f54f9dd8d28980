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
        let port: UInt16?
        switch HostSyntax.authority(authority, bracketExample: "https://[::1]:8443") {
        case .success(let parts): (host, port) = parts
        case .failure(let error): throw failure(error.message)
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
