import Foundation
import MicoAuthProxy
import Testing

/// `/-/status`: JSON parsed with JSONSerialization and checked field by field.
@Suite("Status page")
struct ProxyStatusTests {
    /// Fetches `/-/status` until `requests.total` reaches `total` (up to 10 s): a request is counted just after its
    /// response is written. Status requests are not counted, so polling does not move the target.
    private static func status(at baseURL: String, total: Int = 0) async throws -> (Curl.Response, [String: Any]) {
        for _ in 0..<200 {
            let response = try await Curl.run(["\(baseURL)/-/status"])
            let json = try response.json()
            let requests = json["requests"] as? [String: Any]
            if (requests?["total"] as? Int ?? 0) >= total { return (response, json) }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("requests.total never reached \(total)")
    }

    @Test("version, uptime, listeners, upstream, token state and request counts; never the token or the secret")
    func statusAfterTraffic() async throws {
        let harness = try await ProxyHarness.start()
        try await harness.waitUntilReady()
        let token = try #require(harness.proxy.tokens.currentValidToken()).value
        let base = harness.baseURL
        #expect(try await Curl.run(["\(base)/v1/echo"]).status == 200)
        #expect(try await Curl.run(["-d", "{}", "\(base)/v1/echo"]).status == 200)
        #expect(try await Curl.run(["\(base)/-/nothing-here"]).status == 404)
        harness.mock.revokeAllTokens()
        #expect(try await Curl.run(["\(base)/v1/echo"]).status == 200)

        let (response, json) = try await Self.status(at: base, total: 4)
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "application/json")
        #expect(json["version"] as? String == MicoAuthProxyVersion.current)
        #expect((json["uptime_seconds"] as? Double ?? -1) >= 0)
        let port = harness.proxy.listenAddresses[0].port
        #expect(json["listeners"] as? [String] == ["127.0.0.1:\(port)"])
        #expect(json["upstream"] as? String == "https://localhost:\(harness.mockAddress.port)")
        #expect((json["open_connections"] as? Int ?? -1) >= 1)
        #expect((json["upstream_pool_idle"] as? Int ?? -1) >= 0)

        let tokenState = try #require(json["token"] as? [String: Any])
        #expect(tokenState["valid"] as? Bool == true)
        #expect((tokenState["seconds_left"] as? Double ?? 0) > 0)
        #expect((tokenState["last_fetch_seconds_ago"] as? Double ?? -1) >= 0)
        #expect((tokenState["last_success_seconds_ago"] as? Double ?? -1) >= 0)
        #expect(tokenState["last_error"] is NSNull)
        #expect(tokenState["consecutive_failures"] as? Int == 0)
        #expect((tokenState["description"] as? String)?.hasPrefix("token valid for") == true)

        let requests = try #require(json["requests"] as? [String: Any])
        #expect(requests["total"] as? Int == 4)
        #expect(requests["2xx"] as? Int == 3)
        #expect(requests["3xx"] as? Int == 0)
        #expect(requests["4xx"] as? Int == 1)
        #expect(requests["5xx"] as? Int == 0)
        #expect(requests["replays"] as? Int == 1)

        let newToken = try #require(harness.proxy.tokens.currentValidToken()).value
        #expect(newToken != token)
        for secret in [token, newToken, ProxyHarness.clientSecret] {
            #expect(!response.bodyText.contains(secret))
        }
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("a failing token endpoint: not valid, the last error and the failure count, but not the wrong secret")
    func failingTokenEndpoint() async throws {
        let wrongSecret = "wrong-\(UInt32.random(in: 0...UInt32.max))"
        let harness = try await ProxyHarness.start(configure: { configuration, _ in
            configuration.clientSecret = Secret(wrongSecret)
        })
        try await harness.waitUntilTokenFails()
        let (response, json) = try await Self.status(at: harness.baseURL)
        let tokenState = try #require(json["token"] as? [String: Any])
        #expect(tokenState["valid"] as? Bool == false)
        #expect(tokenState["seconds_left"] as? Double == 0)
        #expect((tokenState["last_fetch_seconds_ago"] as? Double ?? -1) >= 0)
        #expect(tokenState["last_success_seconds_ago"] is NSNull)
        #expect((tokenState["last_error"] as? String)?.isEmpty == false)
        #expect((tokenState["consecutive_failures"] as? Int ?? 0) >= 1)
        #expect((json["requests"] as? [String: Any])?["total"] as? Int == 0)
        #expect(!response.bodyText.contains(wrongSecret))
        #expect(!response.bodyText.contains(ProxyHarness.clientSecret))
        #expect(harness.stopAndFindLeaks().isEmpty)
    }
}
