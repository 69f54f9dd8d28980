import Foundation
import MicoAuthProxy
import Testing

/// `/-/metrics`: the Prometheus text format, parsed and checked after known traffic.
@Suite("Metrics page")
struct ProxyMetricsTests {
    @Test("known traffic gives exact counters, histogram counts and token gauges")
    func countersAfterKnownTraffic() async throws {
        let harness = try await ProxyHarness.start()
        try await harness.waitUntilReady()
        let base = harness.baseURL
        for _ in 0..<3 {
            #expect(try await Curl.run(["\(base)/v1/echo"]).status == 200)
        }
        for _ in 0..<2 {
            #expect(try await Curl.run(["-d", "{}", "\(base)/v1/echo"]).status == 200)
        }
        #expect(try await Curl.run(["\(base)/-/nothing-here"]).status == 404)
        #expect(try await Curl.run(["-X", "BREW", "\(base)/-/healthy"]).status == 405)
        harness.mock.revokeAllTokens()
        #expect(try await Curl.run(["\(base)/v1/echo"]).status == 200)

        let page = try await PrometheusPage.waitForRequests(8, at: base)
        let requests = "mico_proxy_requests_total"
        #expect(page.value(requests, ["method": "GET", "code": "200"]) == 4)
        #expect(page.value(requests, ["method": "POST", "code": "200"]) == 2)
        #expect(page.value(requests, ["method": "GET", "code": "404"]) == 1)
        #expect(page.value(requests, ["method": "OTHER", "code": "405"]) == 1)
        #expect(page.samples.filter { $0.name == requests }.count == 4, "\(page.text)")
        #expect(page.value("mico_proxy_request_duration_seconds_count") == 8)
        #expect(page.value("mico_proxy_request_duration_seconds_bucket", ["le": "+Inf"]) == 8)
        #expect(page.value("mico_proxy_upstream_duration_seconds_count") == 6)
        #expect(page.value("mico_proxy_replays_total") == 1)
        #expect(page.value("mico_proxy_token_fetches_total", ["result": "success"]) == 2)
        #expect(page.value("mico_proxy_token_fetches_total", ["result": "failure"]) == 0)
        #expect(page.value("mico_proxy_token_valid") == 1)
        #expect((page.value("mico_proxy_token_expiry_seconds") ?? 0) > 0)
        #expect((page.value("mico_proxy_open_connections") ?? -1) >= 0)
        #expect((page.value("mico_proxy_upstream_pool_idle") ?? -1) >= 0)
        #expect(page.text.contains("# TYPE mico_proxy_request_duration_seconds histogram"))

        // Scrapes do not count themselves: another one shows the same request count.
        let again = try await PrometheusPage.fetch(base)
        #expect(again.sum(requests) == 8)
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("the page is text/plain 0.0.4 and answers HEAD; other methods get 405; neither token nor secret appears")
    func pageFormat() async throws {
        let harness = try await ProxyHarness.start()
        try await harness.waitUntilReady()
        let token = try #require(harness.proxy.tokens.currentValidToken()).value
        let get = try await Curl.run(["\(harness.baseURL)/-/metrics"])
        #expect(get.status == 200)
        #expect(get.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        #expect(get.header("Cache-Control") == "no-store")
        #expect(!get.bodyText.contains(token))
        #expect(!get.bodyText.contains(ProxyHarness.clientSecret))
        let client = try await RawClient.connect(port: harness.proxy.listenAddresses[0].port)
        try await client.send("HEAD /-/metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        let head = await client.readToEnd()
        client.close()
        #expect(head.text.hasPrefix("HTTP/1.1 200 "))
        #expect(head.text.contains("Content-Length: "))
        #expect(head.text.hasSuffix("\r\n\r\n"), "HEAD got a body: \(head.text)")
        let post = try await Curl.run(["-d", "x", "\(harness.baseURL)/-/metrics"])
        #expect(post.status == 405)
        #expect(harness.mock.stats.apiRequests == 0)
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("wrong credentials: failed fetches are counted and token_valid is 0")
    func failingTokenEndpoint() async throws {
        let harness = try await ProxyHarness.start(configure: { configuration, _ in
            configuration.clientSecret = Secret("not-the-secret")
        })
        try await harness.waitUntilTokenFails()
        let page = try await PrometheusPage.fetch(harness.baseURL)
        #expect((page.value("mico_proxy_token_fetches_total", ["result": "failure"]) ?? 0) >= 1)
        #expect(page.value("mico_proxy_token_fetches_total", ["result": "success"]) == 0)
        #expect(page.value("mico_proxy_token_valid") == 0)
        #expect(page.value("mico_proxy_token_expiry_seconds") == 0)
        #expect(page.sum("mico_proxy_requests_total") == 0)
        #expect(harness.stopAndFindLeaks().isEmpty)
    }
}
