import Foundation
import MicoAuthProxy
import MicoIO
import MicoTestSupport
import Testing

/// Limits and timeouts on the client side, each a config key.
@Suite("Limits and timeouts")
struct ProxyLimitsTests {
    @Test("max_request_body_bytes: a larger Content-Length gets 413 before anything is sent")
    func contentLengthTooLarge() async throws {
        let harness = try await ProxyHarness.start(configure: { configuration, _ in
            configuration.maxRequestBodyBytes = 1000
        })
        try await harness.waitUntilReady()
        let client = try await RawClient.connect(port: harness.proxy.listenAddresses[0].port)
        try await client.send("POST /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1001\r\n\r\n")
        let reply = await client.readToEnd()
        client.close()
        #expect(reply.text.hasPrefix("HTTP/1.1 413 "))
        #expect(reply.closed)
        let fits = try await Curl.run([
            "--data-binary", String(repeating: "x", count: 1000), "\(harness.baseURL)/v1/echo",
        ])
        #expect(fits.status == 200)
        #expect(harness.mock.stats.apiRequests == 1)
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("max_request_body_bytes: a chunked body that grows past it is cut off upstream and gets 413")
    func chunkedTooLarge() async throws {
        let harness = try await ProxyHarness.start(configure: { configuration, _ in
            configuration.maxRequestBodyBytes = 100_000
        })
        try await harness.waitUntilReady()
        let directory = try TemporaryDirectory.make("chunked")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try String(repeating: "y", count: 200_000).write(toFile: directory + "/body", atomically: true, encoding: .utf8)
        let response = try await Curl.run([
            "-H", "Transfer-Encoding: chunked", "-H", "Expect:", "--data-binary", "@\(directory)/body",
            "\(harness.baseURL)/v1/echo",
        ])
        #expect(response.status == 413)
        #expect(try response.json()["error"] as? String == "request_body_too_large")
        // The upstream saw a chunked body that never ended, so it answered nothing and recorded nothing.
        try await Task.sleep(for: .milliseconds(200))
        #expect(harness.mock.stats.apiRequests == 0)
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("max_request_line_bytes gives 414, max_header_bytes and max_header_count give 431")
    func headLimits() async throws {
        let harness = try await ProxyHarness.start(configure: { configuration, _ in
            configuration.maxRequestLineBytes = 512
            configuration.maxHeaderBytes = 2048
            configuration.maxHeaderCount = 10
        })
        try await harness.waitUntilReady()
        let port = harness.proxy.listenAddresses[0].port
        let longTarget = "/v1/" + String(repeating: "a", count: 600)
        let manyFields = (0..<12).map { "X-F\($0): 1\r\n" }.joined()
        let bigField = "X-Big: " + String(repeating: "b", count: 2100) + "\r\n"
        let cases = [
            ("GET \(longTarget) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "414"),
            ("GET /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n\(manyFields)\r\n", "431"),
            ("GET /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n\(bigField)\r\n", "431"),
        ]
        for (request, status) in cases {
            let client = try await RawClient.connect(port: port)
            try await client.send(request)
            let reply = await client.readToEnd()
            client.close()
            #expect(reply.text.hasPrefix("HTTP/1.1 \(status) "), "\(reply.text.prefix(40))")
            #expect(reply.closed)
        }
        #expect(harness.mock.stats.apiRequests == 0)
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("request_header_timeout_seconds: the whole head must arrive in time, trickling bytes do not extend it")
    func headTimeout() async throws {
        let harness = try await ProxyHarness.start(configure: { configuration, _ in
            configuration.requestHeaderTimeoutSeconds = 1
        })
        try await harness.waitUntilReady()
        let client = try await RawClient.connect(port: harness.proxy.listenAddresses[0].port)
        try await client.send("GET /v1/echo HTTP/1.1\r\n")
        // One byte every 200 ms keeps the connection busy, but the head never completes.
        var closedEarly = false
        for _ in 0..<15 {
            try await Task.sleep(for: .milliseconds(200))
            do {
                try await client.send("X")
            } catch {
                closedEarly = true
                break
            }
        }
        let reply = await client.readToEnd(timeout: 20)
        client.close()
        #expect(reply.text.hasPrefix("HTTP/1.1 408 "), "\(reply.text)")
        #expect(reply.closed || closedEarly)
        #expect(harness.mock.stats.apiRequests == 0)
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("client_body_timeout_seconds: a body that stops arriving ends the exchange; the upstream acts on nothing")
    func bodyTimeout() async throws {
        let harness = try await ProxyHarness.start(configure: { configuration, _ in
            configuration.clientBodyTimeoutSeconds = 1
        })
        try await harness.waitUntilReady()
        let client = try await RawClient.connect(port: harness.proxy.listenAddresses[0].port)
        try await client.send("POST /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nonly-part")
        let reply = await client.readToEnd(timeout: 20)
        client.close()
        #expect(reply.closed)
        #expect(reply.text.hasPrefix("HTTP/1.1 408 "), "\(reply.text)")
        try await Task.sleep(for: .milliseconds(200))
        #expect(harness.mock.stats.apiRequests == 0)
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("client_idle_timeout_seconds closes an idle keep-alive connection without a response")
    func idleTimeout() async throws {
        let harness = try await ProxyHarness.start(configure: { configuration, _ in
            configuration.clientIdleTimeoutSeconds = 1
        })
        try await harness.waitUntilReady()
        // The idle timer starts at accept: the request goes out with the connect, not after the test task resumes.
        let client = try RawClient.connect(
            port: harness.proxy.listenAddresses[0].port, sending: "GET /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let first = try await client.read(until: "}")
        #expect(first.hasPrefix("HTTP/1.1 200 "))
        let rest = await client.readToEnd(timeout: 20)
        client.close()
        #expect(rest.closed)
        #expect(rest.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("max_connections: beyond it new clients get 503 and existing ones keep being served")
    func connectionLimit() async throws {
        let harness = try await ProxyHarness.start(configure: { configuration, _ in
            configuration.maxConnections = 3
        })
        try await harness.waitUntilReady()
        let port = harness.proxy.listenAddresses[0].port
        var held: [RawClient] = []
        for _ in 0..<3 { held.append(try await RawClient.connect(port: port)) }
        try await Task.sleep(for: .milliseconds(100))
        let extra = try await RawClient.connect(port: port)
        let refused = await extra.readToEnd()
        extra.close()
        #expect(refused.text.hasPrefix("HTTP/1.1 503 "))
        #expect(refused.text.contains("too_many_connections"))
        try await held[0].send("GET /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        let served = await held[0].readToEnd()
        #expect(served.text.hasPrefix("HTTP/1.1 200 "))
        for client in held { client.close() }
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("300 stalled clients holding partial requests do not stop a normal request from being served")
    func stalledClients() async throws {
        let harness = try await ProxyHarness.start()
        try await harness.waitUntilReady()
        let port = harness.proxy.listenAddresses[0].port
        var stalled: [RawClient] = []
        for index in 0..<300 {
            let client = try await RawClient.connect(port: port)
            try await client.send("POST /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Stall: \(index)")
            stalled.append(client)
        }
        // No timing assertion (CI is noisy; the benchmark measures latency): the request must simply be served.
        let response = try await Curl.run(["\(harness.baseURL)/v1/echo"], timeout: 10)
        #expect(response.status == 200)
        for client in stalled { client.close() }
        #expect(harness.stopAndFindLeaks().isEmpty)
    }
}
