/// Everything the proxy needs to run: where to listen, where to forward, and the API credentials.
///
/// Load it from a JSON file and the environment with `load(configPath:environment:fileReader:)`,
/// or build it in code with `init(upstream:clientID:clientSecret:...)`. Each field lists its config
/// key, default and unit.
public struct ProxyConfiguration: Sendable, Equatable {
    /// `listen`: where to accept local HTTP. Default `["127.0.0.1:8642"]`; never empty.
    public var listen: [ListenAddress]
    /// `allow_non_loopback`: whether a TCP listen host other than loopback is allowed. Default `false`.
    public var allowNonLoopback: Bool
    /// `unix_socket_mode`: permission bits for Unix socket listeners. Default `0o660`; at most `0o777`.
    public var unixSocketMode: UInt32
    /// `upstream`: where requests are forwarded, `scheme://host[:port]` with an empty path.
    /// Default `https://api.micovoice.com`.
    public var upstream: HTTPURL
    /// `token_url`: the OAuth2 token endpoint. Default: `upstream` + `/oauth/token`.
    public var tokenURL: HTTPURL
    /// `client_id` or `MICOVOICE_CLIENT_ID`: the OAuth2 client id. Required; non-empty.
    public var clientID: String
    /// The OAuth2 client secret. Required; see `clientSecretSource` for where it came from.
    public var clientSecret: Secret
    /// Where the secret came from, for messages: `"$CREDENTIALS_DIRECTORY/client_secret"`,
    /// `"environment MICOVOICE_CLIENT_SECRET"`, `"client_secret_file /path"`, or `"code"`.
    public var clientSecretSource: String
    /// `client_secret_file`: a file holding the secret, used when no higher-priority source has one.
    /// Default `nil`.
    public var clientSecretFile: String?
    /// `scope`: space-separated OAuth2 scopes to request; `""` sends no scope.
    /// Default `"campaigns:write campaigns:read outbound_calls:write outbound_calls:read"`.
    public var scope: String
    /// `ca_file`: a PEM bundle trusted instead of the system store. Default `nil` (system store).
    public var caFile: String?
    /// `refresh_margin_seconds`: how long before expiry the token is renewed, in seconds.
    /// Default `nil`: the token client picks a margin from the token's lifetime.
    public var refreshMarginSeconds: Double?
    /// `token_wait_seconds`: how long a request waits for a token before failing, in seconds. Default 10.
    public var tokenWaitSeconds: Double
    /// `upstream_connect_timeout_seconds`: TCP and TLS connect limit towards the upstream, in seconds.
    /// Default 10.
    public var upstreamConnectTimeoutSeconds: Double
    /// `upstream_response_timeout_seconds`: how long to wait for the upstream's response head, in seconds.
    /// Default 60.
    public var upstreamResponseTimeoutSeconds: Double
    /// `allowed_hosts`: the `Host` header values a request may carry, each `host` or `host:port` as sent
    /// (an IPv6 literal in brackets), lower-case. Default `nil`: the proxy allows `localhost`, `127.0.0.1` and
    /// `[::1]`, each bare and with each listening port, plus the configured listen hosts.
    public var allowedHosts: [String]?
    /// `allowed_origins`: the `Origin` header values accepted, each `scheme://host[:port]` compared exactly.
    /// Default `[]`.
    public var allowedOrigins: [String]
    /// `allowed_uids`: the user ids a Unix socket client may have (`SO_PEERCRED`). Default `nil`: any user.
    public var allowedUIDs: [UInt32]?
    /// `allowed_gids`: the group ids a Unix socket client may have (`SO_PEERCRED`). Default `nil`: any group.
    public var allowedGIDs: [UInt32]?
    /// `max_request_line_bytes`: the longest request line, in bytes without its CRLF. Default 8192;
    /// 256 to 1048576.
    public var maxRequestLineBytes: Int
    /// `max_header_bytes`: the largest request head, in bytes including the request line. Default 32768;
    /// 1024 to 1048576 and at least `max_request_line_bytes`.
    public var maxHeaderBytes: Int
    /// `max_header_count`: the most header field lines in a request head. Default 100; 1 to 10000.
    public var maxHeaderCount: Int
    /// `max_request_body_bytes`: the largest request body, in bytes; 0 allows no body. Default 67108864 (64 MiB).
    public var maxRequestBodyBytes: UInt64
    /// `request_header_timeout_seconds`: how long a client may take to send a request head, in seconds.
    /// Default 10.
    public var requestHeaderTimeoutSeconds: Double
    /// `client_idle_timeout_seconds`: how long a client connection may sit idle between requests, in seconds.
    /// Default 60.
    public var clientIdleTimeoutSeconds: Double
    /// `client_body_timeout_seconds`: how long the proxy waits for each read of a request body, in seconds.
    /// Default 60.
    public var clientBodyTimeoutSeconds: Double
    /// `max_connections`: the most client connections open at once, over all listeners. Default 1024;
    /// 1 to 1000000.
    public var maxConnections: Int
    /// `log_level`: the least severe level logged. Default `.info`.
    public var logLevel: LogLevelName
    /// Problems worth a start-up warning that do not stop the proxy, e.g. a shared secret file.
    /// Never contains the secret. Default `[]`.
    public var warnings: [String]
    /// Whether the secret came from a file that group or others may read. Default `false`.
    public var secretFileIsShared: Bool
    /// `replay_buffer_bytes`: the largest request body kept while it is sent, so that the request can be
    /// replayed once with a new token after a 401; a larger body is streamed without a copy and is not
    /// replayed. In bytes. Default 1048576 (1 MiB); 0 to 67108864, where 0 never keeps a body.
    public var replayBufferBytes: Int
    /// `egress_proxy`: the HTTP proxy that connections to the upstream and the token endpoint go through by
    /// `CONNECT`. Default (key absent or `null`): the environment variable `https_proxy`, else `HTTPS_PROXY`
    /// (an empty variable counts as unset); `nil` when neither is set or the key is `""`.
    /// Use `egressProxy(for:)` to decide for one host, which honours `noProxy` and loopback.
    public var egressProxy: EgressProxy?
    /// Where `egressProxy` came from, for messages: `"config key egress_proxy"`, `"environment https_proxy"`,
    /// `"environment HTTPS_PROXY"`, `"none"` (no key, no variable) or `"code"`.
    public var egressProxySource: String
    /// `no_proxy`: hosts reached directly rather than through `egressProxy`, lower-case: a host name or IP
    /// literal, a domain (`example.com` or `.example.com`, both covering subdomains), an optional `:port`
    /// (ignored), an IP range as `ADDRESS/BITS`, or `*` for every host. Default (key absent or `null`): the
    /// environment variable `no_proxy`, else `NO_PROXY`, split at commas with blanks and empty entries dropped.
    public var noProxy: [String]
    /// `shutdown_timeout_seconds`: on SIGTERM or SIGINT the proxy stops accepting, lets the requests it has
    /// already received finish, and exits when the last one finishes or after this many seconds. Default 30.
    public var shutdownTimeoutSeconds: Double
    /// `log_format`: how log lines on standard error are written, `logfmt` or `json`. Default `.logfmt`.
    public var logFormat: LogFormat
    /// `access_log`: whether one line per finished request is logged at `info`. Default `true`.
    public var accessLog: Bool
    /// `access_log_query`: whether access lines show the request target's query, where a caller may carry its
    /// own tokens. Default `false`: the path alone.
    public var accessLogQuery: Bool

    /// Builds a configuration in code; every argument but the first three has the config file's default,
    /// without the environment: no egress proxy and an empty `noProxy`.
    /// `tokenURL` defaults to `upstream` + `/oauth/token`; `allowedHosts` and `noProxy` entries are lower-cased;
    /// `egressProxySource` defaults to `"code"` with a proxy and `"none"` without one.
    /// Call `validate()` to check the values.
    public init(
        upstream: HTTPURL,
        clientID: String,
        clientSecret: Secret,
        clientSecretSource: String = "code",
        listen: [ListenAddress] = ProxyConfiguration.defaultListen,
        allowNonLoopback: Bool = false,
        unixSocketMode: UInt32 = ProxyConfiguration.defaultUnixSocketMode,
        tokenURL: HTTPURL? = nil,
        clientSecretFile: String? = nil,
        scope: String = ProxyConfiguration.defaultScope,
        caFile: String? = nil,
        refreshMarginSeconds: Double? = nil,
        tokenWaitSeconds: Double = ProxyConfiguration.defaultTokenWaitSeconds,
        upstreamConnectTimeoutSeconds: Double = ProxyConfiguration.defaultUpstreamConnectTimeoutSeconds,
        upstreamResponseTimeoutSeconds: Double = ProxyConfiguration.defaultUpstreamResponseTimeoutSeconds,
        allowedHosts: [String]? = nil,
        allowedOrigins: [String] = [],
        allowedUIDs: [UInt32]? = nil,
        allowedGIDs: [UInt32]? = nil,
        maxRequestLineBytes: Int = ProxyConfiguration.defaultMaxRequestLineBytes,
        maxHeaderBytes: Int = ProxyConfiguration.defaultMaxHeaderBytes,
        maxHeaderCount: Int = ProxyConfiguration.defaultMaxHeaderCount,
        maxRequestBodyBytes: UInt64 = ProxyConfiguration.defaultMaxRequestBodyBytes,
        requestHeaderTimeoutSeconds: Double = ProxyConfiguration.defaultRequestHeaderTimeoutSeconds,
        clientIdleTimeoutSeconds: Double = ProxyConfiguration.defaultClientIdleTimeoutSeconds,
        clientBodyTimeoutSeconds: Double = ProxyConfiguration.defaultClientBodyTimeoutSeconds,
        maxConnections: Int = ProxyConfiguration.defaultMaxConnections,
        logLevel: LogLevelName = .info,
        warnings: [String] = [],
        secretFileIsShared: Bool = false,
        replayBufferBytes: Int = ProxyConfiguration.defaultReplayBufferBytes,
        egressProxy: EgressProxy? = nil,
        egressProxySource: String? = nil,
        noProxy: [String] = [],
        shutdownTimeoutSeconds: Double = ProxyConfiguration.defaultShutdownTimeoutSeconds,
        logFormat: LogFormat = .logfmt,
        accessLog: Bool = true,
        accessLogQuery: Bool = false
    ) {
        self.listen = listen
        self.allowNonLoopback = allowNonLoopback
        self.unixSocketMode = unixSocketMode
        self.upstream = upstream
        self.tokenURL = tokenURL ?? Self.defaultTokenURL(for: upstream)
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.clientSecretSource = clientSecretSource
        self.clientSecretFile = clientSecretFile
        self.scope = scope
        self.caFile = caFile
        self.refreshMarginSeconds = refreshMarginSeconds
        self.tokenWaitSeconds = tokenWaitSeconds
        self.upstreamConnectTimeoutSeconds = upstreamConnectTimeoutSeconds
        self.upstreamResponseTimeoutSeconds = upstreamResponseTimeoutSeconds
        self.allowedHosts = allowedHosts?.map { $0.lowercased() }
        self.allowedOrigins = allowedOrigins
        self.allowedUIDs = allowedUIDs
        self.allowedGIDs = allowedGIDs
        self.maxRequestLineBytes = maxRequestLineBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxRequestBodyBytes = maxRequestBodyBytes
        self.requestHeaderTimeoutSeconds = requestHeaderTimeoutSeconds
        self.clientIdleTimeoutSeconds = clientIdleTimeoutSeconds
        self.clientBodyTimeoutSeconds = clientBodyTimeoutSeconds
        self.maxConnections = maxConnections
        self.logLevel = logLevel
        self.warnings = warnings
        self.secretFileIsShared = secretFileIsShared
        self.replayBufferBytes = replayBufferBytes
        self.egressProxy = egressProxy
        self.egressProxySource = egressProxySource ?? (egressProxy == nil ? "none" : "code")
        self.noProxy = noProxy.map { $0.lowercased() }
        self.shutdownTimeoutSeconds = shutdownTimeoutSeconds
        self.logFormat = logFormat
        self.accessLog = accessLog
        self.accessLogQuery = accessLogQuery
    }
}

extension ProxyConfiguration {
    /// `127.0.0.1:8642`.
    public static let defaultListen: [ListenAddress] = [.tcp(host: "127.0.0.1", port: 8642)]
    /// `0o660`: owner and group may connect.
    public static let defaultUnixSocketMode: UInt32 = 0o660
    /// `https://api.micovoice.com`.
    public static let defaultUpstream = HTTPURL(scheme: "https", host: "api.micovoice.com")
    /// The scopes the proxy's tools need.
    public static let defaultScope = "campaigns:write campaigns:read outbound_calls:write outbound_calls:read"
    /// 10 seconds.
    public static let defaultTokenWaitSeconds: Double = 10
    /// 10 seconds.
    public static let defaultUpstreamConnectTimeoutSeconds: Double = 10
    /// 60 seconds.
    public static let defaultUpstreamResponseTimeoutSeconds: Double = 60
    /// 8192 bytes, as `HTTPParserLimits`.
    public static let defaultMaxRequestLineBytes = 8192
    /// 32768 bytes, as `HTTPParserLimits`.
    public static let defaultMaxHeaderBytes = 32768
    /// 100 field lines, as `HTTPParserLimits`.
    public static let defaultMaxHeaderCount = 100
    /// 67108864 bytes (64 MiB).
    public static let defaultMaxRequestBodyBytes: UInt64 = 64 << 20
    /// 10 seconds.
    public static let defaultRequestHeaderTimeoutSeconds: Double = 10
    /// 60 seconds.
    public static let defaultClientIdleTimeoutSeconds: Double = 60
    /// 60 seconds.
    public static let defaultClientBodyTimeoutSeconds: Double = 60
    /// 1024 connections.
    public static let defaultMaxConnections = 1024
    /// 1048576 bytes (1 MiB).
    public static let defaultReplayBufferBytes = 1 << 20
    /// 30 seconds.
    public static let defaultShutdownTimeoutSeconds: Double = 30
    /// The largest value any `*_seconds` key accepts: one day. Larger values would overflow the
    /// nanosecond arithmetic of timers and are surely mistakes.
    public static let maximumSeconds: Double = 86_400

    /// `upstream` with the path `/oauth/token`.
    public static func defaultTokenURL(for upstream: HTTPURL) -> HTTPURL {
        HTTPURL(scheme: upstream.scheme, host: upstream.host, port: upstream.port, path: "/oauth/token")
    }

    static let positiveNumberMessage = "must be a positive number"

    /// Checks what the types cannot: the listen list, loopback policy, socket mode, URL shapes,
    /// client id, scope syntax, number ranges, the client allow-lists and limits, the egress proxy and `no_proxy`
    /// entries, and a non-empty secret. Errors name the key.
    /// Does not touch files; `load` checks `ca_file` itself.
    public func validate() throws(ConfigurationError) {
        try validateSettings()
        guard !clientSecret.isEmpty else { throw ConfigurationError(key: nil, message: "the client secret is empty") }
    }

    /// `validate()` without the secret, which `load` reads last.
    func validateSettings() throws(ConfigurationError) {
        func failure(_ key: String, _ message: String) -> ConfigurationError {
            ConfigurationError(key: key, message: message)
        }
        guard !listen.isEmpty else { throw failure("listen", "must list at least one address") }
        var seen = Set<ListenAddress>()
        for address in listen {
            guard seen.insert(address).inserted else { throw failure("listen", "\"\(address)\" is listed twice") }
            guard address.isLoopback || allowNonLoopback else {
                throw failure(
                    "listen",
                    "\"\(address)\" is not a loopback address; anyone who can reach it could use the API credentials."
                        + " Set \"allow_non_loopback\": true to allow it")
            }
        }
        guard unixSocketMode <= 0o777 else { throw failure("unix_socket_mode", "must be at most 0777") }
        for (key, url) in [("upstream", upstream), ("token_url", tokenURL)] where !url.isTLS && !url.isLoopbackHost {
            throw failure(key, "must use https; http is allowed only for a loopback host (127.0.0.1, [::1], localhost)")
        }
        guard upstream.path.isEmpty else {
            throw failure("upstream", "must be scheme://host[:port] without a path or query")
        }
        guard tokenURL.path != "", tokenURL.path != "/" else {
            throw failure("token_url", "must include the endpoint's path, e.g. https://api.micovoice.com/oauth/token")
        }
        guard !clientID.isEmpty else { throw failure("client_id", "must not be empty") }
        guard !clientID.unicodeScalars.contains(where: Self.isControlOrSpace) else {
            throw failure("client_id", "must not contain spaces or control characters")
        }
        // RFC 6749 §3.3: scope = scope-token *( SP scope-token ); scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
        let tokens = scope.split(separator: " ", omittingEmptySubsequences: false)
        guard
            scope.isEmpty
                || tokens.allSatisfy({ token in
                    !token.isEmpty
                        && token.utf8.allSatisfy {
                            $0 == 0x21 || (0x23...0x5B).contains($0) || (0x5D...0x7E).contains($0)
                        }
                })
        else {
            throw failure(
                "scope", "must be scope names separated by single spaces, without quotes or backslashes (RFC 6749 §3.3)"
            )
        }
        let numbers: [(String, Double?)] = [
            ("refresh_margin_seconds", refreshMarginSeconds),
            ("token_wait_seconds", tokenWaitSeconds),
            ("upstream_connect_timeout_seconds", upstreamConnectTimeoutSeconds),
            ("upstream_response_timeout_seconds", upstreamResponseTimeoutSeconds),
            ("request_header_timeout_seconds", requestHeaderTimeoutSeconds),
            ("client_idle_timeout_seconds", clientIdleTimeoutSeconds),
            ("client_body_timeout_seconds", clientBodyTimeoutSeconds),
            ("shutdown_timeout_seconds", shutdownTimeoutSeconds),
        ]
        for case (let key, let value?) in numbers {
            guard value.isFinite, value > 0 else { throw failure(key, Self.positiveNumberMessage) }
            guard value <= Self.maximumSeconds else {
                throw failure(key, "must be at most \(Int(Self.maximumSeconds)) seconds")
            }
        }
        try validateClientPolicy()
        try validateEgress()
    }

    static func isControlOrSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value <= 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.properties.isWhitespace
    }
}
