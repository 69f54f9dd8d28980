import Foundation

/// Certificates made at test time with the `openssl` CLI: a CA, a leaf for `localhost` / `127.0.0.1` signed by
/// it, and a second, unrelated CA with its own leaf (which the proxy must not trust).
struct TestCertificates: Sendable {
    let directory: String
    var caCertificate: String { directory + "/ca.pem" }
    var serverCertificate: String { directory + "/server.pem" }
    var serverKey: String { directory + "/server.key" }
    var otherCACertificate: String { directory + "/other-ca.pem" }
    var untrustedServerCertificate: String { directory + "/untrusted.pem" }
    var untrustedServerKey: String { directory + "/untrusted.key" }

    /// Made once per test process.
    static func shared() async throws -> TestCertificates {
        try await cache.value
    }

    private static let cache = Task<TestCertificates, any Error> { try await make() }

    private static func make() async throws -> TestCertificates {
        let directory = try TemporaryDirectory.make("certs")
        let certificates = TestCertificates(directory: directory)
        let ext = directory + "/leaf.ext"
        try "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=CA:FALSE\n"
            .write(toFile: ext, atomically: true, encoding: .utf8)
        for (ca, name) in [("ca", "Mico Test CA"), ("other-ca", "Unrelated CA")] {
            try await openssl([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "\(directory)/\(ca).key", "-out", "\(directory)/\(ca).pem", "-days", "2",
                "-subj", "/CN=\(name)", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        }
        for (leaf, ca) in [("server", "ca"), ("untrusted", "other-ca")] {
            try await openssl([
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "\(directory)/\(leaf).key", "-out", "\(directory)/\(leaf).csr", "-subj", "/CN=localhost",
            ])
            try await openssl([
                "x509", "-req", "-in", "\(directory)/\(leaf).csr", "-CA", "\(directory)/\(ca).pem",
                "-CAkey", "\(directory)/\(ca).key", "-CAcreateserial", "-out", "\(directory)/\(leaf).pem",
                "-days", "2", "-extfile", ext,
            ])
        }
        return certificates
    }

    private static func openssl(_ arguments: [String]) async throws {
        let result = try await ExternalProcess.run("/usr/bin/openssl", arguments)
        guard result.status == 0 else {
            throw TestFailure("openssl \(arguments.first ?? "") failed: \(result.stderr)")
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
