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

    @Test("new connections resume a full handshake's session for sessionLifetime, however often it was resumed since")
    func sessionsResumeOnlyWithinTheLifetimeOfTheirFullHandshake() async throws {
        let certificates = try TestCertificates.shared()
        var options = MockAPIServer.Options()
        options.tlsCertificateFile = certificates.leafCertificateFile
        options.tlsPrivateKeyFile = certificates.leafKeyFile
        let mock = try MockAPIServer(options: options)
        let address = try mock.start()
        defer { mock.stop() }
        let clock = ManualClock()
        let pool = UpstreamPool(
            host: "localhost", port: address.port, tls: try TLSContext.client(caFile: certificates.caFile),
            connectTimeout: 10, sessionLifetime: 6, now: { clock.now() })
        defer { pool.closeIdle() }

        /// One request on a new connection, whose answer is read (with it the server's session tickets), then the
        /// connection goes back to the pool. Returns whether its handshake resumed a session.
        func exchangeOnANewConnection() async throws -> Bool {
            let connection = try await pool.acquire(fresh: true)
            let deadline = DispatchTime.now() + 20
            try await connection.stream.write(
                Array("GET /v1/x HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8), deadline: deadline)
            #expect(try await !connection.stream.read(maxBytes: 4096, deadline: deadline).isEmpty)
            pool.finish(connection, upstreamKeepsAlive: true, framing: .contentLength(0), strayBytes: false)
            return try #require(connection.stream as? TLSStream).isResumed
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
