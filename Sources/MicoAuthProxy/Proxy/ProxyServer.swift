import Dispatch
import Glibc
import Logging
import MicoHTTP
import MicoIO
import Synchronization

/// The whole proxy: listeners, the token cache and the forwarder, wired from a `ProxyConfiguration`.
///
/// Lifecycle: `initial → running → stopped`; `start()` and `stop()` check the state they leave.
public final class ProxyServer: Sendable {
    private enum State {
        case initial
        case running(listeners: [Listener], policy: Policy)
        /// Not accepting; requests already received are being answered.
        case draining(policy: Policy)
        case stopped
    }

    public let configuration: ProxyConfiguration
    /// The token cache, for admin endpoints, status lines and tests.
    public let tokens: TokenCache
    private let forwarder: Forwarder
    private let upstreamPool: UpstreamPool
    private let tokenPool: UpstreamPool
    private let statistics = ForwardingStatistics()
    private let credentials: TokenCredentials
    private let limits: ClientConnection.Limits
    private let logger: Logger
    private let state = Mutex<State>(.initial)
    private let connections = ConnectionRegistry()
    private let observers: [any RequestObserver]
    /// Counts requests (it is one of `observers`) and renders `/-/metrics`.
    let metrics = ProxyMetrics()
    /// When `start()` succeeded, for the uptime in `/-/status`.
    let startedAt = Mutex<ContinuousClock.Instant?>(nil)

    /// Builds the proxy; nothing is bound or fetched until `start()`.
    /// - Parameters:
    ///   - clock, timer, random: injected so tests can drive token timing; production uses the defaults.
    ///   - tokenPolicy: refresh and backoff timing; nil uses the defaults with the configured refresh margin.
    ///   - observers: told about every finished request (access log, …), besides the server's own metrics.
    public init(
        configuration: ProxyConfiguration,
        logger: Logger,
        clock: any BootClock = SystemBootClock(),
        timer: any TokenTimer = DispatchTokenTimer(),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        tokenPolicy: TokenRefreshPolicy? = nil,
        observers: [any RequestObserver] = []
    ) throws {
        self.observers = [metrics] + observers
        self.configuration = configuration
        self.logger = logger
        let needsTLS = configuration.upstream.isTLS || configuration.tokenURL.isTLS
        let tls = needsTLS ? try TLSContext.client(caFile: configuration.caFile) : nil
        func pool(for url: HTTPURL) -> UpstreamPool {
            let egress = configuration.egressProxy(for: url.host).map { proxy in
                UpstreamPool.Egress(
                    host: proxy.host, port: proxy.port, authorization: proxy.proxyAuthorization?.value)
            }
            return UpstreamPool(
                host: url.host, port: url.port, tls: url.isTLS ? tls : nil,
                connectTimeout: configuration.upstreamConnectTimeoutSeconds, egress: egress)
        }
        upstreamPool = pool(for: configuration.upstream)
        let sameOrigin =
            configuration.tokenURL.host == configuration.upstream.host
            && configuration.tokenURL.port == configuration.upstream.port
            && configuration.tokenURL.isTLS == configuration.upstream.isTLS
        tokenPool = sameOrigin ? upstreamPool : pool(for: configuration.tokenURL)
        credentials = TokenCredentials(Self.credentialValues(configuration))
        let client = TokenClient(
            pool: tokenPool, url: configuration.tokenURL, credentials: credentials,
            responseTimeout: configuration.upstreamResponseTimeoutSeconds)
        tokens = TokenCache(
            fetcher: client,
            policy: tokenPolicy ?? TokenRefreshPolicy(refreshMarginSeconds: configuration.refreshMarginSeconds),
            clock: clock, timer: timer, random: random, logger: logger,
            onFetch: { [metrics] succeeded in metrics.recordTokenFetch(succeeded: succeeded) })
        var parser = HTTPParserLimits()
        parser.maxRequestLineBytes = configuration.maxRequestLineBytes
        parser.maxHeaderBytes = configuration.maxHeaderBytes
        parser.maxHeaderCount = configuration.maxHeaderCount
        limits = ClientConnection.Limits(
            parser: parser, headTimeout: configuration.requestHeaderTimeoutSeconds,
            idleTimeout: configuration.clientIdleTimeoutSeconds, bodyTimeout: configuration.clientBodyTimeoutSeconds)
        forwarder = Forwarder(
            pool: upstreamPool, host: HTTPFieldLine(name: "Host", value: configuration.upstream.authority),
            tokens: tokens,
            timeouts: .init(
                tokenWait: configuration.tokenWaitSeconds,
                upstreamResponse: configuration.upstreamResponseTimeoutSeconds,
                client: limits.bodyTimeout),
            logger: logger, maxRequestBodyBytes: configuration.maxRequestBodyBytes,
            replayBufferBytes: configuration.replayBufferBytes, statistics: statistics)
    }

    /// What a reload did.
    public struct ReloadOutcome: Sendable {
        /// The client id, secret or scope changed: a token fetch started at once.
        public var credentialsChanged: Bool
        /// Keys whose new values need a restart to take effect (listeners, upstream, limits, …).
        public var needsRestart: [String]
    }

    /// Applies a newly loaded (already validated) configuration without dropping listeners or connections: new
    /// credentials take effect for the next token fetch, which starts at once when they changed or when no valid
    /// token is held. Settings that
    /// shape listeners, pools and limits are reported in `needsRestart` and keep their old values.
    public func reload(_ new: ProxyConfiguration) -> ReloadOutcome {
        let changed = credentials.replace(with: Self.credentialValues(new))
        // New credentials, or none that work yet: fetch now instead of waiting out the backoff (SIGHUP is how an
        // operator says "I fixed it").
        if changed || tokens.currentValidToken() == nil { tokens.retryNow() }
        let needsRestart = Self.differingKeys(
            Self.withoutCredentials(configuration), Self.withoutCredentials(new))
        return ReloadOutcome(credentialsChanged: changed, needsRestart: needsRestart)
    }

    /// `configuration` with the credentials (which reload applies) and the start-up notes blanked.
    private static func withoutCredentials(_ configuration: ProxyConfiguration) -> ProxyConfiguration {
        var rest = configuration
        rest.clientID = ""
        rest.clientSecret = Secret("")
        rest.scope = ""
        rest.clientSecretSource = ""
        rest.clientSecretFile = nil
        rest.warnings = []
        rest.secretFileIsShared = false
        return rest
    }

    private static func credentialValues(_ configuration: ProxyConfiguration) -> TokenCredentials.Values {
        .init(
            clientID: configuration.clientID, clientSecret: configuration.clientSecret, scope: configuration.scope,
            source: configuration.clientSecretSource)
    }

    /// The config keys whose values differ, from the effective-settings rendering (which masks the secret).
    private static func differingKeys(_ a: ProxyConfiguration, _ b: ProxyConfiguration) -> [String] {
        guard a != b else { return [] }
        let left = renderedValues(a)
        let right = renderedValues(b)
        return Set(left.keys).union(right.keys).filter { left[$0] != right[$0] }.sorted()
    }

    /// Each top-level key of the pretty-printed settings with the text of its value (which may span lines).
    private static func renderedValues(_ configuration: ProxyConfiguration) -> [String: String] {
        var values: [String: String] = [:]
        var key: String?
        for line in configuration.renderedForDisplay().split(separator: "\n") {
            if line.hasPrefix("  \""), let end = line.dropFirst(3).firstIndex(of: "\"") {
                key = String(line[line.index(line.startIndex, offsetBy: 3)..<end])
            }
            if let key { values[key, default: ""] += line }
        }
        return values
    }

    /// Client connections open now.
    public var openConnectionCount: Int { connections.count }

    /// Idle upstream connections kept for reuse now (the token endpoint's pool included when it is separate).
    public var idleUpstreamConnections: Int {
        upstreamPool.idleCount + (tokenPool === upstreamPool ? 0 : tokenPool.idleCount)
    }

    /// Replays after a 401 and retries after a closed pooled connection, so far.
    public var forwardingCounts: (replays: Int, staleRetries: Int) {
        let counts = statistics.current
        return (counts.replays, counts.staleRetries)
    }

    /// Binds every `listen` entry, starts serving and starts fetching the first token (without waiting for it:
    /// the network may not be up yet). Returns the bound addresses (with the ports chosen for port 0).
    @discardableResult
    public func start() throws -> [SocketAddress] {
        try start { () throws -> ([Listener], [String]) in
            var listeners: [Listener] = []
            do {
                for entry in configuration.listen {
                    for address in try Self.socketAddresses(for: entry) {
                        listeners.append(
                            try Listener(bind: address, unixSocketMode: mode_t(configuration.unixSocketMode)))
                    }
                }
            } catch {
                for listener in listeners { listener.close() }
                throw ProxyStartError("cannot listen: \(error)")
            }
            let listenHosts = configuration.listen.compactMap { entry -> String? in
                if case .tcp(let host, _) = entry { return host }
                return nil
            }
            return (listeners, listenHosts)
        }
    }

    /// Serves on listeners opened elsewhere (systemd socket activation) instead of binding `listen`, which is then
    /// ignored; otherwise like `start()`. The default `allowed_hosts` is built from these listeners' addresses and
    /// ports. A TCP listener on a non-loopback address needs `allow_non_loopback`, as a `listen` entry would.
    /// On failure the listeners are closed.
    @discardableResult
    public func start(adopting listeners: [Listener]) throws -> [SocketAddress] {
        try start { () throws -> ([Listener], [String]) in
            let tcp = listeners.map(\.address).filter { $0.family != AF_UNIX }
            guard !listeners.isEmpty else {
                throw ProxyStartError("no listeners were passed")
            }
            if !configuration.allowNonLoopback, let foreign = tcp.first(where: { !HostSyntax.isLoopback($0.host) }) {
                for listener in listeners { listener.close() }
                throw ProxyStartError(
                    "the passed socket \(foreign) is not on a loopback address; set allow_non_loopback to serve on it")
            }
            return (listeners, tcp.map(\.host))
        }
    }

    private func start(opening open: () throws -> ([Listener], [String])) throws -> [SocketAddress] {
        // OpenSSL writes TLS records with write(2), not send(MSG_NOSIGNAL): a peer's reset must not kill the process.
        TerminationSignals.ignoreBrokenPipe()
        try state.withLock { state in
            guard case .initial = state else { throw ProxyStartError("the proxy was already started") }
            let (listeners, listenHosts) = try open()
            let policy = makePolicy(listeners: listeners, listenHosts: listenHosts)
            for listener in listeners {
                let unix = listener.address.family == AF_UNIX
                listener.start { [self] channel in self.accepted(channel, viaUnixSocket: unix, policy: policy) }
                logger.info("listening", metadata: ["address": "\(listener.address)"])
            }
            state = .running(listeners: listeners, policy: policy)
        }
        startedAt.withLock { $0 = .now }
        tokens.start()
        return listenAddresses
    }

    /// The addresses being listened on; empty unless running.
    public var listenAddresses: [SocketAddress] {
        state.withLock { state in
            guard case .running(let listeners, _) = state else { return [] }
            return listeners.map(\.address)
        }
    }

    /// Stops gracefully: stops listening, closes idle connections, answers the requests already received (their
    /// connections close afterwards), then `stop()`s when the last one is done or after `timeout` seconds.
    public func drain(timeout: Double) async {
        let listeners = state.withLock { state -> [Listener] in
            guard case .running(let listeners, let policy) = state else { return [] }
            state = .draining(policy: policy)
            return listeners
        }
        for listener in listeners { listener.close() }
        for idle in connections.startDraining() { idle.shutdownBoth() }
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        while connections.count > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let cut = connections.count
        if cut > 0 {
            logger.warning(
                "shutdown timeout: closing connections with requests in flight", metadata: ["count": "\(cut)"])
        }
        stop()
    }

    /// Stops listening, ends open client connections, drops idle upstream connections and stops token refresh.
    public func stop() {
        let listeners = state.withLock { state -> [Listener] in
            guard case .running(let listeners, _) = state else {
                state = .stopped
                return []
            }
            state = .stopped
            return listeners
        }
        for listener in listeners { listener.close() }
        for channel in connections.all { channel.shutdownBoth() }
        tokens.shutdown()
        upstreamPool.closeIdle()
        tokenPool.closeIdle()
    }

    private func accepted(_ channel: SocketChannel, viaUnixSocket: Bool, policy: Policy) {
        guard let membership = connections.admit(channel, limit: configuration.maxConnections) else {
            // Existing clients keep being served; the newcomer is told why and closed.
            logger.warning("max_connections reached; refusing a connection")
            channel.loop.spawn {
                _ = await ClientResponder.send(.overloaded, to: .socket(channel), request: nil, bodyUnread: true)
                channel.close()
            }
            return
        }
        let connection = ClientConnection(
            channel: channel, forwarder: forwarder, admin: AdminEndpoints(server: self), policy: policy,
            limits: limits, viaUnixSocket: viaUnixSocket,
            peerRefusal: viaUnixSocket ? peerRefusal(channel.peerCredentials()) : nil, membership: membership,
            observers: observers, logger: logger)
        channel.loop.spawn {
            await connection.serve()
            membership.remove()
        }
    }

    /// The refusal for a unix-socket peer: allowed when `allowed_uids` lists its uid or `allowed_gids` its gid;
    /// with neither set, the socket file's mode decides who may connect.
    private func peerRefusal(_ peer: PeerCredentials?) -> ProxyError? {
        let uids = configuration.allowedUIDs
        let gids = configuration.allowedGIDs
        guard uids != nil || gids != nil else { return nil }
        if let peer, uids?.contains(peer.uid) == true || gids?.contains(peer.gid) == true { return nil }
        var refusal = ProxyError.forbidden("forbidden_peer", "this user is not in allowed_uids or allowed_gids")
        refusal.closesConnection = true
        return refusal
    }

    /// `listenHosts`: the TCP hosts as configured (`localhost` stays a name) or, for adopted listeners, as bound.
    private func makePolicy(listeners: [Listener], listenHosts: [String]) -> Policy {
        let allowedHosts: Set<String>
        if let configured = configuration.allowedHosts {
            allowedHosts = Set(configured.map { $0.lowercased() })
        } else {
            let ports = listeners.map(\.address).filter { $0.family != AF_UNIX }.map(\.port)
            allowedHosts = Policy.defaultAllowedHosts(listenHosts: listenHosts, ports: ports)
        }
        return Policy(
            allowedHosts: allowedHosts, allowedOrigins: Set(configuration.allowedOrigins),
            tokenPath: Policy.normalizedPath(configuration.tokenURL.path),
            maxRequestBodyBytes: configuration.maxRequestBodyBytes)
    }

    /// `localhost` listens on 127.0.0.1; IP literals as given; other host names are refused.
    static func socketAddresses(for entry: ListenAddress) throws -> [SocketAddress] {
        switch entry {
        case .unix(let path):
            guard let address = SocketAddress(unixPath: path) else {
                throw ProxyStartError("unix socket path too long: \(path)")
            }
            return [address]
        case .tcp(let host, let port):
            if host == "localhost" {
                return [SocketAddress(ipLiteral: "127.0.0.1", port: port)!]
            }
            if let literal = SocketAddress(ipLiteral: host, port: port) { return [literal] }
            throw ProxyStartError("listen host \(host) is not an IP literal or localhost")
        }
    }
}

/// The proxy could not start; the message names what to fix.
public struct ProxyStartError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
