import FoundationEssentials

/// The config file as written: every key optional, `null` meaning "use the default".
///
/// Decoding goes through a dynamic key container so that unknown keys are refused, and each key is
/// decoded on its own so that a failure names it.
struct ConfigurationFile: Decodable, Equatable {
    var listen: [String]?
    var allowNonLoopback: Bool?
    var unixSocketMode: String?
    var upstream: String?
    var tokenURL: String?
    var clientID: String?
    var clientSecretFile: String?
    var scope: String?
    var caFile: String?
    var refreshMarginSeconds: Double?
    var tokenWaitSeconds: Double?
    var upstreamConnectTimeoutSeconds: Double?
    var upstreamResponseTimeoutSeconds: Double?
    var allowedHosts: [String]?
    var allowedOrigins: [String]?
    var allowedUIDs: [UInt32]?
    var allowedGIDs: [UInt32]?
    var maxRequestLineBytes: Int?
    var maxHeaderBytes: Int?
    var maxHeaderCount: Int?
    var maxRequestBodyBytes: UInt64?
    var requestHeaderTimeoutSeconds: Double?
    var clientIdleTimeoutSeconds: Double?
    var clientBodyTimeoutSeconds: Double?
    var maxConnections: Int?
    var logLevel: String?
    var replayBufferBytes: Int?
    var egressProxy: String?
    var noProxy: [String]?
    var shutdownTimeoutSeconds: Double?
    var logFormat: String?
    var accessLog: Bool?
    var accessLogQuery: Bool?
    /// The keys present in the file, `null` or not.
    var keys: Set<String> = []

    /// Every key the file may hold, with what its value must be.
    static let expectations: [String: String] = [
        "listen":
            "must be a non-empty array of strings such as \"127.0.0.1:8642\" or \"unix:/run/mico-auth-proxy.sock\"",
        "allow_non_loopback": "must be true or false",
        "unix_socket_mode": "must be an octal string such as \"0660\"",
        "upstream": "must be a URL string such as \"https://api.micovoice.com\"",
        "token_url": "must be a URL string such as \"https://api.micovoice.com/oauth/token\"",
        "client_id": "must be a non-empty string",
        "client_secret_file": "must be a file path string",
        "scope": "must be a string of space-separated scopes (may be empty)",
        "ca_file": "must be a file path string",
        "refresh_margin_seconds": ProxyConfiguration.positiveNumberMessage,
        "token_wait_seconds": ProxyConfiguration.positiveNumberMessage,
        "upstream_connect_timeout_seconds": ProxyConfiguration.positiveNumberMessage,
        "upstream_response_timeout_seconds": ProxyConfiguration.positiveNumberMessage,
        "allowed_hosts": "must be null or an array of strings such as \"localhost:8642\" or \"[::1]:8642\"",
        "allowed_origins": "must be an array of origin strings such as \"http://localhost:3000\"",
        "allowed_uids": "must be null or an array of user ids (integers from 0 to 4294967295)",
        "allowed_gids": "must be null or an array of group ids (integers from 0 to 4294967295)",
        "max_request_line_bytes": ProxyConfiguration.integerRangeMessage(ProxyConfiguration.maxRequestLineBytesRange),
        "max_header_bytes": ProxyConfiguration.integerRangeMessage(ProxyConfiguration.maxHeaderBytesRange),
        "max_header_count": ProxyConfiguration.integerRangeMessage(ProxyConfiguration.maxHeaderCountRange),
        "max_request_body_bytes": "must be an integer number of bytes, 0 or more (0 allows no body)",
        "request_header_timeout_seconds": ProxyConfiguration.positiveNumberMessage,
        "client_idle_timeout_seconds": ProxyConfiguration.positiveNumberMessage,
        "client_body_timeout_seconds": ProxyConfiguration.positiveNumberMessage,
        "shutdown_timeout_seconds": ProxyConfiguration.positiveNumberMessage,
        "max_connections": ProxyConfiguration.integerRangeMessage(ProxyConfiguration.maxConnectionsRange),
        "log_level": "must be one of \(LogLevelName.namesForMessages)",
        "log_format": "must be \(LogFormat.namesForMessages)",
        "access_log": "must be true or false",
        "access_log_query": "must be true or false",
        "replay_buffer_bytes": ProxyConfiguration.integerRangeMessage(ProxyConfiguration.replayBufferBytesRange),
        "egress_proxy":
            "must be null (use https_proxy), \"\" (no proxy) or a URL string such as \"http://proxy.example.com:3128\"",
        "no_proxy": "must be null (use no_proxy) or an array of strings such as \"localhost\" or \".example.com\"",
    ]

    /// Keys whose numbers must be written as JSON integers: no fraction or exponent, not even `1.0` or `1e3`.
    static let integerKeys: Set<String> = [
        "allowed_uids", "allowed_gids", "max_request_line_bytes", "max_header_bytes", "max_header_count",
        "max_request_body_bytes", "max_connections", "replay_buffer_bytes",
    ]

    init() {}

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: ConfigurationKey.self)
        keys = Set(container.allKeys.map(\.stringValue))
        for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue })
        where Self.expectations[key.stringValue] == nil {
            throw ConfigurationError(key: key.stringValue, message: Self.unknownKeyMessage(key.stringValue))
        }
        func field<Value: Decodable>(_ name: String) throws -> Value? {
            do {
                return try container.decodeIfPresent(Value.self, forKey: ConfigurationKey(name))
            } catch {
                // Not only DecodingError: swift-foundation throws its internal JSONError for a number the
                // type cannot hold, such as -1 or 2^64 for UInt64.
                throw ConfigurationError(key: name, message: Self.expectations[name]!)
            }
        }
        listen = try field("listen")
        allowNonLoopback = try field("allow_non_loopback")
        unixSocketMode = try field("unix_socket_mode")
        upstream = try field("upstream")
        tokenURL = try field("token_url")
        clientID = try field("client_id")
        clientSecretFile = try field("client_secret_file")
        scope = try field("scope")
        caFile = try field("ca_file")
        refreshMarginSeconds = try field("refresh_margin_seconds")
        tokenWaitSeconds = try field("token_wait_seconds")
        upstreamConnectTimeoutSeconds = try field("upstream_connect_timeout_seconds")
        upstreamResponseTimeoutSeconds = try field("upstream_response_timeout_seconds")
        allowedHosts = try field("allowed_hosts")
        allowedOrigins = try field("allowed_origins")
        allowedUIDs = try field("allowed_uids")
        allowedGIDs = try field("allowed_gids")
        maxRequestLineBytes = try field("max_request_line_bytes")
        maxHeaderBytes = try field("max_header_bytes")
        maxHeaderCount = try field("max_header_count")
        maxRequestBodyBytes = try field("max_request_body_bytes")
        requestHeaderTimeoutSeconds = try field("request_header_timeout_seconds")
        clientIdleTimeoutSeconds = try field("client_idle_timeout_seconds")
        clientBodyTimeoutSeconds = try field("client_body_timeout_seconds")
        maxConnections = try field("max_connections")
        logLevel = try field("log_level")
        replayBufferBytes = try field("replay_buffer_bytes")
        egressProxy = try field("egress_proxy")
        noProxy = try field("no_proxy")
        shutdownTimeoutSeconds = try field("shutdown_timeout_seconds")
        logFormat = try field("log_format")
        accessLog = try field("access_log")
        accessLogQuery = try field("access_log_query")
    }

    /// Decodes `bytes`; errors name the key, or say where the JSON is broken.
    static func decode(_ bytes: [UInt8]) throws(ConfigurationError) -> ConfigurationFile {
        if let problem = ConfigurationJSONCheck.problem(in: bytes) { throw problem }
        let json = Data(bytes[ConfigurationJSONCheck.byteOrderMarkLength(bytes)...])
        do {
            return try JSONDecoder().decode(ConfigurationFile.self, from: json)
        } catch let error as ConfigurationError {
            throw error
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.isEmpty {
            throw ConfigurationError(key: nil, message: "must hold a JSON object ({ \"key\": value, ... })")
        } catch {
            throw ConfigurationError(key: nil, message: "is not valid JSON: \(error)")
        }
    }

    private static func unknownKeyMessage(_ key: String) -> String {
        if key == "client_secret" {
            return "is not supported: the secret does not belong in the config file; use \"client_secret_file\","
                + " $CREDENTIALS_DIRECTORY/client_secret or MICOVOICE_CLIENT_SECRET"
        }
        let snake = snakeCased(key)
        let nearest = expectations.keys.map { ($0, editDistance($0, snake)) }.min { ($0.1, $0.0) < ($1.1, $1.0) }
        if let (candidate, distance) = nearest, distance <= max(2, candidate.count / 4) {
            return "unknown key; did you mean \"\(candidate)\"?"
        }
        return "unknown key; known keys are \(expectations.keys.sorted().joined(separator: ", "))"
    }

    private static func snakeCased(_ key: String) -> String {
        var result = ""
        for character in key {
            if character.isUppercase {
                result += "_" + character.lowercased()
            } else {
                result.append(character == "-" ? "_" : character)
            }
        }
        return result
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8)
        let b = Array(b.utf8)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// Any string key, for containers whose keys are not known in advance.
struct ConfigurationKey: CodingKey, Hashable {
    var stringValue: String
    var intValue: Int? { nil }

    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
