import Foundation

/// PEM files made once per test process with the `openssl` CLI in a temporary directory:
/// a trusted CA and its `localhost` leaf (SANs DNS:localhost, IP:127.0.0.1), and an untrusted CA
/// with a leaf carrying the same names.
public struct TestCertificates: Sendable {
    public let directory: String
    public let caFile: String
    public let leafCertificateFile: String
    public let leafKeyFile: String
    public let untrustedCAFile: String
    public let untrustedLeafCertificateFile: String
    public let untrustedLeafKeyFile: String

    /// The shared set; generation runs once, on first use.
    public static func shared() throws -> TestCertificates {
        try generated.get()
    }

    private static let generated: Result<TestCertificates, any Error> = Result { try make() }

    private static let config = """
        [req]
        distinguished_name = dn
        prompt = no
        [dn]
        CN = unused
        [ca]
        basicConstraints = critical, CA:TRUE
        keyUsage = critical, keyCertSign, cRLSign
        subjectKeyIdentifier = hash
        [leaf]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        extendedKeyUsage = serverAuth
        subjectAltName = DNS:localhost, IP:127.0.0.1
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid
        """

    private static func make() throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("mico-tls-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let configFile = directory + "/openssl.cnf"
        try config.write(toFile: configFile, atomically: true, encoding: .utf8)

        func path(_ name: String) -> String { directory + "/" + name }
        func makeCA(_ name: String, subject: String) throws {
            try openssl([
                "req", "-x509", "-config", configFile, "-extensions", "ca",
                "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", path("\(name).key"), "-out", path("\(name).pem"), "-days", "2", "-subj", subject,
            ])
        }
        func makeLeaf(_ name: String, signedBy ca: String) throws {
            try openssl([
                "req", "-new", "-config", configFile,
                "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", "/CN=localhost",
            ])
            try openssl([
                "x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(ca).pem"), "-CAkey", path("\(ca).key"),
                "-set_serial", "0x\(UInt64.random(in: 1...UInt64.max >> 1))".lowercased(), "-days", "2",
                "-extfile", configFile, "-extensions", "leaf", "-out", path("\(name).pem"),
            ])
        }
        try makeCA("ca", subject: "/CN=Mico Test CA")
        try makeLeaf("leaf", signedBy: "ca")
        try makeCA("untrusted-ca", subject: "/CN=Untrusted Test CA")
        try makeLeaf("untrusted-leaf", signedBy: "untrusted-ca")
        return TestCertificates(
            directory: directory,
            caFile: path("ca.pem"),
            leafCertificateFile: path("leaf.pem"),
            leafKeyFile: path("leaf.key"),
            untrustedCAFile: path("untrusted-ca.pem"),
            untrustedLeafCertificateFile: path("untrusted-leaf.pem"),
            untrustedLeafKeyFile: path("untrusted-leaf.key")
        )
    }

    private struct CommandFailed: Error, CustomStringConvertible {
        var description: String
    }

    private static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandFailed(
                description: "openssl \(arguments.joined(separator: " ")): \(String(decoding: message, as: UTF8.self))"
            )
        }
    }
}
