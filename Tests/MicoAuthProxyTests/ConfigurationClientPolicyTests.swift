import FoundationEssentials
import MicoHTTP
import Testing

@testable import MicoAuthProxy

@Suite("Configuration of client allow-lists and limits")
struct ConfigurationClientPolicyTests {
    /// Loads `{"client_id": "a", MEMBERS}`.
    private func load(_ members: String) throws -> ProxyConfiguration {
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        return try loadTestConfiguration(#"{"client_id": "a", \#(members)}"#, in: directory)
    }

    /// The error from loading `{"client_id": "a", MEMBERS}`.
    private func loadError(_ members: String) throws -> ConfigurationError {
        try #require(try configurationLoadError(#"{"client_id": "a", \#(members)}"#), "\(members) loaded")
    }

    @Test func parserLimitDefaultsMatchTheHTTPParser() {
        let parser = HTTPParserLimits()
        #expect(ProxyConfiguration.defaultMaxRequestLineBytes == parser.maxRequestLineBytes)
        #expect(ProxyConfiguration.defaultMaxHeaderBytes == parser.maxHeaderBytes)
        #expect(ProxyConfiguration.defaultMaxHeaderCount == parser.maxHeaderCount)
    }

    @Test func codeInitTakesEveryNewSettingAndLowerCasesHosts() throws {
        let configuration = ProxyConfiguration(
            upstream: ProxyConfiguration.defaultUpstream, clientID: "id", clientSecret: Secret("s"),
            allowedHosts: ["LOCALHOST:8642"], allowedOrigins: ["http://localhost:3000"], allowedUIDs: [1000],
            allowedGIDs: [100], maxRequestLineBytes: 1000, maxHeaderBytes: 2000, maxHeaderCount: 3,
            maxRequestBodyBytes: 0, requestHeaderTimeoutSeconds: 1, clientIdleTimeoutSeconds: 2,
            clientBodyTimeoutSeconds: 3, maxConnections: 4)
        #expect(configuration.allowedHosts == ["localhost:8642"])
        #expect(configuration.allowedOrigins == ["http://localhost:3000"])
        #expect(configuration.allowedUIDs == [1000])
        #expect(configuration.allowedGIDs == [100])
        #expect(configuration.maxRequestLineBytes == 1000)
        #expect(configuration.maxHeaderBytes == 2000)
        #expect(configuration.maxHeaderCount == 3)
        #expect(configuration.maxRequestBodyBytes == 0)
        #expect(configuration.requestHeaderTimeoutSeconds == 1)
        #expect(configuration.clientIdleTimeoutSeconds == 2)
        #expect(configuration.clientBodyTimeoutSeconds == 3)
        #expect(configuration.maxConnections == 4)
        #expect(throws: Never.self) { try configuration.validate() }

        var upperCased = configuration
        upperCased.allowedHosts = ["LOCALHOST"]
        #expect(throws: ConfigurationError(key: "allowed_hosts", message: #""LOCALHOST": must be lower-case"#)) {
            try upperCased.validate()
        }
    }

    @Test func nullListsMeanTheirDefaults() throws {
        let configuration = try load(
            #""allowed_hosts": null, "allowed_origins": null, "allowed_uids": null, "allowed_gids": null"#)
        #expect(configuration.allowedHosts == nil)
        #expect(configuration.allowedOrigins == [])
        #expect(configuration.allowedUIDs == nil)
        #expect(configuration.allowedGIDs == nil)
    }

    @Test(arguments: [
        ("localhost", "localhost"), ("LocalHost:8642", "localhost:8642"), ("127.0.0.1:1", "127.0.0.1:1"),
        ("[::1]", "[::1]"), ("[::1]:65535", "[::1]:65535"), ("proxy.internal.", "proxy.internal."),
        ("[2001:DB8::1]:80", "[2001:db8::1]:80"),
    ])
    func allowedHostsAreLowerCased(entry: String, stored: String) throws {
        #expect(try load(#""allowed_hosts": ["\#(entry)"]"#).allowedHosts == [stored])
    }

    @Test(arguments: [
        ("", "must not be empty"),
        ("local host", #"must be one host or host:port, without spaces, control characters, ",", "/" or "@""#),
        ("a,b", #"must be one host or host:port, without spaces, control characters, ",", "/" or "@""#),
        ("localhost/", #"must be one host or host:port, without spaces, control characters, ",", "/" or "@""#),
        ("user@localhost", #"must be one host or host:port, without spaces, control characters, ",", "/" or "@""#),
        ("::1", "an IPv6 address needs brackets, e.g. [::1]:8642"),
        ("[::1", #"missing "]" after the IPv6 address"#),
        ("[::1]8642", #"unexpected text after "]""#),
        ("[::g]", "::g is not a valid IPv6 address"),
        ("localhost:", "the port must be a number from 1 to 65535"),
        ("localhost:0", "the port must be a number from 1 to 65535"),
        ("localhost:65536", "the port must be a number from 1 to 65535"),
        ("300.1.1.1", "300.1.1.1 is not a valid IPv4 address"),
        ("-bad-.example", #""-bad-.example" is not a valid host name or IP address"#),
    ])
    func badAllowedHostNamesKeyAndEntry(entry: String, why: String) throws {
        let error = try loadError(#""allowed_hosts": ["localhost", "\#(entry)"]"#)
        #expect(error.key == "allowed_hosts")
        #expect(error.message == "\"\(entry)\": \(why)")
        #expect(error.file?.hasSuffix("/config.json") == true)
    }

    @Test func allowedHostsMustBeNonEmptyAndDistinct() throws {
        let empty = try loadError(#""allowed_hosts": []"#)
        #expect(empty.key == "allowed_hosts")
        #expect(empty.message == "must list at least one host, or be null for the automatic list")
        let twice = try loadError(#""allowed_hosts": ["localhost", "LOCALHOST"]"#)
        #expect(twice.message == #""localhost" is listed twice"#)
    }

    @Test(arguments: [
        "http://localhost:3000", "https://app.example.com", "http://127.0.0.1:8080", "http://[::1]:3000",
        "https://app.example.com:8443", "chrome-extension://abcdefghijklmnop", "http://localhost",
    ])
    func allowedOriginsKeptExactly(origin: String) throws {
        #expect(try load(#""allowed_origins": ["\#(origin)"]"#).allowedOrigins == [origin])
    }

    @Test(arguments: [
        ("null", #"the "null" origin is refused: any web page can send it from a sandboxed frame"#),
        ("localhost:3000", "must be an origin such as https://app.example.com or http://localhost:3000"),
        ("*", "must be an origin such as https://app.example.com or http://localhost:3000"),
        ("https://app.example.com/", #"must not have a path, query or fragment, not even a trailing "/""#),
        ("https://app.example.com/x", #"must not have a path, query or fragment, not even a trailing "/""#),
        ("https://app.example.com?a", #"must not have a path, query or fragment, not even a trailing "/""#),
        (
            "HTTPS://app.example.com",
            #"the scheme must be lower-case letters, digits, "+", "-" or ".", starting with a letter"#
        ),
        ("1http://x", #"the scheme must be lower-case letters, digits, "+", "-" or ".", starting with a letter"#),
        ("https://App.example.com", "must be lower-case, as browsers send it"),
        ("https://app.example.com:443", "must leave out the default port 443, as browsers do"),
        ("http://localhost:80", "must leave out the default port 80, as browsers do"),
        ("https://user@app.example.com", #"must not contain spaces, control characters, "," or "@""#),
        ("https://a.example.com, https://b.example.com", #"must not contain spaces, control characters, "," or "@""#),
        ("https://", "has no host"),
        ("http://::1", "an IPv6 address needs brackets, e.g. http://[::1]:3000"),
        ("http://localhost:0", "the port must be a number from 1 to 65535"),
    ])
    func badAllowedOriginNamesKeyAndEntry(entry: String, why: String) throws {
        let error = try loadError(#""allowed_origins": ["\#(entry)"]"#)
        #expect(error.key == "allowed_origins")
        #expect(error.message == "\"\(entry)\": \(why)")
    }

    @Test func allowedOriginsMustBeDistinct() throws {
        let error = try loadError(#""allowed_origins": ["http://localhost:3000", "http://localhost:3000"]"#)
        #expect(error.key == "allowed_origins")
        #expect(error.message == #""http://localhost:3000" is listed twice"#)
    }

    @Test(arguments: ["allowed_uids", "allowed_gids"])
    func peerIDLists(key: String) throws {
        let unix = #""listen": ["unix:/run/mico.sock"]"#
        let loaded = try load(#"\#(unix), "\#(key)": [0, 4294967295]"#)
        #expect((key == "allowed_uids" ? loaded.allowedUIDs : loaded.allowedGIDs) == [0, 4_294_967_295])
        #expect(loaded.warnings == [])

        let empty = try loadError(#""\#(key)": []"#)
        #expect(empty.key == key)
        #expect(empty.message == "must list at least one id, or be null to allow any peer")
        let twice = try loadError(#"\#(unix), "\#(key)": [7, 7]"#)
        #expect(twice.key == key)
        #expect(twice.message == "7 is listed twice")
        for bad in ["[1.5]", "[1.0]", "[1e3]", "[-1]"] {
            let error = try loadError(#""\#(key)": \#(bad)"#)
            #expect(error.key == key, "\(bad)")
            #expect(error.message == ConfigurationFile.expectations[key], "\(bad)")
        }

        let tcpOnly = try load(#""\#(key)": [1000]"#)
        #expect(
            tcpOnly.warnings == ["\(key) has no effect: it applies only to unix: listeners, and none is configured"])
    }

    @Test(arguments: [
        ("max_request_line_bytes", 256, 1_048_576),
        ("max_header_bytes", 1024, 1_048_576),
        ("max_header_count", 1, 10000),
        ("max_connections", 1, 1_000_000),
    ])
    func integerLimitsKeepTheirRange(key: String, lowest: Int, highest: Int) throws {
        // max_header_bytes must be at least max_request_line_bytes; set the other one so both ends pass.
        let other =
            switch key {
            case "max_header_bytes": #""max_request_line_bytes": 256, "#
            case "max_request_line_bytes": #""max_header_bytes": 1048576, "#
            default: ""
            }
        for good in [lowest, highest] {
            #expect(throws: Never.self) { try load(#"\#(other)"\#(key)": \#(good)"#) }
        }
        let expected = "must be an integer from \(lowest) to \(highest)"
        for bad in ["\(lowest - 1)", "\(highest + 1)", "-1", "\(lowest).5", "\(lowest).0", "1e3", "\"\(lowest)\""] {
            let error = try loadError(#"\#(other)"\#(key)": \#(bad)"#)
            #expect(error.key == key, "\(bad)")
            #expect(error.message == expected, "\(bad)")
        }
        #expect(ConfigurationFile.expectations[key] == expected)
    }

    @Test func headerBytesCoverTheRequestLine() throws {
        #expect(throws: Never.self) {
            try load(#""max_request_line_bytes": 4096, "max_header_bytes": 4096"#)
        }
        let error = try loadError(#""max_request_line_bytes": 40000"#)
        #expect(error.key == "max_header_bytes")
        #expect(error.message == "must be at least max_request_line_bytes (40000)")
    }

    @Test func requestBodyBytesIsAnUnsignedInteger() throws {
        #expect(try load(#""max_request_body_bytes": 0"#).maxRequestBodyBytes == 0)
        #expect(try load(#""max_request_body_bytes": 1048576"#).maxRequestBodyBytes == 1_048_576)
        for bad in ["-1", "1.5", "1024.0", "1e6", "18446744073709551616", "\"1024\""] {
            let error = try loadError(#""max_request_body_bytes": \#(bad)"#)
            #expect(error.key == "max_request_body_bytes", "\(bad)")
            #expect(error.message == "must be an integer number of bytes, 0 or more (0 allows no body)", "\(bad)")
        }
    }

    @Test func integerRuleLeavesOtherNumbersAlone() throws {
        #expect(try load(#""token_wait_seconds": 1e1"#).tokenWaitSeconds == 10)
        #expect(try load(#""client_idle_timeout_seconds": 2.5"#).clientIdleTimeoutSeconds == 2.5)
    }

    @Test func renderedDisplayShowsTheNewSettings() throws {
        let text = try load(
            #""allowed_hosts": ["Localhost:1"], "allowed_uids": [1000], "max_request_body_bytes": 0"#
        ).renderedForDisplay()
        let shown = try JSONDecoder().decode(DisplayedClientPolicy.self, from: Data(text.utf8))
        #expect(
            shown
                == DisplayedClientPolicy(
                    allowed_hosts: ["localhost:1"], allowed_origins: [], allowed_uids: [1000], allowed_gids: nil,
                    max_request_line_bytes: 8192, max_header_bytes: 32768, max_header_count: 100,
                    max_request_body_bytes: 0, request_header_timeout_seconds: 10, client_idle_timeout_seconds: 60,
                    client_body_timeout_seconds: 60, max_connections: 1024))
        #expect(text.contains(#""allowed_gids" : null"#))
    }
}

/// The new keys as `renderedForDisplay()` shows them; `allowed_origins` is required so that a missing key fails.
private struct DisplayedClientPolicy: Decodable, Equatable {
    var allowed_hosts: [String]?
    var allowed_origins: [String]
    var allowed_uids: [UInt32]?
    var allowed_gids: [UInt32]?
    var max_request_line_bytes: Int
    var max_header_bytes: Int
    var max_header_count: Int
    var max_request_body_bytes: UInt64
    var request_header_timeout_seconds: Double
    var client_idle_timeout_seconds: Double
    var client_body_timeout_seconds: Double
    var max_connections: Int
}
