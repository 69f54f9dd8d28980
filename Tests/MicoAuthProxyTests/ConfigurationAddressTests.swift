import Testing

@testable import MicoAuthProxy

@Suite("Configuration listen addresses and URLs")
struct ConfigurationAddressTests {
    @Test(arguments: [
        ("127.0.0.1:8642", ListenAddress.tcp(host: "127.0.0.1", port: 8642), true),
        ("127.0.0.1:0", .tcp(host: "127.0.0.1", port: 0), true),
        ("[::1]:65535", .tcp(host: "::1", port: 65535), true),
        ("localhost:80", .tcp(host: "localhost", port: 80), true),
        ("LocalHost:80", .tcp(host: "LocalHost", port: 80), true),
        ("127.255.0.9:1", .tcp(host: "127.255.0.9", port: 1), true),
        ("[::ffff:127.0.0.1]:1", .tcp(host: "::ffff:127.0.0.1", port: 1), true),
        ("0.0.0.0:8642", .tcp(host: "0.0.0.0", port: 8642), false),
        ("[fe80::1]:8642", .tcp(host: "fe80::1", port: 8642), false),
        ("proxy.internal:8642", .tcp(host: "proxy.internal", port: 8642), false),
        ("localhost.example.com:1", .tcp(host: "localhost.example.com", port: 1), false),
        ("unix:/run/mico-auth-proxy.sock", .unix(path: "/run/mico-auth-proxy.sock"), true),
    ])
    func listenParsed(text: String, expected: ListenAddress, loopback: Bool) throws {
        let address = try ListenAddress.parse(text)
        #expect(address == expected)
        #expect(address.isLoopback == loopback)
        #expect(address.description == (text == "LocalHost:80" ? "LocalHost:80" : text))
    }

    @Test(arguments: [
        ("127.0.0.1", #"missing ":PORT", e.g. 127.0.0.1:8642"#),
        ("127.0.0.1:", "the port must be a number from 0 to 65535 (0 = any free port)"),
        ("127.0.0.1:65536", "the port must be a number from 0 to 65535 (0 = any free port)"),
        ("127.0.0.1:-1", "the port must be a number from 0 to 65535 (0 = any free port)"),
        ("127.0.0.1:+80", "the port must be a number from 0 to 65535 (0 = any free port)"),
        ("127.0.0.1:008642", "the port must be a number from 0 to 65535 (0 = any free port)"),
        (":8642", "has no host"),
        ("::1:8642", "an IPv6 address needs brackets, e.g. [::1]:8642"),
        ("[::1]", #"missing ":PORT" after "]", e.g. [::1]:8642"#),
        ("[::1:8642", #"missing "]" after the IPv6 address"#),
        ("[127.0.0.1]:80", "127.0.0.1 is not a valid IPv6 address"),
        ("[::g]:80", "::g is not a valid IPv6 address"),
        ("256.0.0.1:80", "256.0.0.1 is not a valid IPv4 address"),
        ("127.1:80", "127.1 is not a valid IPv4 address"),
        ("bad host:80", #""bad host" is not a valid host name or IP address"#),
        ("-bad.example:80", #""-bad.example" is not a valid host name or IP address"#),
        ("a..b:80", #""a..b" is not a valid host name or IP address"#),
        ("unix:relative.sock", "a Unix socket path must be absolute"),
        ("unix:", "a Unix socket path must be absolute"),
        ("unix:/" + String(repeating: "a", count: 107), "the path is longer than 107 bytes"),
    ])
    func badListenEntry(text: String, why: String) {
        #expect(throws: ConfigurationError(key: "listen", message: "\"\(text)\": \(why)")) {
            try ListenAddress.parse(text)
        }
    }

    @Test func longestUnixPathAccepted() throws {
        let path = "/" + String(repeating: "a", count: 106)
        #expect(try ListenAddress.parse("unix:" + path) == .unix(path: path))
    }

    @Test(arguments: [
        ("https://api.micovoice.com", "https", "api.micovoice.com", UInt16(443), "", "api.micovoice.com"),
        ("HTTPS://API.MicoVoice.com:443/", "https", "api.micovoice.com", 443, "/", "api.micovoice.com"),
        (
            "https://api.micovoice.com:8443/oauth/token", "https", "api.micovoice.com", 8443, "/oauth/token",
            "api.micovoice.com:8443"
        ),
        ("https://[2001:db8::1]/x", "https", "2001:db8::1", 443, "/x", "[2001:db8::1]"),
        ("https://[2001:db8::1]:8443", "https", "2001:db8::1", 8443, "", "[2001:db8::1]:8443"),
        ("http://[::1]:8080/t?a=b", "http", "::1", 8080, "/t?a=b", "[::1]:8080"),
        ("http://localhost", "http", "localhost", 80, "", "localhost"),
        ("http://127.0.0.1:80", "http", "127.0.0.1", 80, "", "127.0.0.1"),
        ("https://10.1.2.3?q=1", "https", "10.1.2.3", 443, "/?q=1", "10.1.2.3"),
    ])
    func urlParsed(text: String, scheme: String, host: String, port: UInt16, path: String, authority: String) throws {
        let url = try HTTPURL.parse(text, key: "upstream")
        #expect(url.scheme == scheme)
        #expect(url.host == host)
        #expect(url.port == port)
        #expect(url.path == path)
        #expect(url.authority == authority)
        #expect(url.isTLS == (scheme == "https"))
        #expect(url.description == "\(scheme)://\(authority)\(path)")
    }

    @Test(arguments: [
        ("api.micovoice.com", "must be an absolute URL such as https://api.micovoice.com"),
        ("ftp://api.micovoice.com", "the scheme must be https (or http for a loopback host)"),
        ("https://user:hunter2@api.micovoice.com", "must not contain user information (user:password@)"),
        ("https://api.micovoice.com/#frag", "must not contain a fragment (#...)"),
        ("https://api.micovoice.com/a b", "the path contains a character that must be percent-encoded"),
        ("https://api.micovoice.com/a\r\nX: y", "the path contains a character that must be percent-encoded"),
        ("https://", "has no host"),
        ("https://:443", "has no host"),
        ("https://api.micovoice.com:0", "the port must be a number from 1 to 65535"),
        ("https://api.micovoice.com:99999", "the port must be a number from 1 to 65535"),
        ("https://2001:db8::1/", "an IPv6 address needs brackets, e.g. https://[::1]:8443"),
        ("https://[2001:db8::1", #"missing "]" after the IPv6 address"#),
        ("https://[::1]x", #"unexpected text after "]""#),
        (
            "http://api.micovoice.com",
            "must use https; http is allowed only for a loopback host (127.0.0.1, [::1], localhost)"
        ),
        ("http://[::2]:80", "must use https; http is allowed only for a loopback host (127.0.0.1, [::1], localhost)"),
    ])
    func badURL(text: String, why: String) {
        #expect(throws: ConfigurationError(key: "token_url", message: why)) {
            try HTTPURL.parse(text, key: "token_url")
        }
    }

    @Test func urlErrorsDoNotEchoUserInformation() {
        do {
            _ = try HTTPURL.parse("https://user:hunter2@api.micovoice.com", key: "upstream")
            Issue.record("parsed a URL with user information")
        } catch {
            #expect(!error.description.contains("hunter2"))
        }
    }
}
