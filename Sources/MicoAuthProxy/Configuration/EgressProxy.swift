import FoundationEssentials

/// An HTTP proxy that the proxy's outgoing connections go through: each one is a `CONNECT` tunnel
/// (RFC 9110 §9.3.6) that carries the TLS session to the real upstream, whose certificate is still checked.
///
/// Written as `http://[user:password@]host[:port][/]`. It prints as `http://host:port`, or
/// `http://********@host:port` when it has credentials: `description`, `debugDescription`, string
/// interpolation and `dump` never show the user name, the password or the header value.
public struct EgressProxy: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The proxy's host, lower-case; an IPv6 literal without brackets.
    public var host: String
    /// The proxy's port: as written, or 80.
    public var port: UInt16
    /// The value of the `Proxy-Authorization` header to send with each `CONNECT`: `Basic` and the base64 of
    /// `user:password`, both percent-decoded from the URL (RFC 7617 §2). `nil` when the URL has no user information.
    public var proxyAuthorization: Secret?

    /// Builds a proxy from parts without checking them; use `parse` for text from outside.
    public init(host: String, port: UInt16 = 80, proxyAuthorization: Secret? = nil) {
        self.host = host
        self.port = port
        self.proxyAuthorization = proxyAuthorization
    }

    /// `host:port` to connect to, an IPv6 literal in brackets.
    public var authority: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// `http://host:port`, with `********@` before the host when there are credentials.
    public var description: String {
        "http://\(proxyAuthorization == nil ? "" : Secret.mask + "@")\(authority)"
    }

    /// The same as `description`.
    public var debugDescription: String { description }

    /// The `Proxy-Authorization` value for `user` and `password`: `Basic` and the base64 of their UTF-8
    /// joined by `:` (RFC 7617 §2, §2.1).
    public static func basicAuthorization(user: String, password: String) -> Secret {
        Secret("Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
    }

    /// Parses `text`; errors name `key` and never quote the text, which may hold a password.
    ///
    /// Only `http` is accepted: the tunnel through the proxy carries TLS, and a TLS connection to the proxy
    /// itself is not supported. The path must be empty or `/`; query and fragment are refused.
    public static func parse(_ text: String, key: String) throws(ConfigurationError) -> EgressProxy {
        func failure(_ why: String) -> ConfigurationError { ConfigurationError(key: key, message: why) }
        guard !text.unicodeScalars.contains(where: ProxyConfiguration.isControlOrSpace) else {
            throw failure("must not contain spaces or control characters")
        }
        guard let separator = text.firstRange(of: "://") else {
            throw failure("must be a URL such as http://proxy.example.com:3128")
        }
        let scheme = text[..<separator.lowerBound].lowercased()
        guard scheme != "https" else {
            throw failure(
                "https proxies are not supported; use http://host:port: the CONNECT tunnel through the proxy"
                    + " still carries TLS to the upstream")
        }
        guard scheme == "http" else { throw failure("the scheme must be http, as in http://proxy.example.com:3128") }
        let afterScheme = text[separator.upperBound...]
        let authorityEnd =
            afterScheme.firstIndex(where: { (character: Character) in "/?#".contains(character) })
            ?? afterScheme.endIndex
        var authority = afterScheme[..<authorityEnd]
        let rest = afterScheme[authorityEnd...]
        guard rest.isEmpty || rest == "/" else {
            if rest.contains("@") {
                throw failure(
                    "a user name or password must percent-encode \"/\", \"?\", \"#\" and \"@\" (e.g. %2F for \"/\")")
            }
            throw failure("must not have a path, query or fragment: write http://host:port")
        }

        var proxyAuthorization: Secret?
        // RFC 3986 §3.2.1 userinfo; the last "@" ends it, so that an unencoded "@" in a password still works.
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
            let colon = userInfo.firstIndex(of: ":") ?? userInfo.endIndex
            let user = try decoded(userInfo[..<colon], what: "user name", failure: failure)
            let password = try decoded(userInfo[colon...].dropFirst(), what: "password", failure: failure)
            // RFC 7617 §2: the user-id cannot contain ":" and neither part may contain control characters.
            guard !user.contains(":") else { throw failure("the user name must not contain \":\" (%3A)") }
            if !user.isEmpty || !password.isEmpty {
                proxyAuthorization = basicAuthorization(user: user, password: password)
            }
        }

        switch HostSyntax.authority(authority, bracketExample: "http://[::1]:3128") {
        case .success((let host, let port)):
            return EgressProxy(host: host.lowercased(), port: port ?? 80, proxyAuthorization: proxyAuthorization)
        case .failure(let error):
            throw failure(error.message)
        }
    }

    /// `text` with `%XX` escapes decoded (RFC 3986 §2.1), as UTF-8 without control characters.
    /// Reasons name `what` and never quote the text.
    private static func decoded(
        _ text: Substring,
        what: String,
        failure: (String) -> ConfigurationError
    ) throws(ConfigurationError) -> String {
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        while index < text.utf8.endIndex {
            let byte = text.utf8[index]
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                index = text.utf8.index(after: index)
                continue
            }
            let digits = text.utf8[text.utf8.index(after: index)...].prefix(2)
            guard digits.count == 2, digits.allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit }),
                let value = UInt8(String(decoding: digits, as: UTF8.self), radix: 16)
            else {
                throw failure("the \(what) has a \"%\" that is not followed by two hex digits")
            }
            bytes.append(value)
            index = digits.endIndex
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw failure("the \(what) is not valid UTF-8 once percent-decoded")
        }
        guard !decoded.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else {
            throw failure("the \(what) must not contain control characters, even percent-encoded")
        }
        return decoded
    }
}
