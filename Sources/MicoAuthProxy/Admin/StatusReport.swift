import FoundationEssentials

/// What `GET /-/status` answers: the proxy's state for people and scripts. Holds neither the token nor the secret.
public struct StatusReport: Sendable, Equatable, Encodable {
    /// The token cache's state; `null` members are written out, not left away.
    public struct Token: Sendable, Equatable, Encodable {
        public var valid: Bool
        /// Seconds the held token stays valid; 0 without one.
        public var secondsLeft: Double
        /// Seconds since the last fetch finished, successful or not; null before the first.
        public var lastFetchSecondsAgo: Double?
        /// Seconds since the last successful fetch; null before the first.
        public var lastSuccessSecondsAgo: Double?
        public var lastError: String?
        public var consecutiveFailures: Int
        /// One line for people, e.g. `token valid for 59m58s`.
        public var description: String

        enum CodingKeys: String, CodingKey {
            case valid
            case secondsLeft = "seconds_left"
            case lastFetchSecondsAgo = "last_fetch_seconds_ago"
            case lastSuccessSecondsAgo = "last_success_seconds_ago"
            case lastError = "last_error"
            case consecutiveFailures = "consecutive_failures"
            case description
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(valid, forKey: .valid)
            try container.encode(secondsLeft, forKey: .secondsLeft)
            try container.encode(lastFetchSecondsAgo, forKey: .lastFetchSecondsAgo)
            try container.encode(lastSuccessSecondsAgo, forKey: .lastSuccessSecondsAgo)
            try container.encode(lastError, forKey: .lastError)
            try container.encode(consecutiveFailures, forKey: .consecutiveFailures)
            try container.encode(description, forKey: .description)
        }
    }

    /// ``RequestCounts`` under the names the page uses.
    public struct Requests: Sendable, Equatable, Encodable {
        public var counts: RequestCounts

        enum CodingKeys: String, CodingKey {
            case total, replays
            case status2xx = "2xx"
            case status3xx = "3xx"
            case status4xx = "4xx"
            case status5xx = "5xx"
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(counts.total, forKey: .total)
            try container.encode(counts.status2xx, forKey: .status2xx)
            try container.encode(counts.status3xx, forKey: .status3xx)
            try container.encode(counts.status4xx, forKey: .status4xx)
            try container.encode(counts.status5xx, forKey: .status5xx)
            try container.encode(counts.replays, forKey: .replays)
        }
    }

    public var version: String
    /// Seconds since the proxy started serving.
    public var uptimeSeconds: Double
    /// The addresses listened on: `host:port` or a unix socket's path.
    public var listeners: [String]
    /// The API base URL requests are forwarded to.
    public var upstream: String
    public var token: Token
    public var requests: Requests
    public var openConnections: Int
    public var upstreamPoolIdle: Int

    enum CodingKeys: String, CodingKey {
        case version, listeners, upstream, token, requests
        case uptimeSeconds = "uptime_seconds"
        case openConnections = "open_connections"
        case upstreamPoolIdle = "upstream_pool_idle"
    }

    /// The report as pretty-printed JSON with sorted keys, ending in a newline.
    public func json() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding strings, numbers and arrays of them cannot fail.
        let data = try! encoder.encode(self)
        return Array(data) + Array("\n".utf8)
    }
}
