import FoundationEssentials
import Testing

@testable import MicoAuthProxy

@Suite("Configuration of the egress proxy, no_proxy and the replay buffer")
struct ConfigurationEgressTests {
    private static let secretOnly = ["MICOVOICE_CLIENT_SECRET": configurationTestSecret]

    /// Loads `{"client_id": "a", MEMBERS}` with `environment` plus the client secret.
    private func load(_ members: String = "", environment: [String: String] = [:]) throws -> ProxyConfiguration {
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        let comma = members.isEmpty ? "" : ", "
        return try loadTestConfiguration(
            #"{"client_id": "a"\#(comma)\#(members)}"#,
            environment: environment.merging(Self.secretOnly) { _, secret in secret }, in: directory)
    }

    /// The error from loading `{"client_id": "a", MEMBERS}` with `environment` plus the client secret.
    private func loadError(_ members: String = "", environment: [String: String] = [:]) throws -> ConfigurationError {
        let comma = members.isEmpty ? "" : ", "
        return try #require(
            try configurationLoadError(
                #"{"client_id": "a"\#(comma)\#(members)}"#,
                environment: environment.merging(Self.secretOnly) { _, secret in secret }),
            "\(members) \(environment) loaded")
    }

    /// A configuration in code with `proxy` and `noProxy`.
    private func configuration(
        _ proxy: EgressProxy?, noProxy: [String], source: String = "environment https_proxy"
    ) -> ProxyConfiguration {
        ProxyConfiguration(
            upstream: ProxyConfiguration.defaultUpstream, clientID: "id", clientSecret: Secret("s"),
            egressProxy: proxy, egressProxySource: proxy == nil ? nil : source, noProxy: noProxy)
    }

    // MARK: defaults and the environment

    @Test func defaultsWithoutEnvironment() throws {
        let loaded = try load()
        #expect(loaded.replayBufferBytes == 1_048_576)
        #expect(loaded.egressProxy == nil)
        #expect(loaded.egressProxySource == "none")
        #expect(loaded.noProxy == [])
        #expect(loaded.egressProxy(for: "api.micovoice.com") == nil)

        let code = configuration(nil, noProxy: [])
        #expect(code.replayBufferBytes == ProxyConfiguration.defaultReplayBufferBytes)
        #expect(code.egressProxySource == "none")
        let withProxy = ProxyConfiguration(
            upstream: ProxyConfiguration.defaultUpstream, clientID: "id", clientSecret: Secret("s"),
            egressProxy: EgressProxy(host: "p", port: 1), noProxy: ["A.Example"])
        #expect(withProxy.egressProxySource == "code")
        #expect(withProxy.noProxy == ["a.example"])
    }

    @Test func defaultsComeFromTheEnvironment() throws {
        let loaded = try load(
            environment: [
                "https_proxy": "http://proxy.corp.example:3128", "no_proxy": " Internal.Example , ,.corp,10.0.0.1,",
            ])
        #expect(loaded.egressProxy == EgressProxy(host: "proxy.corp.example", port: 3128))
        #expect(loaded.egressProxySource == "environment https_proxy")
        #expect(loaded.noProxy == ["internal.example", ".corp", "10.0.0.1"])

        let nulls = try load(
            #""egress_proxy": null, "no_proxy": null"#,
            environment: ["HTTPS_PROXY": "http://upper:8080", "NO_PROXY": "upper.example"])
        #expect(nulls.egressProxy == EgressProxy(host: "upper", port: 8080))
        #expect(nulls.egressProxySource == "environment HTTPS_PROXY")
        #expect(nulls.noProxy == ["upper.example"])
    }

    @Test func lowerCaseVariablesWinAndEmptyOnesCountAsUnset() throws {
        let both = try load(environment: [
            "https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:2", "no_proxy": "lower.example",
            "NO_PROXY": "upper.example",
        ])
        #expect(both.egressProxy?.authority == "lower:1")
        #expect(both.egressProxySource == "environment https_proxy")
        #expect(both.noProxy == ["lower.example"])

        let emptyLower = try load(environment: [
            "https_proxy": "", "HTTPS_PROXY": "http://upper:2", "no_proxy": "", "NO_PROXY": "upper.example",
        ])
        #expect(emptyLower.egressProxy?.authority == "upper:2")
        #expect(emptyLower.egressProxySource == "environment HTTPS_PROXY")
        #expect(emptyLower.noProxy == ["upper.example"])

        let allEmpty = try load(environment: ["https_proxy": "", "HTTPS_PROXY": "", "no_proxy": "", "NO_PROXY": ""])
        #expect(allEmpty.egressProxy == nil)
        #expect(allEmpty.egressProxySource == "none")
        #expect(allEmpty.noProxy == [])

        // Only https_proxy counts: the upstream and the token endpoint are https.
        let httpOnly = try load(environment: ["http_proxy": "http://plain:1", "ALL_PROXY": "http://all:1"])
        #expect(httpOnly.egressProxy == nil)
    }

    @Test func configKeysOverrideTheEnvironment() throws {
        let environment = ["https_proxy": "http://env:1", "no_proxy": "env.example"]
        let set = try load(
            #""egress_proxy": "http://Config.Example:8080", "no_proxy": ["Config.Example"]"#, environment: environment)
        #expect(set.egressProxy == EgressProxy(host: "config.example", port: 8080))
        #expect(set.egressProxySource == "config key egress_proxy")
        #expect(set.noProxy == ["config.example"])

        let cleared = try load(#""egress_proxy": "", "no_proxy": []"#, environment: environment)
        #expect(cleared.egressProxy == nil)
        #expect(cleared.egressProxySource == "config key egress_proxy")
        #expect(cleared.noProxy == [])
        #expect(cleared.egressProxy(for: "api.micovoice.com") == nil)

        // A bad variable is not read when the key is set.
        let overridden = try load(
            #""egress_proxy": "http://config:1""#, environment: ["https_proxy": "https://bad.example"])
        #expect(overridden.egressProxy?.authority == "config:1")
    }

    // MARK: parsing the proxy URL

    @Test(arguments: [
        ("http://proxy:3128", "proxy", 3128, "proxy:3128"),
        ("HTTP://Proxy.Example.COM:3128/", "proxy.example.com", 3128, "proxy.example.com:3128"),
        ("http://proxy.example.com", "proxy.example.com", 80, "proxy.example.com:80"),
        ("http://10.1.2.3:8080", "10.1.2.3", 8080, "10.1.2.3:8080"),
        ("http://[2001:DB8::1]:3128", "2001:db8::1", 3128, "[2001:db8::1]:3128"),
        ("http://[::1]", "::1", 80, "[::1]:80"),
    ])
    func proxyURLsParse(text: String, host: String, port: Int, authority: String) throws {
        let proxy = try EgressProxy.parse(text, key: "egress_proxy")
        #expect(proxy.host == host)
        #expect(Int(proxy.port) == port)
        #expect(proxy.authority == authority)
        #expect(proxy.proxyAuthorization == nil)
        #expect(proxy.description == "http://\(authority)")
    }

    @Test func userInfoBecomesABasicProxyAuthorization() throws {
        // RFC 7617 §2's example.
        let aladdin = try EgressProxy.parse("http://Aladdin:open%20sesame@proxy:3128", key: "egress_proxy")
        #expect(aladdin.proxyAuthorization?.value == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        #expect(aladdin.proxyAuthorization == EgressProxy.basicAuthorization(user: "Aladdin", password: "open sesame"))
        #expect(aladdin.authority == "proxy:3128")

        let cases = [
            // Percent-decoding, including the characters that must be encoded in user information.
            ("http://us%40er:p%3aa%2Fss@proxy:1", "Basic dXNAZXI6cDphL3Nz"),
            // UTF-8 once decoded (RFC 7617 §2.1), and an encoded space.
            ("http://jos%C3%A9:p%20w@proxy:1", "Basic am9zw6k6cCB3"),
            // A user without a password, and a password without a user.
            ("http://bob@proxy:1", "Basic Ym9iOg=="),
            ("http://:only@proxy:1", "Basic Om9ubHk="),
            // An unencoded "@" in the password: the last "@" ends the user information.
            ("http://us:p@ss@proxy:1", "Basic " + Data("us:p@ss".utf8).base64EncodedString()),
        ]
        for (text, expected) in cases {
            let proxy = try EgressProxy.parse(text, key: "egress_proxy")
            #expect(proxy.proxyAuthorization?.value == expected, "\(text)")
            #expect(proxy.authority == "proxy:1", "\(text)")
        }
        #expect(try EgressProxy.parse("http://@proxy:1", key: "egress_proxy").proxyAuthorization == nil)
    }

    @Test func credentialsNeverPrint() throws {
        let proxy = try EgressProxy.parse("http://Aladdin:open%20sesame@proxy:3128", key: "egress_proxy")
        var dumped = ""
        dump(proxy, to: &dumped)
        var dumpedConfiguration = ""
        dump(configuration(proxy, noProxy: []), to: &dumpedConfiguration)
        let printed = [
            proxy.description, proxy.debugDescription, "\(proxy)", String(reflecting: proxy), dumped,
            "\(configuration(proxy, noProxy: []))", dumpedConfiguration,
        ]
        for text in printed {
            for secret in ["Aladdin", "open", "sesame", "QWxhZGRpbjpvcGVuIHNlc2FtZQ", "Basic"] {
                #expect(!text.contains(secret), "\(secret) in \(text)")
            }
        }
        #expect(proxy.description == "http://********@proxy:3128")
        #expect(proxy.debugDescription == "http://********@proxy:3128")
    }

    @Test func httpsProxiesAreRefused() throws {
        let error = try loadError(#""egress_proxy": "https://proxy.example.com:443""#)
        #expect(error.key == "egress_proxy")
        #expect(error.file?.hasSuffix("/config.json") == true)
        #expect(
            error.message
                == "https proxies are not supported; use http://host:port: the CONNECT tunnel through the proxy"
                + " still carries TLS to the upstream")
    }

    @Test(arguments: [
        ("proxy.example.com:3128", "must be a URL such as http://proxy.example.com:3128"),
        ("socks5://proxy:1080", "the scheme must be http, as in http://proxy.example.com:3128"),
        ("http://proxy:3128/path", "must not have a path, query or fragment: write http://host:port"),
        ("http://proxy:3128?x=1", "must not have a path, query or fragment: write http://host:port"),
        ("http://proxy:3128#top", "must not have a path, query or fragment: write http://host:port"),
        (
            "http://user:pa/ss@proxy:3128",
            ##"a user name or password must percent-encode "/", "?", "#" and "@" (e.g. %2F for "/")"##
        ),
        ("http://user:pa ss@proxy:3128", "must not contain spaces or control characters"),
        ("http://", "has no host"),
        ("http://user:secret@", "has no host"),
        ("http://proxy:0", "the port must be a number from 1 to 65535"),
        ("http://proxy:65536", "the port must be a number from 1 to 65535"),
        ("http://proxy:", "the port must be a number from 1 to 65535"),
        ("http://::1:3128", "an IPv6 address needs brackets, e.g. http://[::1]:3128"),
        ("http://300.1.1.1:3128", "300.1.1.1 is not a valid IPv4 address"),
        ("http://us%zzer:secret@proxy:1", #"the user name has a "%" that is not followed by two hex digits"#),
        ("http://user:secret%4@proxy:1", #"the password has a "%" that is not followed by two hex digits"#),
        ("http://user:secret%+1@proxy:1", #"the password has a "%" that is not followed by two hex digits"#),
        ("http://user:secret%FF@proxy:1", "the password is not valid UTF-8 once percent-decoded"),
        ("http://user:secret%0A@proxy:1", "the password must not contain control characters, even percent-encoded"),
        ("http://us%3Aer:secret@proxy:1", #"the user name must not contain ":" (%3A)"#),
    ])
    func badProxyURLsNameTheKeyAndNeverQuoteIt(text: String, why: String) throws {
        let error = try loadError(#""egress_proxy": "\#(text)""#)
        #expect(error.key == "egress_proxy")
        #expect(error.message == why)
        #expect(error.file?.hasSuffix("/config.json") == true)
        #expect(!error.description.contains("secret"))
    }

    @Test func badEnvironmentProxyNamesTheVariableAndTheKey() throws {
        let error = try loadError(environment: ["HTTPS_PROXY": "https://user:secret@proxy:443"])
        #expect(error.key == nil)
        #expect(error.file == nil)
        #expect(
            error.message
                == #"environment variable HTTPS_PROXY (the default for config key "egress_proxy"): https proxies are"#
                + " not supported; use http://host:port: the CONNECT tunnel through the proxy still carries TLS to"
                + #" the upstream; set "egress_proxy" in the config file to override it"#)
        #expect(!error.description.contains("secret"))
    }

    @Test func codeBuiltValuesAreValidated() {
        #expect(
            throws: ConfigurationError(
                key: "egress_proxy", message: #""bad host" is not a valid host name or IP address"#)
        ) {
            try configuration(EgressProxy(host: "bad host", port: 1), noProxy: []).validate()
        }
        #expect(throws: ConfigurationError(key: "egress_proxy", message: "the port must be a number from 1 to 65535")) {
            try configuration(EgressProxy(host: "proxy", port: 0), noProxy: []).validate()
        }
        #expect(throws: ConfigurationError(key: "no_proxy", message: "has an empty entry")) {
            try configuration(nil, noProxy: ["a", ""]).validate()
        }
        #expect(throws: Never.self) {
            try configuration(EgressProxy(host: "::1", port: 3128), noProxy: ["*", ".a.example:443", "10.0.0.0/8"])
                .validate()
        }
    }

    @Test func badNoProxyEntriesNameTheSource() throws {
        let message = #""a b": must be one host, domain or IP address, without spaces, control characters or ",""#
        let fromFile = try loadError(#""no_proxy": ["ok.example", "a b"]"#)
        #expect(fromFile.key == "no_proxy")
        #expect(fromFile.message == message)
        #expect(fromFile.file?.hasSuffix("/config.json") == true)
        #expect(try loadError(#""no_proxy": ["a,b"]"#).key == "no_proxy")
        #expect(try loadError(#""no_proxy": [""]"#).message == "has an empty entry")

        let fromEnvironment = try loadError(environment: ["NO_PROXY": "ok.example, a b"])
        #expect(fromEnvironment.key == nil)
        #expect(
            fromEnvironment.message == #"environment variable NO_PROXY (the default for config key "no_proxy"): "#
                + message)
    }

    // MARK: choosing the proxy for a host

    @Test(arguments: [
        // (no_proxy, host, goes through the proxy)
        ([], "api.micovoice.com", true),
        (["*"], "api.micovoice.com", false),
        (["*"], "10.1.2.3", false),
        (["example.com"], "example.com", false),
        (["example.com"], "api.example.com", false),
        (["example.com"], "API.Example.COM", false),
        (["example.com"], "api.example.com.", false),
        (["example.com"], "notexample.com", true),
        (["example.com"], "example.com.evil.org", true),
        (["example.com"], "example.org", true),
        ([".example.com"], "example.com", false),
        ([".example.com"], "deep.api.example.com", false),
        ([".example.com"], "badexample.com", true),
        (["*.example.com"], "api.example.com", false),
        (["Example.COM"], "api.example.com", false),
        (["example.com."], "api.example.com", false),
        (["example.com:443"], "api.example.com", false),
        (["example.com:443"], "example.com", false),
        (["other.org", "example.com"], "api.example.com", false),
        (["10.1.2.3"], "10.1.2.3", false),
        (["10.1.2.3"], "10.1.2.30", true),
        (["10.1.2.3"], "110.1.2.3", true),
        (["1.2.3"], "10.1.2.3", true),
        (["10.1.2.3:8080"], "10.1.2.3", false),
        (["10.0.0.0/8"], "10.200.3.4", false),
        (["10.0.0.0/8"], "11.0.0.1", true),
        (["10.0.0.0/8"], "ten.example", true),
        (["2001:db8::1"], "2001:db8::1", false),
        (["2001:db8::1"], "2001:DB8:0::1", false),
        (["2001:db8::1"], "[2001:db8::1]", false),
        (["[2001:db8::1]:443"], "2001:db8::1", false),
        (["2001:db8::1"], "2001:db8::2", true),
        (["2001:db8::/32"], "2001:db8:ffff::5", false),
        (["2001:db8::/32"], "2001:db9::5", true),
        // Loopback never goes through a proxy inherited from the environment, whatever no_proxy says.
        ([], "localhost", false),
        ([], "LOCALHOST", false),
        ([], "127.0.0.1", false),
        ([], "127.8.9.10", false),
        ([], "::1", false),
        ([], "[::1]", false),
        (["example.com"], "128.0.0.1", true),
    ])
    func noProxyMatching(noProxy: [String], host: String, proxied: Bool) {
        let proxy = EgressProxy(host: "proxy.corp.example", port: 3128)
        let chosen = configuration(proxy, noProxy: noProxy).egressProxy(for: host)
        #expect(chosen == (proxied ? proxy : nil), "no_proxy \(noProxy), host \(host)")
    }

    @Test func configuredProxyAppliesToLoopbackToo() {
        let proxy = EgressProxy(host: "proxy.corp.example", port: 3128)
        let configured = configuration(proxy, noProxy: [], source: "config key egress_proxy")
        #expect(configured.egressProxy(for: "localhost") == proxy)
        #expect(configured.egressProxy(for: "127.0.0.1") == proxy)
        let excluded = configuration(proxy, noProxy: ["localhost"], source: "config key egress_proxy")
        #expect(excluded.egressProxy(for: "localhost") == nil)
    }

    @Test func noEgressProxyMeansDirectForEveryHost() {
        #expect(configuration(nil, noProxy: []).egressProxy(for: "api.micovoice.com") == nil)
    }

    // MARK: display and the replay buffer

    @Test func displayShowsTheProxyWithoutItsCredentials() throws {
        let loaded = try load(
            #""egress_proxy": "http://Aladdin:open%20sesame@proxy.corp.example:3128", "no_proxy": [".Internal"]"#)
        let text = loaded.renderedForDisplay()
        for secret in ["Aladdin", "open", "sesame", "QWxhZGRpbjpvcGVuIHNlc2FtZQ", "Basic"] {
            #expect(!text.contains(secret), "\(secret)")
        }
        let shown = try JSONDecoder().decode(DisplayedEgress.self, from: Data(text.utf8))
        #expect(
            shown
                == DisplayedEgress(
                    egress_proxy: "http://********@proxy.corp.example:3128",
                    egress_proxy_source: "config key egress_proxy", no_proxy: [".internal"],
                    replay_buffer_bytes: 1_048_576))

        let none = try JSONDecoder().decode(DisplayedEgress.self, from: Data(try load().renderedForDisplay().utf8))
        #expect(
            none
                == DisplayedEgress(
                    egress_proxy: nil, egress_proxy_source: "none", no_proxy: [], replay_buffer_bytes: 1_048_576))
    }

    @Test func replayBufferBytesKeepsItsRange() throws {
        #expect(try load(#""replay_buffer_bytes": 0"#).replayBufferBytes == 0)
        #expect(try load(#""replay_buffer_bytes": 67108864"#).replayBufferBytes == 67_108_864)
        #expect(try load(#""replay_buffer_bytes": null"#).replayBufferBytes == 1_048_576)
        let expected = "must be an integer from 0 to 67108864"
        #expect(ConfigurationFile.expectations["replay_buffer_bytes"] == expected)
        for bad in ["-1", "67108865", "1.5", "1024.0", "1e3", "\"1024\"", "true"] {
            let error = try loadError(#""replay_buffer_bytes": \#(bad)"#)
            #expect(error.key == "replay_buffer_bytes", "\(bad)")
            #expect(error.message == expected, "\(bad)")
        }
        var code = configuration(nil, noProxy: [])
        code.replayBufferBytes = -1
        #expect(throws: ConfigurationError(key: "replay_buffer_bytes", message: expected)) { try code.validate() }
    }
}

/// The new keys as `renderedForDisplay()` shows them; the non-optional ones fail the decoding when missing.
private struct DisplayedEgress: Decodable, Equatable {
    var egress_proxy: String?
    var egress_proxy_source: String
    var no_proxy: [String]
    var replay_buffer_bytes: Int
}
