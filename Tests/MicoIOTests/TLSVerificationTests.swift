import MicoIO
import Testing

@Suite("TLS certificate verification (client side, fails closed)")
struct TLSVerificationTests {
    @Test("a chain from the CA in caFile, for the DNS name asked for, verifies; SNI is sent")
    func trustedChainVerifies() async throws {
        let pair = try await TLSTestHarness.connectedPair(serverName: "localhost")
        defer { pair.close() }
        #expect(pair.server.requestedServerName == "localhost")
        try await pair.client.write(Array("ok".utf8), deadline: TLSTestHarness.deadline())
        #expect(
            try await TLSTestHarness.read(pair.server, count: 2, deadline: TLSTestHarness.deadline())
                == Array("ok".utf8))
    }

    @Test("a trailing dot is dropped from SNI and the name check (RFC 6066 §3)")
    func trailingDot() async throws {
        let pair = try await TLSTestHarness.connectedPair(serverName: "localhost.")
        defer { pair.close() }
        #expect(pair.server.requestedServerName == "localhost")
    }

    @Test("an IP literal verifies against the IP SAN, and no SNI is sent")
    func ipLiteralVerifies() async throws {
        let pair = try await TLSTestHarness.connectedPair(serverName: "127.0.0.1")
        defer { pair.close() }
        #expect(pair.server.requestedServerName == nil)
        #expect(pair.client.protocolVersion.hasPrefix("TLSv1."))
    }

    @Test("a chain from an untrusted CA fails with the verify result; the server gets no data")
    func untrustedCAFails() async throws {
        let (clientError, server) = try await TLSTestHarness.failingConnect(
            serverContext: try TLSTestHarness.untrustedServerContext(),
            clientContext: try TLSTestHarness.clientContext(),
            serverName: "localhost"
        )
        let error = try #require(clientError as? TLSError, "expected TLSError, got \(String(describing: clientError))")
        #expect(error.kind == .certificate)
        #expect(error.message.contains("unable to get local issuer certificate"))
        #expect(server.received.isEmpty)
        #expect(server.error != nil, "the server handshake should fail on the client's alert")
    }

    @Test("the system trust store does not trust the test CA")
    func systemStoreRejectsTestCA() async throws {
        let (clientError, server) = try await TLSTestHarness.failingConnect(
            serverContext: try TLSTestHarness.serverContext(),
            clientContext: try TLSContext.client(caFile: nil),
            serverName: "localhost"
        )
        #expect((clientError as? TLSError)?.kind == .certificate)
        #expect(server.received.isEmpty)
    }

    @Test("a trusted chain for another name fails with 'hostname mismatch'")
    func hostnameMismatchFails() async throws {
        let (clientError, server) = try await TLSTestHarness.failingConnect(
            serverContext: try TLSTestHarness.serverContext(),
            clientContext: try TLSTestHarness.clientContext(),
            serverName: "example.com"
        )
        let error = try #require(clientError as? TLSError, "expected TLSError, got \(String(describing: clientError))")
        #expect(error.kind == .certificate)
        #expect(error.message.contains("hostname mismatch"))
        #expect(error.message.contains("example.com"))
        #expect(server.received.isEmpty)
        #expect(server.error != nil)
    }

    @Test("an IP literal missing from the IP SANs fails with 'IP address mismatch'")
    func ipMismatchFails() async throws {
        let (clientError, server) = try await TLSTestHarness.failingConnect(
            serverContext: try TLSTestHarness.serverContext(),
            clientContext: try TLSTestHarness.clientContext(),
            serverName: "127.0.0.2"
        )
        let error = try #require(clientError as? TLSError, "expected TLSError, got \(String(describing: clientError))")
        #expect(error.kind == .certificate)
        #expect(error.message.contains("IP address mismatch"))
        #expect(server.received.isEmpty)
    }

    @Test("IPv6 literals, bare or bracketed, are checked against IP SANs", arguments: ["::1", "[::1]"])
    func ipv6LiteralsAreIPAddresses(serverName: String) async throws {
        let (clientError, server) = try await TLSTestHarness.failingConnect(
            serverContext: try TLSTestHarness.serverContext(),
            clientContext: try TLSTestHarness.clientContext(),
            serverName: serverName
        )
        let error = try #require(clientError as? TLSError)
        #expect(error.kind == .certificate)
        #expect(error.message.contains("IP address mismatch"))
        #expect(server.received.isEmpty)
    }

    @Test(
        "an unusable server name is refused before anything is sent",
        arguments: ["", "bad name", "caf\u{E9}.example", "a\u{0}b"])
    func invalidServerName(serverName: String) async throws {
        let (clientError, server) = try await TLSTestHarness.failingConnect(
            serverContext: try TLSTestHarness.serverContext(),
            clientContext: try TLSTestHarness.clientContext(),
            serverName: serverName
        )
        #expect((clientError as? TLSError)?.kind == .configuration)
        #expect(server.received.isEmpty)
    }
}
