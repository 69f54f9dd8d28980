import MicoHTTP

/// What the proxy refuses to forward, whatever the upstream would say. It adds a credential to what it forwards,
/// so it must not act as an open proxy, nor serve a web page that reached loopback by DNS rebinding or a
/// cross-site request (the Host, Origin and Sec-Fetch-Site checks).
struct Policy: Sendable {
    /// `Host` values accepted, lower-cased. Requests on a unix socket skip this check.
    let allowedHosts: Set<String>
    /// The same, as the bytes a `Host` value is compared with, ignoring ASCII case.
    private let allowedHostBytes: [[UInt8]]
    /// `Origin` values accepted; a request without `Origin` passes.
    var allowedOrigins: Set<String>
    /// The token endpoint's path, normalised (see `normalizedPath`); never forwarded.
    var tokenPath: String {
        didSet { tokenPathBytes = Array(tokenPath.utf8) }
    }
    /// The same, as bytes.
    private var tokenPathBytes: [UInt8]
    /// Largest request body, bytes (checked against Content-Length here, while streaming for chunked bodies).
    var maxRequestBodyBytes: UInt64

    init(allowedHosts: Set<String>, allowedOrigins: Set<String>, tokenPath: String, maxRequestBodyBytes: UInt64) {
        self.allowedHosts = allowedHosts
        allowedHostBytes = allowedHosts.map { Array($0.utf8) }
        self.allowedOrigins = allowedOrigins
        self.tokenPath = tokenPath
        tokenPathBytes = Array(tokenPath.utf8)
        self.maxRequestBodyBytes = maxRequestBodyBytes
    }

    /// The refusal for `request`, or nil when it may be served.
    func refusal(for request: HTTPRequestHead, framing: HTTPBodyFraming, viaUnixSocket: Bool) -> ProxyError? {
        switch request.method {
        case "CONNECT":
            return .methodNotAllowed("CONNECT", reason: "this is not a tunnelling proxy")
        case "TRACE":
            // TRACE would echo the injected Authorization header back to the caller.
            return .methodNotAllowed("TRACE", reason: "it would reflect the injected credentials")
        default:
            break
        }
        // Only origin-form (RFC 9112 §3.2.1) is forwarded: absolute-form, authority-form and asterisk-form aim
        // the credential at another host or at the proxy itself.
        let target = request.target.utf8
        guard target.first == UInt8(ascii: "/"), target.dropFirst().first != UInt8(ascii: "/") else {
            return .badTarget("only origin-form request targets (\"/path?query\") are forwarded")
        }
        // Exact match only: "localhost.evil.example" or "127.0.0.1.nip.io" is a rebound name, not a local caller.
        if !viaUnixSocket, !isAllowedHost(request.headers) {
            return .forbidden(
                "forbidden_host", "the Host header is not one of allowed_hosts (a DNS-rebound name?)")
        }
        if let origin = request.headers.first("Origin"), !allowedOrigins.contains(origin) {
            return .forbidden(
                "forbidden_origin", "requests from web pages are refused unless allowed_origins lists them")
        }
        // Fetch metadata (W3C): browsers say where a request comes from; only a user's own navigation passes.
        if let site = request.headers.first("Sec-Fetch-Site")?.lowercased(), site != "none", site != "same-origin" {
            return .forbidden("forbidden_fetch_site", "cross-site browser requests are refused")
        }
        if isTokenPath(request.target) {
            return .forbidden("forbidden_path", "the token endpoint is the proxy's own business and is never forwarded")
        }
        if case .contentLength(let length) = framing, length > maxRequestBodyBytes {
            return .tooLarge(limit: maxRequestBodyBytes)
        }
        return nil
    }

    /// Whether the first `Host` value is one of `allowedHosts`, ignoring ASCII case (a missing one is not).
    private func isAllowedHost(_ headers: HTTPHeaders) -> Bool {
        headers.withFirstValue(named: "Host") { value in
            guard let value else { return false }
            return allowedHostBytes.contains { host in
                host.count == value.count && host.withUnsafeBufferPointer { ASCII.equalsIgnoringCase($0, value) }
            }
        }
    }

    /// The default `allowed_hosts`: `localhost`, `127.0.0.1` and `[::1]`, plus every configured listen host, each
    /// bare and with each port actually listened on.
    static func defaultAllowedHosts(listenHosts: [String], ports: [UInt16]) -> Set<String> {
        var hosts: Set<String> = []
        for host in ["localhost", "127.0.0.1", "::1"] + listenHosts {
            let name = host.contains(":") ? "[\(host.lowercased())]" : host.lowercased()
            hosts.insert(name)
            for port in ports { hosts.insert("\(name):\(port)") }
        }
        return hosts
    }

    /// The path of `target` as a server that decodes and normalises would see it: query dropped, percent-escapes
    /// decoded, lower-cased, empty and `.` segments dropped and `..` applied (RFC 3986 §5.2.4). Used only to
    /// recognise the token endpoint however it is spelt; the target itself is forwarded byte for byte.
    static func normalizedPath(_ target: String) -> String {
        lowercasedIfAlreadyNormal(target) ?? decodedAndNormalizedPath(target)
    }

    /// `normalizedPath` for the common target whose path only lower-casing can change: ASCII without `%`, no
    /// empty, `.` or `..` segment. Nil for any other target, which takes the general path. Working on the bytes
    /// saves the general path's allocations, and its answers are the same (`PolicyPathTests` compares the two).
    static func lowercasedIfAlreadyNormal(_ target: String) -> String? {
        let result: String?? = target.utf8.withContiguousStorageIfAvailable { utf8 in
            guard let end = alreadyNormalPathEnd(utf8) else { return nil }
            return String(unsafeUninitializedCapacity: end) { path in
                for i in 0..<end {
                    path[i] = ASCII.lowercased(utf8[i])
                }
                return end
            }
        }
        return result ?? nil
    }

    /// Where the path of a target that `lowercasedIfAlreadyNormal` takes ends (its length); nil for any other.
    private static func alreadyNormalPathEnd(_ utf8: UnsafeBufferPointer<UInt8>) -> Int? {
        var end = 0
        while end < utf8.count && utf8[end] != UInt8(ascii: "?") { end += 1 }
        // The general path splits at "?" as a Character, which a combining scalar after it would extend.
        guard end + 1 >= utf8.count || utf8[end + 1] < 0x80 else { return nil }
        guard end > 0, utf8[0] == UInt8(ascii: "/") else { return nil }
        var segmentStart = 1
        for i in 1...end {
            if i < end && utf8[i] != UInt8(ascii: "/") {
                if utf8[i] >= 0x80 || utf8[i] == UInt8(ascii: "%") { return nil }
                continue
            }
            // Empty, "." and ".." segments are what normalising drops or applies; "/" alone is normal.
            let segment = utf8[segmentStart..<i]
            if end > 1 && segment.count <= 2 && segment.allSatisfy({ $0 == UInt8(ascii: ".") }) { return nil }
            segmentStart = i + 1
        }
        return end
    }

    /// Whether `normalizedPath(target) == tokenPath`; for a target already in normal form (the common case), without
    /// making the normalised path (`PolicyPathTests` compares the two).
    func isTokenPath(_ target: String) -> Bool {
        let answer: Bool?? = target.utf8.withContiguousStorageIfAvailable { utf8 -> Bool? in
            guard let end = Self.alreadyNormalPathEnd(utf8) else { return nil }
            return tokenPathBytes.count == end
                && (0..<end).allSatisfy { ASCII.lowercased(utf8[$0]) == tokenPathBytes[$0] }
        }
        if let known = answer ?? nil { return known }
        return Self.decodedAndNormalizedPath(target) == tokenPath
    }

    /// `normalizedPath` for any target, decoding and splitting as Strings.
    static func decodedAndNormalizedPath(_ target: String) -> String {
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        var segments: [Substring] = []
        for segment in percentDecoded(path).lowercased().split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": _ = segments.popLast()
            default: segments.append(segment)
            }
        }
        return "/" + segments.joined(separator: "/")
    }

    private static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
                let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
