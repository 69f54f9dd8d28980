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
        case running(listeners: [Listener])
        case stopped
    }

    public let configuration: ProxyConfiguration
    /// The token cache, for admin endpoints, status lines and tests.
    public let tokens: TokenCache
    private let forwarder: Forwarder
    private let upstreamPool: UpstreamPool
    private let tokenPool: UpstreamPool
    private let limits: ClientConnection.Limits
    private let logger: Logger
    private let state = Mutex<State>(.initial)
    private let openConnections = Mutex<[ObjectIdentifier: SocketChannel]>([:])

    /// Builds the proxy; nothing is bound or fetched until `start()`.
    /// - Parameters:
    ///   - clock, timer, random: injected so tests can drive token timing; production uses the defaults.
    public init(
        configuration: ProxyConfiguration,
        logger: Logger,
        clock: any BootClock = SystemBootClock(),
        timer: any TokenTimer = DispatchTokenTimer(),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) throws {
        self.configuration = configuration
        self.logger = logger
        let needsTLS = configuration.upstream.isTLS || configuration.tokenURL.isTLS
        let tls = needsTLS ? try TLSContext.client(caFile: configuration.caFile) : nil
        func pool(for url: HTTPURL) -> UpstreamPool {
            UpstreamPool(
                host: url.host, port: url.port, tls: url.isTLS ? tls : nil,
                connectTimeout: configuration.upstreamConnectTimeoutSeconds)
        }
        upstreamPool = pool(for: configuration.upstream)
        let sameOrigin =
            configuration.tokenURL.host == configuration.upstream.host
            && configuration.tokenURL.port == configuration.upstream.port
            && configuration.tokenURL.isTLS == configuration.upstream.isTLS
        tokenPool = sameOrigin ? upstreamPool : pool(for: configuration.tokenURL)
        let client = TokenClient(
            pool: tokenPool, url: configuration.tokenURL, clientID: configuration.clientID,
            clientSecret: configuration.clientSecret, scope: configuration.scope,
            responseTimeout: configuration.upstreamResponseTimeoutSeconds)
        tokens = TokenCache(
            fetcher: client, policy: TokenRefreshPolicy(refreshMarginSeconds: configuration.refreshMarginSeconds),
            clock: clock, timer: timer, random: random, logger: logger)
        limits = ClientConnection.Limits()
        forwarder = Forwarder(
            pool: upstreamPool, upstreamAuthority: configuration.upstream.authority, tokens: tokens,
            timeouts: .init(
                tokenWait: configuration.tokenWaitSeconds,
                upstreamResponse: configuration.upstreamResponseTimeoutSeconds,
                client: limits.idleTimeout),
            logger: logger)
    }

    /// Binds every `listen` entry, starts serving and starts fetching the first token (without waiting for it:
    /// the network may not be up yet). Returns the bound addresses (with the ports chosen for port 0).
    @discardableResult
    public func start() throws -> [SocketAddress] {
        // OpenSSL writes TLS records with write(2), not send(MSG_NOSIGNAL): a peer's reset must not kill the process.
        TerminationSignals.ignoreBrokenPipe()
        try state.withLock { state in
            guard case .initial = state else { throw ProxyStartError("the proxy was already started") }
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
            for listener in listeners {
                listener.start { [self] channel in self.accepted(channel) }
                logger.info("listening", metadata: ["address": "\(listener.address)"])
            }
            state = .running(listeners: listeners)
        }
        tokens.start()
        return listenAddresses
    }

    /// The addresses being listened on; empty unless running.
    public var listenAddresses: [SocketAddress] {
        state.withLock { state in
            guard case .running(let listeners) = state else { return [] }
            return listeners.map(\.address)
        }
    }

    /// Stops listening, ends open client connections, drops idle upstream connections and stops token refresh.
    public func stop() {
        let listeners = state.withLock { state -> [Listener] in
            guard case .running(let listeners) = state else {
                state = .stopped
                return []
            }
            state = .stopped
            return listeners
        }
        for listener in listeners { listener.close() }
        for channel in openConnections.withLock({ Array($0.values) }) { channel.shutdownBoth() }
        tokens.shutdown()
        upstreamPool.closeIdle()
        tokenPool.closeIdle()
    }

    private func accepted(_ channel: SocketChannel) {
        let id = ObjectIdentifier(channel)
        openConnections.withLock { $0[id] = channel }
        let connection = ClientConnection(
            channel: channel, forwarder: forwarder, admin: AdminEndpoints(tokens: tokens), limits: limits,
            logger: logger)
        Task {
            await connection.serve()
            _ = openConnections.withLock { $0.removeValue(forKey: id) }
        }
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
