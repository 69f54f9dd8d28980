import Dispatch
import MicoHTTP
import MicoIO
import MicoTestSupport
import Synchronization
import Testing

@testable import MicoAuthProxy

@Suite("UpstreamPool: TLS session resumption and its lifetime")
struct UpstreamPoolSessionTests {
    /// A clock the test moves by hand.
    final class ManualClock: Sendable {
        private let nanoseconds = Mutex<UInt64>(1_000_000_000)
        func now() -> DispatchTime { DispatchTime(uptimeNanoseconds: nanoseconds.withLock { $0 }) }
        func advance(seconds: Double) { nanoseconds.withLock { $0 += UInt64(seconds * 1e9) } }
    }

    /// The mock API over TLS with the test CA's leaf certificate, and a client context that trusts it.
    static func tlsMock() throws -> (MockAPIServer, port: UInt16, TLSContext) {
        let certificates = try TestCertificates.shared()
        var options = MockAPIServer.Options()
        options.tlsCertificateFile = certificates.leafCertificateFile
        options.tlsPrivateKeyFile = certificates.leafKeyFile
        let mock = try MockAPIServer(options: options)
        let address = try mock.start()
        return (mock, address.port, try TLSContext.client(caFile: certificates.caFile))
    }

    /// One request on `connection`, whose answer is read (with it the server's session tickets), then the
    /// connection goes back to `pool`.
    static func exchange(on connection: UpstreamConnection, returningTo pool: UpstreamPool) async throws {
        let deadline = DispatchTime.now() + 20
        try await connection.stream.write(
            Array("GET /v1/x HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8), deadline: deadline)
        #expect(try await !connection.stream.read(maxBytes: 4096, deadline: deadline).isEmpty)
        pool.finish(connection, upstreamKeepsAlive: true, framing: .contentLength(0), strayBytes: false)
    }

    @Test("new connections resume a full handshake's session for sessionLifetime, however often it was resumed since")
    func sessionsResumeOnlyWithinTheLifetimeOfTheirFullHandshake() async throws {
        let (mock, port, tls) = try Self.tlsMock()
        defer { mock.stop() }
        let clock = ManualClock()
        let pool = UpstreamPool(
            host: "localhost", port: port, tls: tls, connectTimeout: 10, sessionLifetime: 6, now: { clock.now() })
        defer { pool.closeIdle() }

        /// One exchange on a new connection; returns whether its handshake resumed a session.
        func exchangeOnANewConnection() async throws -> Bool {
            let connection = try await pool.acquire(fresh: true)
            try await Self.exchange(on: connection, returningTo: pool)
            return try #require(connection.stream.stream as? TLSStream).isResumed
        }

        #expect(try await !exchangeOnANewConnection())  // a full handshake at 0 s
        #expect(try await exchangeOnANewConnection())  // resumes it
        clock.advance(seconds: 4)
        #expect(try await exchangeOnANewConnection())  // resumes the session taken from the resumed connection
        // 6.5 s after the full handshake, although the latest session was taken from a resumption 2.5 s ago: a full
        // handshake again, whose session the next connection resumes.
        clock.advance(seconds: 2.5)
        #expect(try await !exchangeOnANewConnection())
        #expect(try await exchangeOnANewConnection())
        // The server saw the same.
        #expect(mock.stats.connectionsAccepted == 5)
        #expect(mock.stats.sessionsResumed == 3)
    }
}

@Suite("UpstreamPool: idle connections stay with the loop that delivers their events")
struct UpstreamPoolLoopTests {
    @Test("a task on a loop reuses only that loop's idle connections; a task on no loop takes the latest")
    func idleConnectionsStayWithTheirLoop() async throws {
        let (mock, port, tls) = try UpstreamPoolSessionTests.tlsMock()
        defer { mock.stop() }
        let pool = UpstreamPool(host: "localhost", port: port, tls: tls, connectTimeout: 10)
        defer { pool.closeIdle() }

        /// Acquires a connection from a task on `loop`, makes one exchange on it and returns it to the pool.
        func exchange(on loop: IOLoop) async throws -> UpstreamConnection {
            let outcome = Mutex<Result<UpstreamConnection, any Error>?>(nil)
            await loop.spawn {
                do {
                    let connection = try await pool.acquire()
                    try await UpstreamPoolSessionTests.exchange(on: connection, returningTo: pool)
                    outcome.withLock { $0 = .success(connection) }
                } catch {
                    outcome.withLock { $0 = .failure(error) }
                }
            }.value
            return try #require(outcome.withLock { $0 }).get()
        }

        let loops = IOLoop.all
        let first = try await exchange(on: loops[0])
        #expect(first.channel.loop === loops[0])
        #expect(try await exchange(on: loops[0]) === first)
        if loops.count > 1 {
            // The other loop's task opens its own connection rather than take one whose events the first loop gets.
            let second = try await exchange(on: loops[1])
            #expect(second !== first)
            #expect(second.channel.loop === loops[1])
            #expect(try await exchange(on: loops[1]) === second)
            #expect(try await exchange(on: loops[0]) === first)
        }
        // A task on no loop (the token client's) takes the most recently used.
        let latest = try await pool.acquire()
        #expect(latest === first)
        try await UpstreamPoolSessionTests.exchange(on: latest, returningTo: pool)
        #expect(mock.stats.connectionsAccepted == min(loops.count, 2))
    }
}
