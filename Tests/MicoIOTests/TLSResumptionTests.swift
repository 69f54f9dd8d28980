import Dispatch
import MicoIO
import Testing

@Suite("TLS session resumption (client side)")
struct TLSResumptionTests {
    /// A session taken from a first connection to a server made with `serverContext`, once its ticket arrived.
    private static func sessionFrom(
        serverContext: TLSContext, clientContext: TLSContext
    ) async throws -> TLSSession {
        let pair = try await TLSTestHarness.connectedPair(serverContext: serverContext, clientContext: clientContext)
        defer { pair.close() }
        #expect(!pair.client.isResumed)
        // TLS 1.3: the server's tickets come after the handshake; the client takes them in with the data it reads.
        let deadline = TLSTestHarness.deadline()
        try await pair.server.write(Array("hello".utf8), deadline: deadline)
        #expect(try await TLSTestHarness.read(pair.client, count: 5, deadline: deadline) == Array("hello".utf8))
        return try #require(pair.client.resumableSession)
    }

    @Test("a session offered to the server it came from is resumed, and data flows")
    func resumesWithTheSameServer() async throws {
        let serverContext = try TLSTestHarness.serverContext()
        let clientContext = try TLSTestHarness.clientContext()
        let session = try await Self.sessionFrom(serverContext: serverContext, clientContext: clientContext)

        let pair = try await TLSTestHarness.connectedPair(
            serverContext: serverContext, clientContext: clientContext, resuming: session)
        defer { pair.close() }
        #expect(pair.client.isResumed)
        #expect(pair.server.isResumed)
        let deadline = TLSTestHarness.deadline()
        try await pair.client.write(Array("ping".utf8), deadline: deadline)
        #expect(try await TLSTestHarness.read(pair.server, count: 4, deadline: deadline) == Array("ping".utf8))
        try await pair.server.write(Array("pong".utf8), deadline: deadline)
        #expect(try await TLSTestHarness.read(pair.client, count: 4, deadline: deadline) == Array("pong".utf8))
    }

    @Test("another server (its own ticket keys) declines the session: a full handshake, verified as ever")
    func anotherServerGetsAFullHandshake() async throws {
        let clientContext = try TLSTestHarness.clientContext()
        let session = try await Self.sessionFrom(
            serverContext: try TLSTestHarness.serverContext(), clientContext: clientContext)

        let pair = try await TLSTestHarness.connectedPair(
            serverContext: try TLSTestHarness.serverContext(), clientContext: clientContext, resuming: session)
        pair.close()
        #expect(!pair.client.isResumed)

        // A server whose certificate does not verify is refused even though a valid session was offered to it.
        let (clientError, server) = try await TLSTestHarness.failingConnect(
            serverContext: try TLSTestHarness.untrustedServerContext(), clientContext: clientContext,
            serverName: "localhost", resuming: session)
        #expect((clientError as? TLSError)?.kind == .certificate)
        #expect(server.received.isEmpty)
    }
}
