import Foundation
import MicoAuthProxy
import MicoTestSupport
import Testing

/// The token's life as curl sees it, against the mock API's real token endpoint over TLS.
@Suite("Token flow through the proxy")
struct ProxyTokenFlowTests {
    @Test("a cold start with 64 concurrent requests costs exactly one token request")
    func coldStartSingleFlight() async throws {
        // The token endpoint answers after a second, so all 64 requests arrive while the first fetch is in flight.
        let harness = try await ProxyHarness.start(mockOptions: { $0.tokenResponseDelay = 1 })
        let urls = (0..<64).map { "\(harness.baseURL)/v1/echo/\($0)" }
        let result = try await ExternalProcess.run(
            "/usr/bin/curl",
            ["-sS", "--parallel", "--parallel-immediate", "--parallel-max", "64", "-w", "%{http_code}\\n"]
                + urls.flatMap { ["-o", "/dev/null", $0] })
        let codes = result.stdoutText.split(separator: "\n")
        #expect(codes.count == 64)
        #expect(codes.allSatisfy { $0 == "200" }, "\(codes)")
        try? "\(harness.mock.stats) \(harness.mock.requests.map(\.target))".write(
            toFile: "/tmp/cold.log", atomically: true, encoding: .utf8)
        #expect(harness.mock.stats.tokenRequests == 1)
        #expect(harness.mock.stats.apiRequests == 64)
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("wrong credentials: 503 with the OAuth error, Retry-After and Proxy-Status; not ready, still healthy")
    func wrongCredentials() async throws {
        let harness = try await ProxyHarness.start(mockOptions: { $0.clientSecret = "the-vendor-has-another" })
        let response = try await Curl.run(["\(harness.baseURL)/v1/echo"])
        #expect(response.status == 503)
        #expect(try response.json()["error"] as? String == "token_unavailable")
        #expect((try response.json()["message"] as? String)?.contains("invalid_client") == true)
        #expect(Int(response.header("Retry-After") ?? "") ?? 0 >= 1)
        #expect(response.header("Proxy-Status")?.hasPrefix("mico-auth-proxy; error=") == true)
        #expect(!response.bodyText.contains(ProxyHarness.clientSecret))
        let ready = try await Curl.run(["\(harness.baseURL)/-/ready"])
        #expect(ready.status == 503)
        let healthy = try await Curl.run(["\(harness.baseURL)/-/healthy"])
        #expect(healthy.status == 200)
        #expect(harness.mock.stats.apiRequests == 0)
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("short-lived tokens are refreshed before they expire; requests never see a dead one")
    func proactiveRefresh() async throws {
        let harness = try await ProxyHarness.start(mockOptions: { $0.tokenTTL = 3 })
        try await harness.waitUntilReady()
        var statuses: [Int] = []
        for index in 0..<9 {
            statuses.append(try await Curl.run(["\(harness.baseURL)/v1/echo/\(index)"]).status)
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
        #expect(harness.mock.stats.tokensIssued >= 2)
        #expect(harness.mock.stats.unauthorizedRequests == 0)
        #expect(harness.stopAndFindLeaks().isEmpty)
    }
}
