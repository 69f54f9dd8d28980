extension ProxyConfiguration {
    /// What `max_request_line_bytes` accepts.
    static let maxRequestLineBytesRange = 256...1_048_576
    /// What `max_header_bytes` accepts, before the rule that it is at least `max_request_line_bytes`.
    static let maxHeaderBytesRange = 1024...1_048_576
    /// What `max_header_count` accepts.
    static let maxHeaderCountRange = 1...10_000
    /// What `max_connections` accepts.
    static let maxConnectionsRange = 1...1_000_000
    /// What `replay_buffer_bytes` accepts: up to the default `max_request_body_bytes`.
    static let replayBufferBytesRange = 0...67_108_864

    static func integerRangeMessage(_ range: ClosedRange<Int>) -> String {
        "must be an integer from \(range.lowerBound) to \(range.upperBound)"
    }

    /// Checks the allow-lists and limits for clients; errors name the key and quote a bad entry.
    func validateClientPolicy() throws(ConfigurationError) {
        func failure(_ key: String, _ message: String) -> ConfigurationError {
            ConfigurationError(key: key, message: message)
        }
        if let allowedHosts {
            guard !allowedHosts.isEmpty else {
                throw failure("allowed_hosts", "must list at least one host, or be null for the automatic list")
            }
            var seen = Set<String>()
            for entry in allowedHosts {
                guard seen.insert(entry).inserted else {
                    throw failure("allowed_hosts", "\"\(entry)\" is listed twice")
                }
                if let why = Self.hostHeaderProblem(entry) { throw failure("allowed_hosts", "\"\(entry)\": \(why)") }
            }
        }
        var seenOrigins = Set<String>()
        for entry in allowedOrigins {
            guard seenOrigins.insert(entry).inserted else {
                throw failure("allowed_origins", "\"\(entry)\" is listed twice")
            }
            if let why = Self.originProblem(entry) { throw failure("allowed_origins", "\"\(entry)\": \(why)") }
        }
        for (key, ids) in [("allowed_uids", allowedUIDs), ("allowed_gids", allowedGIDs)] {
            guard let ids else { continue }
            guard !ids.isEmpty else { throw failure(key, "must list at least one id, or be null to allow any peer") }
            var seen = Set<UInt32>()
            for id in ids where !seen.insert(id).inserted { throw failure(key, "\(id) is listed twice") }
        }
        let integers = [
            ("max_request_line_bytes", maxRequestLineBytes, Self.maxRequestLineBytesRange),
            ("max_header_bytes", maxHeaderBytes, Self.maxHeaderBytesRange),
            ("max_header_count", maxHeaderCount, Self.maxHeaderCountRange),
            ("max_connections", maxConnections, Self.maxConnectionsRange),
            ("replay_buffer_bytes", replayBufferBytes, Self.replayBufferBytesRange),
        ]
        for (key, value, range) in integers where !range.contains(value) {
            throw failure(key, Self.integerRangeMessage(range))
        }
        guard maxHeaderBytes >= maxRequestLineBytes else {
            throw failure("max_header_bytes", "must be at least max_request_line_bytes (\(maxRequestLineBytes))")
        }
    }

    /// Why `entry` is not a `Host` header value as `allowed_hosts` needs it, or `nil`: RFC 9110 §7.2
    /// `uri-host [ ":" port ]`, an IPv6 literal in brackets, lower-case.
    static func hostHeaderProblem(_ entry: String) -> String? {
        guard !entry.isEmpty else { return "must not be empty" }
        guard !entry.unicodeScalars.contains(where: { isControlOrSpace($0) || ",/@".unicodeScalars.contains($0) })
        else {
            return "must be one host or host:port, without spaces, control characters, \",\", \"/\" or \"@\""
        }
        guard entry == entry.lowercased() else { return "must be lower-case" }
        if case .failure(let error) = HostSyntax.authority(entry[...], bracketExample: "[::1]:8642") {
            return error.message
        }
        return nil
    }

    /// Why `entry` is not an origin as browsers send it in `Origin` (RFC 6454 §6.1), or `nil`:
    /// `scheme://host[:port]`, lower-case, without the scheme's default port. The proxy compares entries
    /// exactly, so a spelling a browser never sends would never match.
    static func originProblem(_ entry: String) -> String? {
        if entry == "null" {
            return "the \"null\" origin is refused: any web page can send it from a sandboxed frame"
        }
        guard let separator = entry.firstRange(of: "://") else {
            return "must be an origin such as https://app.example.com or http://localhost:3000"
        }
        // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ); browsers send it lower-case.
        let scheme = entry[..<separator.lowerBound]
        guard let first = scheme.utf8.first, (0x61...0x7A).contains(first),
            scheme.utf8.allSatisfy({
                (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || "+-.".utf8.contains($0)
            })
        else {
            return "the scheme must be lower-case letters, digits, \"+\", \"-\" or \".\", starting with a letter"
        }
        let authority = entry[separator.upperBound...]
        guard !authority.unicodeScalars.contains(where: { isControlOrSpace($0) || $0 == "," || $0 == "@" }) else {
            return "must not contain spaces, control characters, \",\" or \"@\""
        }
        guard !authority.contains(where: { "/?#".contains($0) }) else {
            return "must not have a path, query or fragment, not even a trailing \"/\""
        }
        guard authority == authority.lowercased() else { return "must be lower-case, as browsers send it" }
        switch HostSyntax.authority(authority, bracketExample: "http://[::1]:3000") {
        case .failure(let error):
            return error.message
        case .success((_, let port?)) where (scheme == "https" && port == 443) || (scheme == "http" && port == 80):
            return "must leave out the default port \(port), as browsers do"
        case .success:
            return nil
        }
    }

    /// Start-up warnings about client settings that cannot take effect.
    func clientPolicyWarnings() -> [String] {
        let hasUnixListener = listen.contains { if case .unix = $0 { true } else { false } }
        guard !hasUnixListener else { return [] }
        return [("allowed_uids", allowedUIDs), ("allowed_gids", allowedGIDs)].compactMap { key, ids in
            ids == nil ? nil : "\(key) has no effect: it applies only to unix: listeners, and none is configured"
        }
    }
}
