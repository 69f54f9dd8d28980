import MicoIO
import MicoTestSupport
import Testing

@Suite("TLSContext configuration errors")
struct TLSContextTests {
    @Test("a caFile that does not exist is a configuration error naming the file")
    func missingCAFile() throws {
        let path = "/nonexistent/mico-tls-test-ca.pem"
        let error = #expect(throws: TLSError.self) { _ = try TLSContext.client(caFile: path) }
        #expect(error?.kind == .configuration)
        #expect(error?.description.contains(path) == true)
    }

    @Test("a caFile that holds no certificate is refused")
    func caFileWithoutCertificates() throws {
        let certificates = try TestCertificates.shared()
        // A private key is PEM, but not a certificate.
        let error = #expect(throws: TLSError.self) { _ = try TLSContext.client(caFile: certificates.leafKeyFile) }
        #expect(error?.kind == .configuration)
        #expect(error?.message.contains(certificates.leafKeyFile) == true)
    }

    @Test("a missing private key file is named")
    func missingKeyFile() throws {
        let certificates = try TestCertificates.shared()
        let path = certificates.directory + "/no-such.key"
        let error = #expect(throws: TLSError.self) {
            _ = try TLSContext.server(certificateChainFile: certificates.leafCertificateFile, privateKeyFile: path)
        }
        #expect(error?.kind == .configuration)
        #expect(error?.message.contains(path) == true)
    }

    @Test("a key that does not match the certificate is refused")
    func mismatchedKey() throws {
        let certificates = try TestCertificates.shared()
        let error = #expect(throws: TLSError.self) {
            _ = try TLSContext.server(
                certificateChainFile: certificates.leafCertificateFile,
                privateKeyFile: certificates.untrustedLeafKeyFile
            )
        }
        #expect(error?.kind == .configuration)
        #expect(error?.message.contains(certificates.untrustedLeafKeyFile) == true)
    }

    @Test("a server context cannot be used to connect")
    func serverContextCannotConnect() async throws {
        let (clientError, _) = try await TLSTestHarness.failingConnect(
            serverContext: try TLSTestHarness.serverContext(),
            clientContext: try TLSTestHarness.serverContext(),
            serverName: "localhost"
        )
        #expect((clientError as? TLSError)?.kind == .configuration)
    }
}
