import Foundation
import MicoAuthProxy
import MicoIO
import MicoTestSupport
import Testing

/// Who may spend the credential: local callers only, never a web page, never the token endpoint itself.
@Suite("Policy: Host, Origin, fetch metadata, the token path, peers")
struct ProxyPolicyTests {
    @Test("Host must match allowed_hosts exactly: rebound names get 403, local names pass")
    func hostAllowList() async throws {
        let harness = try await ProxyHarness.start()
        try await harness.waitUntilReady()
        let port = harness.proxy.listenAddresses[0].port
        for host in ["localhost.evil.example", "127.0.0.1.nip.io", "evil.example", "localhost:1", "127.0.0.2"] {
            let response = try await Curl.run(["-H", "Host: \(host)", "\(harness.baseURL)/v1/echo"])
            #expect(response.status == 403, "\(host)")
            #expect(try response.json()["error"] as? String == "forbidden_host")
            #expect(response.header("Proxy-Status")?.contains("error=http_request_denied") == true)
        }
        for host in ["localhost", "localhost:\(port)", "127.0.0.1", "127.0.0.1:\(port)", "[::1]:\(port)", "LOCALHOST"] {
            let response = try await Curl.run(["-H", "Host: \(host)", "\(harness.baseURL)/v1/echo"])
            #expect(response.status == 200, "\(host)")
        }
        #expect(harness.mock.stats.apiRequests == 6)
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("configured allowed_hosts replace the defaults")
    func configuredHosts() async throws {
        let harness = try await ProxyHarness.start(configure: { configuration, _ in
            configuration.allowedHosts = ["proxy.internal"]
        })
        try await harness.waitUntilReady()
        #expect(try await Curl.run(["-H", "Host: proxy.internal", "\(harness.baseURL)/v1/echo"]).status == 200)
        #expect(try await Curl.run(["\(harness.baseURL)/v1/echo"]).status == 403)
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("Origin not in allowed_origins and cross-site Sec-Fetch-Site get 403")
    func browserRequests() async throws {
        let harness = try await ProxyHarness.start(configure: { configuration, _ in
            configuration.allowedOrigins = ["http://localhost:3000"]
        })
        try await harness.waitUntilReady()
        let base = "\(harness.baseURL)/v1/echo"
        let evil = try await Curl.run(["-H", "Origin: https://evil.example", base])
        #expect(evil.status == 403)
        #expect(try evil.json()["error"] as? String == "forbidden_origin")
        #expect(try await Curl.run(["-H", "Origin: http://localhost:3000", base]).status == 200)
        for site in ["cross-site", "same-site"] {
            let response = try await Curl.run(["-H", "Sec-Fetch-Site: \(site)", base])
            #expect(response.status == 403, "\(site)")
            #expect(try response.json()["error"] as? String == "forbidden_fetch_site")
        }
        for site in ["none", "same-origin"] {
            #expect(try await Curl.run(["-H", "Sec-Fetch-Site: \(site)", base]).status == 200, "\(site)")
        }
        #expect(harness.mock.stats.apiRequests == 3)
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("the token endpoint's path is never forwarded, however it is spelt")
    func tokenPathRefused() async throws {
        let harness = try await ProxyHarness.start()
        try await harness.waitUntilReady()
        let tokenRequests = harness.mock.stats.tokenRequests
        let spellings = [
            "/oauth/token", "/OAUTH/Token", "/oauth/token/", "/oauth//token", "/v1/../oauth/token",
            "/oauth/%74oken", "/oauth/./token?grant_type=client_credentials",
        ]
        for target in spellings {
            let client = try await RawClient.connect(port: harness.proxy.listenAddresses[0].port)
            try await client.send("POST \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
            let reply = try await client.read(until: "\r\n\r\n")
            client.close()
            #expect(reply.hasPrefix("HTTP/1.1 403 "), "\(target)")
        }
        #expect(harness.mock.stats.tokenRequests == tokenRequests)
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("Access-Control-* headers from the API never reach the client")
    func noCORSHeaders() async throws {
        let harness = try await ProxyHarness.start()
        try await harness.waitUntilReady()
        let response = try await Curl.run(["\(harness.baseURL)/v1/cors"])
        #expect(response.status == 200)
        #expect(response.headers.allSatisfy { !$0.name.hasPrefix("access-control-") }, "\(response.headers)")
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("unix-socket clients skip the Host check; allowed_uids is enforced with SO_PEERCRED")
    func unixSocketPeers() async throws {
        let directory = try TemporaryDirectory.make("peer")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let open = directory + "/open.sock"
        let me = try await ProxyHarness.start(configure: { configuration, _ in
            configuration.listen = [.unix(path: open)]
            configuration.allowedUIDs = [getuid()]
        })
        try await me.waitUntilReady()
        let response = try await Curl.run(["--unix-socket", open, "-H", "Host: anything.example", "http://x/v1/echo"])
        #expect(response.status == 200)
        #expect(me.stopAndFindLeaks().isEmpty)

        let closed = directory + "/closed.sock"
        let others = try await ProxyHarness.start(configure: { configuration, _ in
            configuration.listen = [.unix(path: closed)]
            configuration.allowedUIDs = [getuid() &+ 4242]
            configuration.allowedGIDs = [getgid() &+ 4242]
        })
        try await others.waitUntilReady()
        let refused = try await Curl.run(["--unix-socket", closed, "http://localhost/v1/echo"])
        #expect(refused.status == 403)
        #expect(try refused.json()["error"] as? String == "forbidden_peer")
        #expect(others.mock.stats.apiRequests == 0)
        #expect(others.stopAndFindLeaks().isEmpty)
    }
}
