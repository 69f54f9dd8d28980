import Foundation
import Logging
import MicoAuthProxy
import MicoIO
import MicoTestSupport
import Synchronization

/// Collects log lines in memory so tests can read them (and check that no secret is among them).
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    var all: [String] { lines.withLock { $0 } }

    func append(_ line: String) {
        lines.withLock { $0.append(line) }
        RunLog.append(line)
    }

    func logger(level: Logger.Level = .debug) -> Logger {
        var logger = Logger(label: "test") { _ in CapturingLogHandler(capture: self) }
        logger.logLevel = level
        return logger
    }
}

struct CapturingLogHandler: LogHandler {
    let capture: LogCapture
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        capture.append("\(event.level) \(event.message) \(merged)")
    }
}

/// The mock Mico Voice API over real TLS on loopback (certificates made at test time) and the proxy in front of it,
/// in this process, each on a port the kernel chose.
final class ProxyHarness: Sendable {
    let mock: MockAPIServer
    let proxy: ProxyServer
    let mockAddress: SocketAddress
    let baseURL: String
    let certificates: TestCertificates
    let logs: LogCapture

    /// A distinctive secret so a leak is easy to find.
    static let clientSecret = "Sekr1t-mico-\(UInt32.random(in: 0...UInt32.max))"
    static let clientID = "test-client"

    private init(
        mock: MockAPIServer, proxy: ProxyServer, mockAddress: SocketAddress, baseURL: String,
        certificates: TestCertificates, logs: LogCapture
    ) {
        self.mock = mock
        self.proxy = proxy
        self.mockAddress = mockAddress
        self.baseURL = baseURL
        self.certificates = certificates
        self.logs = logs
    }

    /// Starts the mock (TLS unless `tls` is false) and a proxy configured for it; `configure` may change the
    /// proxy's configuration (listen entries, timeouts, URLs) before it starts.
    static func start(
        tls: Bool = true,
        mockOptions: (inout MockAPIServer.Options) -> Void = { _ in },
        tokenPolicy: TokenRefreshPolicy? = nil,
        configure: (inout ProxyConfiguration, _ mockPort: UInt16) throws -> Void = { _, _ in }
    ) async throws -> ProxyHarness {
        let certificates = try TestCertificates.shared()
        let logs = LogCapture()
        var options = MockAPIServer.Options()
        options.clientID = clientID
        options.clientSecret = clientSecret
        if tls {
            options.tlsCertificateFile = certificates.leafCertificateFile
            options.tlsPrivateKeyFile = certificates.leafKeyFile
        }
        mockOptions(&options)
        let mock = try MockAPIServer(options: options, logger: logs.logger())
        let mockAddress = try mock.start()
        var configuration = ProxyConfiguration(
            upstream: HTTPURL(
                scheme: tls ? "https" : "http", host: tls ? "localhost" : "127.0.0.1",
                port: mockAddress.port),
            clientID: clientID, clientSecret: Secret(clientSecret), listen: [.tcp(host: "127.0.0.1", port: 0)],
            caFile: tls ? certificates.caFile : nil, tokenWaitSeconds: 20,
            upstreamConnectTimeoutSeconds: 20, upstreamResponseTimeoutSeconds: 30)
        try configure(&configuration, mockAddress.port)
        let proxy = try ProxyServer(configuration: configuration, logger: logs.logger(), tokenPolicy: tokenPolicy)
        let addresses = try proxy.start()
        let base = addresses.first.map { $0.family == AF_UNIX ? "http://localhost" : "http://\($0)" } ?? ""
        return ProxyHarness(
            mock: mock, proxy: proxy, mockAddress: mockAddress, baseURL: base, certificates: certificates, logs: logs)
    }

    /// Waits until the first token fetch has failed (up to 20 s), so a request sees that failure's message.
    func waitUntilTokenFails() async throws {
        for _ in 0..<2000 {
            if case .failing = proxy.tokens.status { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("the token fetch never failed: \(proxy.tokens.status)")
    }

    /// Waits until the proxy holds a token (up to 10 s).
    func waitUntilReady() async throws {
        for _ in 0..<1000 {
            if proxy.tokens.currentValidToken() != nil { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("the proxy never got a token")
    }

    /// Stops both; returns the log lines that hold the client secret or the token (there must be none).
    func stopAndFindLeaks() -> [String] {
        let token = proxy.tokens.currentValidToken()?.value
        proxy.stop()
        mock.stop()
        return logs.all.filter { line in
            line.contains(Self.clientSecret) || (token.map { line.contains($0) } ?? false)
        }
    }
}
