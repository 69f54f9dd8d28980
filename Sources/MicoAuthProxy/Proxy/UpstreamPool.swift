import Dispatch
import Logging
import MicoHTTP
import MicoIO
import Synchronization

/// One connection to the upstream, owned by one exchange at a time.
// @unchecked Sendable: the mutable `lastUsed`, `reuseCount` and `sessionTaken` are written only by the task that
// holds the connection; the pool hands connections between tasks under its Mutex, which orders those accesses.
final class UpstreamConnection: @unchecked Sendable {
    let channel: SocketChannel
    let stream: DirectStream
    /// When the full TLS handshake behind this connection's keys was made (on the pool's clock): its own, or, for a
    /// resumed session, the one that session goes back to.
    var sessionOrigin: DispatchTime = .now()
    var lastUsed: DispatchTime = .coarseNow()
    /// How many exchanges used this connection before the current one.
    var reuseCount = 0
    /// Whether the pool took this connection's TLS session for new connections to resume.
    var sessionTaken = false

    init(channel: SocketChannel, stream: any ByteStream) {
        self.channel = channel
        self.stream = DirectStream(stream)
    }

    func close() { stream.close() }

    /// Whether nothing came from the upstream since the last exchange ended: no end of stream, no stray bytes, in
    /// the socket or read ahead by TLS.
    var isUsableWhileIdle: Bool {
        guard case .tls(let tls) = stream else { return channel.isUsableWhileIdle() }
        let state = tls.idleReadState
        return channel.isUsableWhileIdle(lastReadEmptiedSocket: state.lastReadEmptiedSocket) && !state.hasBufferedInput
    }
}

/// Keeps idle upstream connections (TLS or, for a loopback upstream, plain TCP) for reuse.
final class UpstreamPool: Sendable {
    /// An HTTP proxy to tunnel through with CONNECT.
    struct Egress: Sendable {
        var host: String
        var port: UInt16
        /// `Proxy-Authorization` value; never logged.
        var authorization: String?
    }

    /// `host:port` for messages.
    let origin: String
    private let host: String
    private let port: UInt16
    private let tls: TLSContext?
    private let egress: Egress?
    private let connectTimeout: Double
    private let maxIdle: Int
    private let idleTimeout: Double
    private let idle = Mutex<[UpstreamConnection]>([])
    /// The latest resumable TLS session from a connection of this pool, and when the full handshake behind it was
    /// made.
    private let session = Mutex<(TLSSession, origin: DispatchTime)?>(nil)
    /// Seconds from a full handshake during which its session, and the sessions resumed from it in turn, are
    /// offered (RFC 8446 §4.6.1 recommends a limit on that chain: the certificate is checked again at least this
    /// often). The server's own ticket lifetime may end it sooner.
    private let sessionLifetime: Double
    /// The clock sessions' ages are read on (a test's own, to step over the lifetime without waiting for it).
    private let now: @Sendable () -> DispatchTime

    /// - Parameters:
    ///   - tls: nil for a plain-HTTP (loopback-only) upstream.
    ///   - connectTimeout: seconds for TCP connect plus TLS handshake.
    ///   - maxIdle: idle connections kept at most; more are closed on release. Under 128 concurrent requests a
    ///     smaller pool closed connections that the next burst had to open again, a TLS handshake each (the
    ///     benchmark saw one per 17 requests with 64).
    ///   - idleTimeout: seconds an idle connection is kept before it is dropped instead of reused.
    ///   - sessionLifetime: seconds after a full TLS handshake during which new connections resume its session.
    ///   - now: the clock for `sessionLifetime`.
    init(
        host: String, port: UInt16, tls: TLSContext?, connectTimeout: Double,
        maxIdle: Int = 128, idleTimeout: Double = 30, sessionLifetime: Double = 300,
        now: @escaping @Sendable () -> DispatchTime = { .now() }, egress: Egress? = nil
    ) {
        self.sessionLifetime = sessionLifetime
        self.now = now
        self.host = host
        self.port = port
        self.egress = egress
        self.origin = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        self.tls = tls
        self.connectTimeout = connectTimeout
        self.maxIdle = maxIdle
        self.idleTimeout = idleTimeout
    }

    /// An idle connection that is still open, or a new one (always a new one when `fresh`). Throws `UpstreamFailure`.
    ///
    /// Only a connection whose events the caller's loop delivers is reused (see `take`): its response then wakes the
    /// waiting task on the thread that runs it, not through another loop.
    func acquire(fresh: Bool = false) async throws -> UpstreamConnection {
        let loop = IOLoop.current
        while !fresh, let candidate = idle.withLock({ Self.take(from: &$0, on: loop) }) {
            let age = candidate.lastUsed.seconds(to: .coarseNow())
            if age < idleTimeout && candidate.isUsableWhileIdle {
                candidate.reuseCount += 1
                return candidate
            }
            candidate.close()
        }
        return try await connect()
    }

    /// Ends an exchange: the connection goes back to the pool only when the response ended by its own framing
    /// (not by a close), the upstream did not ask to close, and no stray bytes followed it; otherwise it is closed.
    /// `upstreamKeepsAlive`: the response's `isKeepAlive`.
    func finish(_ connection: UpstreamConnection, upstreamKeepsAlive: Bool, framing: HTTPBodyFraming, strayBytes: Bool)
    {
        if upstreamKeepsAlive && framing != .untilClose && !strayBytes {
            release(connection)
        } else {
            connection.close()
        }
    }

    /// The most recently used idle connection on `loop`; without a loop, the most recently used one.
    ///
    /// Never another loop's: its events would still come to the loop it is registered with, which then wakes the
    /// caller's loop for every response (at one connection, each request woke three threads, and the proxy used
    /// 200-450 µs of CPU per request against nginx's 120-220). A new connection costs a TLS resumption once; nginx's
    /// workers keep their upstream connections apart the same way.
    private static func take(from idle: inout [UpstreamConnection], on loop: IOLoop?) -> UpstreamConnection? {
        guard let loop else { return idle.popLast() }
        guard let index = idle.lastIndex(where: { $0.channel.loop === loop }) else { return nil }
        return idle.remove(at: index)
    }

    /// Returns a connection whose last exchange ended cleanly.
    private func release(_ connection: UpstreamConnection) {
        connection.lastUsed = .coarseNow()
        if !connection.sessionTaken, case .tls(let tls) = connection.stream, let taken = tls.resumableSession {
            // Kept for the connections this pool opens next (nginx's proxy_ssl_session_reuse): a burst of new
            // connections then costs a resumption each, not a full handshake with a certificate check.
            connection.sessionTaken = true
            session.withLock { $0 = (taken, connection.sessionOrigin) }
        }
        let kept = idle.withLock { list -> Bool in
            guard list.count < maxIdle else { return false }
            list.append(connection)
            return true
        }
        if !kept { connection.close() }
    }

    /// Idle connections held now.
    var idleCount: Int { idle.withLock { $0.count } }

    /// Closes every idle connection.
    func closeIdle() {
        let all = idle.withLock { list -> [UpstreamConnection] in
            defer { list.removeAll() }
            return list
        }
        for connection in all { connection.close() }
    }

    private func connect() async throws -> UpstreamConnection {
        let deadline = DispatchTime.now() + connectTimeout
        let channel: SocketChannel
        if let egress {
            channel = try await EgressTunnel.open(
                proxyHost: egress.host, proxyPort: egress.port, proxyAuthorization: egress.authorization,
                targetAuthority: origin, deadline: deadline)
        } else {
            do {
                channel = try await SocketChannel.connect(host: host, port: port, deadline: deadline)
            } catch {
                throw UpstreamFailure(error, phase: .connect, origin: origin)
            }
        }
        guard let tls else { return UpstreamConnection(channel: channel, stream: channel) }
        let started = now()
        let offered = session.withLock { stored -> (TLSSession, origin: DispatchTime)? in
            guard let offered = stored else { return nil }
            guard offered.origin.seconds(to: started) < sessionLifetime else {
                stored = nil
                return nil
            }
            return offered
        }
        do {
            let stream = try await TLSStream.connect(
                over: channel, context: tls, serverName: host, deadline: deadline, resuming: offered?.0)
            let connection = UpstreamConnection(channel: channel, stream: stream)
            if let offered, stream.isResumed {
                connection.sessionOrigin = offered.origin
            } else {
                connection.sessionOrigin = started
            }
            return connection
        } catch {
            channel.close()
            throw UpstreamFailure(error, phase: .connect, origin: origin)
        }
    }
}
