import Dispatch
import Logging
import MicoHTTP
import MicoIO

/// `mico-auth-proxy demo`: the built-in mock API and the proxy in front of it, with made-up credentials and no
/// network, plus a first request through the proxy to show the path works.
public enum DemoRunner {
    /// What the demo started.
    public struct Running: Sendable {
        public let mock: MockAPIServer
        public let proxy: ProxyServer
        /// Where the mock API listens.
        public let mockAddress: SocketAddress
        /// `http://127.0.0.1:PORT` of the proxy.
        public let proxyBaseURL: String
    }

    /// Starts the mock on a free loopback port and the proxy on `listen`, and waits (up to 5 s) for the first
    /// token. The mock speaks plain HTTP: an `http` upstream is allowed for loopback hosts only.
    public static func start(listen: ListenAddress, logger: Logger) async throws -> Running {
        var options = MockAPIServer.Options()
        options.clientID = "demo-client"
        options.clientSecret = randomSecret()
        options.tokenTTL = 300
        let mock = try MockAPIServer(options: options, logger: logger)
        let mockAddress = try mock.start()
        let configuration = ProxyConfiguration(
            upstream: HTTPURL(scheme: "http", host: "127.0.0.1", port: mockAddress.port),
            clientID: options.clientID, clientSecret: Secret(options.clientSecret),
            clientSecretSource: "demo (generated)", listen: [listen])
        let proxy = try ProxyServer(configuration: configuration, logger: logger)
        let addresses = try proxy.start()
        let deadline = DispatchTime.now() + 5
        while proxy.tokens.currentValidToken() == nil && DispatchTime.now() < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        let base = addresses.first.map { "http://\($0)" } ?? "http://127.0.0.1"
        return Running(mock: mock, proxy: proxy, mockAddress: mockAddress, proxyBaseURL: base)
    }

    /// The lines printed for people: where things run, and curl commands to try.
    public static func instructions(for running: Running) -> String {
        let base = running.proxyBaseURL
        return """
            mico-auth-proxy demo: the built-in mock Mico Voice API runs on http://\(running.mockAddress), the proxy on \(base).
            The proxy holds the client secret and a bearer token; the commands below send neither.
            Try:
              curl -s \(base)/v1/outbound_calls/demo-call-1
              curl -s -X POST -H 'Content-Type: application/json' -d '{"phone": "+15550100"}' \(base)/v1/campaigns
              curl -s \(base)/-/ready
              curl -s \(base)/v1/bytes/1048576 -o /dev/null -w '%{http_code} %{size_download} bytes\\n'
            Stop with Ctrl-C.
            """
    }

    /// Sends one GET through the proxy with the project's own HTTP client; returns the status and body.
    public static func selfCheck(_ running: Running, target: String = "/v1/outbound_calls/demo-call-1") async throws
        -> (status: Int, body: String)
    {
        guard let address = running.proxy.listenAddresses.first else { throw ProxyStartError("demo: not listening") }
        let channel = try await SocketChannel.connect(to: address, deadline: .now() + 5)
        defer { channel.close() }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "127.0.0.1:\(address.port)")
        headers.add(name: "Connection", value: "close")
        var bytes: [UInt8] = []
        HTTPRequestHead(method: "GET", target: target, version: .http1_1, headers: headers).serialize(into: &bytes)
        try await channel.write(bytes, deadline: .now() + 5)
        var reader = HTTPReader(stream: channel)
        var decoder = HTTPResponseHeadDecoder()
        let (head, framing) = try await reader.readResponseHead(&decoder, requestMethod: "GET", deadline: .now() + 10)
        var body = HTTPBodyDecoder(framing: framing)
        let content = try await reader.readWholeBody(&body, limit: 1 << 20, deadline: .now() + 10)
        return (head.status, String(decoding: content, as: UTF8.self))
    }

    private static func randomSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(generator.next(), radix: 36) }.joined()
    }
}
