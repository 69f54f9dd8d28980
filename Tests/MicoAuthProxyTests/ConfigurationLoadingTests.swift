import Glibc
import Testing

@testable import MicoAuthProxy

@Suite("Configuration loading")
struct ConfigurationLoadingTests {
    @Test func defaultsWithoutConfigFile() throws {
        let configuration = try ProxyConfiguration.load(
            configPath: nil,
            environment: ["MICOVOICE_CLIENT_ID": "tool-id", "MICOVOICE_CLIENT_SECRET": configurationTestSecret])
        #expect(configuration.listen == [.tcp(host: "127.0.0.1", port: 8642)])
        #expect(configuration.allowNonLoopback == false)
        #expect(configuration.unixSocketMode == 0o660)
        #expect(configuration.upstream.description == "https://api.micovoice.com")
        #expect(configuration.tokenURL.description == "https://api.micovoice.com/oauth/token")
        #expect(configuration.clientID == "tool-id")
        #expect(configuration.clientSecret.value == configurationTestSecret)
        #expect(configuration.clientSecretSource == "environment MICOVOICE_CLIENT_SECRET")
        #expect(configuration.clientSecretFile == nil)
        #expect(configuration.scope == "campaigns:write campaigns:read outbound_calls:write outbound_calls:read")
        #expect(configuration.caFile == nil)
        #expect(configuration.refreshMarginSeconds == nil)
        #expect(configuration.tokenWaitSeconds == 10)
        #expect(configuration.upstreamConnectTimeoutSeconds == 10)
        #expect(configuration.upstreamResponseTimeoutSeconds == 60)
        #expect(configuration.allowedHosts == nil)
        #expect(configuration.allowedOrigins == [])
        #expect(configuration.allowedUIDs == nil)
        #expect(configuration.allowedGIDs == nil)
        #expect(configuration.maxRequestLineBytes == 8192)
        #expect(configuration.maxHeaderBytes == 32768)
        #expect(configuration.maxHeaderCount == 100)
        #expect(configuration.maxRequestBodyBytes == 67_108_864)
        #expect(configuration.requestHeaderTimeoutSeconds == 10)
        #expect(configuration.clientIdleTimeoutSeconds == 60)
        #expect(configuration.clientBodyTimeoutSeconds == 60)
        #expect(configuration.shutdownTimeoutSeconds == 30)
        #expect(configuration.maxConnections == 1024)
        #expect(configuration.replayBufferBytes == 1_048_576)
        #expect(configuration.egressProxy == nil)
        #expect(configuration.egressProxySource == "none")
        #expect(configuration.noProxy == [])
        #expect(configuration.logLevel == .info)
        #expect(configuration.logFormat == .logfmt)
        #expect(configuration.accessLog == true)
        #expect(configuration.accessLogQuery == false)
        #expect(configuration.warnings == [])
        #expect(configuration.secretFileIsShared == false)
    }

    @Test func emptyObjectGivesTheSameDefaultsAsCodeInit() throws {
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        let loaded = try loadTestConfiguration(#"{"client_id": "abc"}"#, in: directory)
        var expected = ProxyConfiguration(
            upstream: ProxyConfiguration.defaultUpstream, clientID: "abc", clientSecret: Secret(configurationTestSecret)
        )
        expected.clientSecretSource = "environment MICOVOICE_CLIENT_SECRET"
        #expect(loaded == expected)
    }

    @Test func everyKeyParsed() throws {
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        let secretPath = try directory.write("secret", "file-secret\n")
        let caPath = try directory.write("ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
        let json = """
            {
              "listen": ["127.0.0.2:0", "[::1]:9000", "localhost:65535", "0.0.0.0:8080", "unix:/run/mico/proxy.sock"],
              "allow_non_loopback": true,
              "unix_socket_mode": "0600",
              "upstream": "https://staging.micovoice.com:8443/",
              "token_url": "https://auth.micovoice.com/v2/token?audience=api",
              "client_id": "file-id",
              "client_secret_file": "\(secretPath)",
              "scope": "campaigns:read",
              "ca_file": "\(caPath)",
              "refresh_margin_seconds": 30.5,
              "token_wait_seconds": 2,
              "upstream_connect_timeout_seconds": 3,
              "upstream_response_timeout_seconds": 120,
              "allowed_hosts": ["LocalHost:8642", "[::1]", "proxy.internal"],
              "allowed_origins": ["http://localhost:3000", "https://app.example.com"],
              "allowed_uids": [0, 1000, 4294967295],
              "allowed_gids": [100],
              "max_request_line_bytes": 256,
              "max_header_bytes": 1048576,
              "max_header_count": 10000,
              "max_request_body_bytes": 18446744073709551615,
              "request_header_timeout_seconds": 0.5,
              "client_idle_timeout_seconds": 86400,
              "client_body_timeout_seconds": 7,
              "shutdown_timeout_seconds": 12.5,
              "max_connections": 1000000,
              "replay_buffer_bytes": 0,
              "egress_proxy": "http://proxy.corp.example:3128/",
              "no_proxy": ["Internal.Example", ".corp.example"],
              "log_level": "debug",
              "log_format": "json",
              "access_log": false,
              "access_log_query": true
            }
            """
        let configuration = try loadTestConfiguration(json, environment: [:], in: directory)
        #expect(
            configuration.listen == [
                .tcp(host: "127.0.0.2", port: 0), .tcp(host: "::1", port: 9000), .tcp(host: "localhost", port: 65535),
                .tcp(host: "0.0.0.0", port: 8080), .unix(path: "/run/mico/proxy.sock"),
            ])
        #expect(configuration.allowNonLoopback)
        #expect(configuration.unixSocketMode == 0o600)
        #expect(configuration.upstream == HTTPURL(scheme: "https", host: "staging.micovoice.com", port: 8443, path: ""))
        #expect(configuration.tokenURL.host == "auth.micovoice.com")
        #expect(configuration.tokenURL.path == "/v2/token?audience=api")
        #expect(configuration.clientID == "file-id")
        #expect(configuration.clientSecret == Secret("file-secret"))
        #expect(configuration.clientSecretSource == "client_secret_file \(secretPath)")
        #expect(configuration.clientSecretFile == secretPath)
        #expect(configuration.scope == "campaigns:read")
        #expect(configuration.caFile == caPath)
        #expect(configuration.refreshMarginSeconds == 30.5)
        #expect(configuration.tokenWaitSeconds == 2)
        #expect(configuration.upstreamConnectTimeoutSeconds == 3)
        #expect(configuration.upstreamResponseTimeoutSeconds == 120)
        #expect(configuration.allowedHosts == ["localhost:8642", "[::1]", "proxy.internal"])
        #expect(configuration.allowedOrigins == ["http://localhost:3000", "https://app.example.com"])
        #expect(configuration.allowedUIDs == [0, 1000, 4_294_967_295])
        #expect(configuration.allowedGIDs == [100])
        #expect(configuration.maxRequestLineBytes == 256)
        #expect(configuration.maxHeaderBytes == 1_048_576)
        #expect(configuration.maxHeaderCount == 10000)
        #expect(configuration.maxRequestBodyBytes == UInt64.max)
        #expect(configuration.requestHeaderTimeoutSeconds == 0.5)
        #expect(configuration.clientIdleTimeoutSeconds == 86400)
        #expect(configuration.clientBodyTimeoutSeconds == 7)
        #expect(configuration.shutdownTimeoutSeconds == 12.5)
        #expect(configuration.maxConnections == 1_000_000)
        #expect(configuration.replayBufferBytes == 0)
        #expect(configuration.egressProxy == EgressProxy(host: "proxy.corp.example", port: 3128))
        #expect(configuration.egressProxySource == "config key egress_proxy")
        #expect(configuration.noProxy == ["internal.example", ".corp.example"])
        #expect(configuration.logLevel == .debug)
        #expect(configuration.logFormat == .json)
        #expect(configuration.accessLog == false)
        #expect(configuration.accessLogQuery == true)
        #expect(
            configuration.warnings == [
                "listening on 0.0.0.0:8080, which is not loopback: anyone who can reach it can use the API credentials"
            ])
    }

    @Test func nullMeansDefault() throws {
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        let configuration = try loadTestConfiguration(
            #"{"client_id": "a", "listen": null, "token_wait_seconds": null, "log_level": null}"#, in: directory)
        #expect(configuration.listen == ProxyConfiguration.defaultListen)
        #expect(configuration.tokenWaitSeconds == 10)
        #expect(configuration.logLevel == .info)
    }

    @Test(arguments: LogLevelName.allCases)
    func everyLogLevelName(level: LogLevelName) throws {
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        let configuration = try loadTestConfiguration(
            #"{"client_id": "a", "log_level": "\#(level.rawValue)"}"#, in: directory)
        #expect(configuration.logLevel == level)
    }

    @Test func environmentOverridesClientID() throws {
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        let configuration = try loadTestConfiguration(
            #"{"client_id": "from-file"}"#,
            environment: ["MICOVOICE_CLIENT_ID": "from-env", "MICOVOICE_CLIENT_SECRET": configurationTestSecret],
            in: directory)
        #expect(configuration.clientID == "from-env")
        let emptyEnvironment = try loadTestConfiguration(
            #"{"client_id": "from-file"}"#,
            environment: ["MICOVOICE_CLIENT_ID": "", "MICOVOICE_CLIENT_SECRET": configurationTestSecret], in: directory)
        #expect(emptyEnvironment.clientID == "from-file")
    }

    @Test func badClientIDFromEnvironmentNamesTheVariable() throws {
        let error = try configurationLoadError(
            #"{"client_id": "ok"}"#, environment: ["MICOVOICE_CLIENT_ID": "has space", "MICOVOICE_CLIENT_SECRET": "x"])
        #expect(error?.key == nil)
        #expect(
            error?.description
                == "environment variable MICOVOICE_CLIENT_ID must not contain spaces or control characters")
    }

    @Test func missingClientID() throws {
        let error = try configurationLoadError("{}")
        #expect(error?.key == "client_id")
        #expect(error?.message == "is required (or set the environment variable MICOVOICE_CLIENT_ID)")
        #expect(error?.file?.hasSuffix("/config.json") == true)
        #expect(
            throws: ConfigurationError(
                key: "client_id", message: "is required (or set the environment variable MICOVOICE_CLIENT_ID)")
        ) {
            try ProxyConfiguration.load(configPath: nil, environment: ["MICOVOICE_CLIENT_SECRET": "x"])
        }
    }

    @Test func unknownKeyIsNamedWithSuggestion() throws {
        let error = try #require(try configurationLoadError(#"{"client_id": "a", "token_wait_secs": 3}"#))
        #expect(error.key == "token_wait_secs")
        #expect(error.message == #"unknown key; did you mean "token_wait_seconds"?"#)
        #expect(error.description.hasPrefix("/tmp/mico-config-tests."))
        #expect(
            error.description.hasSuffix(
                #"/config.json: config key "token_wait_secs": unknown key; did you mean "token_wait_seconds"?"#))

        let camel = try #require(try configurationLoadError(#"{"client_id": "a", "logLevel": "info"}"#))
        #expect(camel.message == #"unknown key; did you mean "log_level"?"#)

        let unrelated = try #require(try configurationLoadError(#"{"client_id": "a", "banana": 1}"#))
        #expect(unrelated.key == "banana")
        #expect(
            unrelated.message.hasPrefix("unknown key; known keys are access_log, access_log_query, allow_non_loopback,")
        )
    }

    @Test func secretInConfigFileIsRefusedWithoutEchoingIt() throws {
        let error = try #require(
            try configurationLoadError(#"{"client_id": "a", "client_secret": "\#(configurationTestSecret)"}"#))
        #expect(error.key == "client_secret")
        #expect(error.message.contains("client_secret_file"))
        #expect(!error.description.contains(configurationTestSecret))
    }

    @Test(arguments: [
        (#""listen": "127.0.0.1:1""#, "listen"),
        (#""listen": [8642]"#, "listen"),
        (#""allow_non_loopback": "yes""#, "allow_non_loopback"),
        (#""allow_non_loopback": 1"#, "allow_non_loopback"),
        (#""unix_socket_mode": 660"#, "unix_socket_mode"),
        (#""upstream": ["https://x"]"#, "upstream"),
        (#""token_url": {}"#, "token_url"),
        (#""client_id": 42"#, "client_id"),
        (#""client_secret_file": true"#, "client_secret_file"),
        (#""scope": ["a", "b"]"#, "scope"),
        (#""ca_file": 1"#, "ca_file"),
        (#""refresh_margin_seconds": "30""#, "refresh_margin_seconds"),
        (#""token_wait_seconds": "10""#, "token_wait_seconds"),
        (#""upstream_connect_timeout_seconds": true"#, "upstream_connect_timeout_seconds"),
        (#""upstream_response_timeout_seconds": [60]"#, "upstream_response_timeout_seconds"),
        (#""allowed_hosts": "localhost""#, "allowed_hosts"),
        (#""allowed_hosts": [8642]"#, "allowed_hosts"),
        (#""allowed_origins": "http://localhost:3000""#, "allowed_origins"),
        (#""allowed_uids": [-1]"#, "allowed_uids"),
        (#""allowed_uids": [4294967296]"#, "allowed_uids"),
        (#""allowed_gids": ["100"]"#, "allowed_gids"),
        (#""allowed_gids": 100"#, "allowed_gids"),
        (#""max_request_line_bytes": "8192""#, "max_request_line_bytes"),
        (#""max_header_bytes": 32768.5"#, "max_header_bytes"),
        (#""max_header_count": true"#, "max_header_count"),
        (#""max_request_body_bytes": -1"#, "max_request_body_bytes"),
        (#""max_request_body_bytes": 18446744073709551616"#, "max_request_body_bytes"),
        (#""request_header_timeout_seconds": "10""#, "request_header_timeout_seconds"),
        (#""client_idle_timeout_seconds": {}"#, "client_idle_timeout_seconds"),
        (#""client_body_timeout_seconds": false"#, "client_body_timeout_seconds"),
        (#""shutdown_timeout_seconds": "30""#, "shutdown_timeout_seconds"),
        (#""max_connections": 1024.0"#, "max_connections"),
        (#""replay_buffer_bytes": "1024""#, "replay_buffer_bytes"),
        (#""egress_proxy": ["http://proxy:3128"]"#, "egress_proxy"),
        (#""no_proxy": "localhost,example.com""#, "no_proxy"),
        (#""log_level": 3"#, "log_level"),
        (#""log_format": ["json"]"#, "log_format"),
        (#""access_log": "true""#, "access_log"),
        (#""access_log_query": 1"#, "access_log_query"),
    ])
    func wrongJSONTypeNamesTheKey(member: String, key: String) throws {
        let error = try #require(
            try configurationLoadError(
                "{\(member)}", environment: ["MICOVOICE_CLIENT_ID": "a", "MICOVOICE_CLIENT_SECRET": "s"]))
        #expect(error.key == key)
        #expect(error.message == ConfigurationFile.expectations[key])
        #expect(error.file != nil)
    }

    @Test(arguments: [
        "refresh_margin_seconds", "token_wait_seconds", "upstream_connect_timeout_seconds",
        "upstream_response_timeout_seconds", "request_header_timeout_seconds", "client_idle_timeout_seconds",
        "client_body_timeout_seconds", "shutdown_timeout_seconds",
    ])
    func badNumbers(key: String) throws {
        for value in ["0", "-1", "-0.5", "1e999"] {
            let error = try #require(
                try configurationLoadError(#"{"client_id": "a", "\#(key)": \#(value)}"#), "\(value)")
            #expect(error.key == key)
            #expect(error.message == "must be a positive number", "\(value)")
        }
        let tooLarge = try #require(try configurationLoadError(#"{"client_id": "a", "\#(key)": 86401}"#))
        #expect(tooLarge.message == "must be at most 86400 seconds")
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        #expect(throws: Never.self) {
            try loadTestConfiguration(#"{"client_id": "a", "\#(key)": 0.001}"#, in: directory)
        }
    }

    @Test func badLogFormat() throws {
        for bad in ["text", "JSON", ""] {
            let error = try configurationLoadError(#"{"client_id": "a", "log_format": "\#(bad)"}"#)
            #expect(error?.key == "log_format", "\(bad)")
            #expect(error?.message == #"must be "logfmt" or "json""#, "\(bad)")
        }
    }

    @Test func nullLogSettingsMeanTheDefaults() throws {
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        let configuration = try loadTestConfiguration(
            #"{"client_id": "a", "log_format": null, "access_log": null, "access_log_query": null}"#, in: directory)
        #expect(configuration.logFormat == .logfmt)
        #expect(configuration.accessLog)
        #expect(!configuration.accessLogQuery)
    }

    @Test func badLogLevel() throws {
        let error = try configurationLoadError(#"{"client_id": "a", "log_level": "verbose"}"#)
        #expect(error?.key == "log_level")
        #expect(error?.message == "must be one of trace, debug, info, notice, warning, error, critical")
    }

    @Test(arguments: [
        (#"{"client_id": "a",,}"#, #"line 1, column 19: expected a key in double quotes"#),
        ("", "line 1, column 1: unexpected end of file"),
        ("{\n  \"client_id\": \"a\"\n  \"scope\": \"\"\n}", #"line 3, column 3: expected "," or "}""#),
        (
            #"{"client_id": 'a'}"#,
            "line 1, column 15: expected a value (string, number, object, array, true, false or null)"
        ),
        (#"{"token_wait_seconds": 010}"#, "line 1, column 24: numbers must not have leading zeros"),
        (#"{"client_id": "a"} x"#, "line 1, column 20: unexpected text after the end of the JSON value"),
        (#"{"client_id": "a\qb"}"#, "line 1, column 18: invalid escape in a string"),
        (#"{"client_id": "a"#, "line 1, column 17: unterminated string"),
    ])
    func invalidJSONNamesTheFileLineAndColumn(json: String, where location: String) throws {
        let error = try #require(try configurationLoadError(json))
        #expect(error.key == nil)
        #expect(error.file?.hasSuffix("/config.json") == true)
        #expect(error.message == "is not valid JSON: \(location)")
    }

    @Test func topLevelMustBeAnObject() throws {
        let array = try #require(try configurationLoadError(#"["client_id"]"#))
        #expect(array.message == #"must hold a JSON object ({ "key": value, ... })"#)
    }

    @Test func duplicateKeyRefused() throws {
        let error = try #require(try configurationLoadError(#"{"client_id": "a", "scope": "x", "client_id": "b"}"#))
        #expect(error.key == "client_id")
        #expect(error.message == "appears more than once")
        let nested = try configurationLoadError(#"{"client_id": "a", "listen": ["127.0.0.1:1", "127.0.0.1:2"]}"#)
        #expect(nested == nil)
    }

    @Test func byteOrderMarkAccepted() throws {
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        let configuration = try loadTestConfiguration("\u{FEFF}{\"client_id\": \"bom\"}", in: directory)
        #expect(configuration.clientID == "bom")
    }

    @Test func unreadableConfigFile() throws {
        #expect(
            throws: ConfigurationError(
                key: nil, message: "cannot read config file: No such file or directory", file: "/nonexistent/mico.json")
        ) {
            try ProxyConfiguration.load(configPath: "/nonexistent/mico.json", environment: [:])
        }
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        #expect(
            throws: ConfigurationError(
                key: nil, message: "cannot read config file: Is a directory", file: directory.path)
        ) {
            try ProxyConfiguration.load(configPath: directory.path, environment: [:])
        }
    }

    @Test func emptyAndDuplicateListenRefused() throws {
        let empty = try configurationLoadError(#"{"client_id": "a", "listen": []}"#)
        #expect(empty?.key == "listen")
        #expect(empty?.message == "must list at least one address")
        let duplicate = try configurationLoadError(#"{"client_id": "a", "listen": ["127.0.0.1:1", "127.0.0.1:1"]}"#)
        #expect(duplicate?.message == #""127.0.0.1:1" is listed twice"#)
    }

    @Test func badListenEntryNamesKeyAndEntry() throws {
        let error = try configurationLoadError(#"{"client_id": "a", "listen": ["127.0.0.1:8642", "127.0.0.1"]}"#)
        #expect(error?.key == "listen")
        #expect(error?.message == #""127.0.0.1": missing ":PORT", e.g. 127.0.0.1:8642"#)
    }

    @Test(arguments: ["0.0.0.0:8642", "[::]:8642", "192.168.1.10:80", "proxy.example.com:8642", "[2001:db8::1]:1"])
    func nonLoopbackRefusedUnlessAllowed(entry: String) throws {
        let refused = try #require(try configurationLoadError(#"{"client_id": "a", "listen": ["\#(entry)"]}"#))
        #expect(refused.key == "listen")
        #expect(refused.message.hasPrefix("\"\(entry)\" is not a loopback address"))
        #expect(refused.message.hasSuffix(#"Set "allow_non_loopback": true to allow it"#))

        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        let allowed = try loadTestConfiguration(
            #"{"client_id": "a", "listen": ["\#(entry)"], "allow_non_loopback": true}"#, in: directory)
        #expect(allowed.listen.count == 1)
        #expect(allowed.warnings.count == 1)
        #expect(allowed.warnings.first?.contains("not loopback") == true)
    }

    @Test(arguments: [
        ("0660", UInt32(0o660)), ("600", 0o600), ("0777", 0o777), ("000", 0), ("0700", 0o700),
    ])
    func unixSocketModeParsed(text: String, mode: UInt32) throws {
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        let configuration = try loadTestConfiguration(
            #"{"client_id": "a", "unix_socket_mode": "\#(text)"}"#, in: directory)
        #expect(configuration.unixSocketMode == mode)
    }

    @Test(arguments: ["0800", "1777", "66", "07777", "rw-", "", "0o660", " 660"])
    func badUnixSocketMode(text: String) throws {
        let error = try configurationLoadError(#"{"client_id": "a", "unix_socket_mode": "\#(text)"}"#)
        #expect(error?.key == "unix_socket_mode")
        #expect(error?.message == #"must be 3 or 4 octal digits no greater than 0777, e.g. "0660""#)
    }

    @Test func worldWritableUnixSocketWarns() throws {
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        let configuration = try loadTestConfiguration(
            #"{"client_id": "a", "listen": ["unix:/run/m.sock"], "unix_socket_mode": "0666"}"#, in: directory)
        #expect(
            configuration.warnings == [
                "unix_socket_mode 0666 lets every local user connect and use the API credentials"
            ])
    }

    @Test func httpUpstreamRefusedForNonLoopback() throws {
        let error = try configurationLoadError(#"{"client_id": "a", "upstream": "http://api.micovoice.com"}"#)
        #expect(error?.key == "upstream")
        #expect(
            error?.message == "must use https; http is allowed only for a loopback host (127.0.0.1, [::1], localhost)")
        let token = try configurationLoadError(#"{"client_id": "a", "token_url": "http://10.0.0.1/oauth/token"}"#)
        #expect(token?.key == "token_url")
    }

    @Test(arguments: [
        ("http://127.0.0.1:9000", "127.0.0.1:9000"), ("http://localhost:9000/", "localhost:9000"),
        ("http://[::1]:9000", "[::1]:9000"), ("http://127.8.9.10", "127.8.9.10"),
    ])
    func httpUpstreamAllowedForLoopback(text: String, authority: String) throws {
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        let configuration = try loadTestConfiguration(#"{"client_id": "a", "upstream": "\#(text)"}"#, in: directory)
        #expect(configuration.upstream.isTLS == false)
        #expect(configuration.upstream.authority == authority)
        #expect(configuration.upstream.path == "")
        #expect(configuration.tokenURL.description == "http://\(authority)/oauth/token")
    }

    @Test(arguments: ["https://api.micovoice.com/v1", "https://api.micovoice.com?x=1", "https://api.micovoice.com/v1/"])
    func upstreamWithPathOrQueryRefused(text: String) throws {
        let error = try configurationLoadError(#"{"client_id": "a", "upstream": "\#(text)"}"#)
        #expect(error?.key == "upstream")
        #expect(error?.message == "must be scheme://host[:port] without a path or query")
    }

    @Test(arguments: ["https://api.micovoice.com", "https://api.micovoice.com/"])
    func tokenURLWithoutPathRefused(text: String) throws {
        let error = try configurationLoadError(#"{"client_id": "a", "token_url": "\#(text)"}"#)
        #expect(error?.key == "token_url")
        #expect(error?.message == "must include the endpoint's path, e.g. https://api.micovoice.com/oauth/token")
    }

    @Test func scopeMayBeEmptyButNotMalformed() throws {
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        let empty = try loadTestConfiguration(#"{"client_id": "a", "scope": ""}"#, in: directory)
        #expect(empty.scope == "")
        for bad in [#"a  b"#, #" a"#, #"a\"b"#, #"a\\b"#, "a\\tb"] {
            let error = try configurationLoadError(#"{"client_id": "a", "scope": "\#(bad)"}"#)
            #expect(error?.key == "scope", "\(bad)")
        }
    }

    @Test func caFileMustExistAndHoldPEM() throws {
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        let missing = try configurationLoadError(#"{"client_id": "a", "ca_file": "/nonexistent/ca.pem"}"#)
        #expect(missing?.key == "ca_file")
        #expect(missing?.message == "cannot read /nonexistent/ca.pem: No such file or directory")
        let notPEM = try directory.write("ca.txt", "hello")
        let error = try configurationLoadError(#"{"client_id": "a", "ca_file": "\#(notPEM)"}"#)
        #expect(error?.message == "\(notPEM) holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    }

    @Test func relativePathsResolveAgainstTheConfigDirectory() throws {
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        try directory.write("secret.txt", "relative-secret")
        try directory.write("ca.pem", "-----BEGIN CERTIFICATE-----\n")
        let configuration = try loadTestConfiguration(
            #"{"client_id": "a", "client_secret_file": "secret.txt", "ca_file": "ca.pem"}"#, environment: [:],
            in: directory)
        #expect(configuration.clientSecretFile == directory.path + "/secret.txt")
        #expect(configuration.caFile == directory.path + "/ca.pem")
        #expect(configuration.clientSecret == Secret("relative-secret"))
    }

    @Test func injectedFileReader() throws {
        let reader = inMemoryConfigurationReader([
            "/etc/mico.json": (#"{"client_id": "mem", "client_secret_file": "/etc/mico.secret"}"#, 0o644),
            "/etc/mico.secret": ("memory-secret\n", 0o600),
        ])
        let configuration = try ProxyConfiguration.load(
            configPath: "/etc/mico.json", environment: [:], fileReader: reader)
        #expect(configuration.clientID == "mem")
        #expect(configuration.clientSecret == Secret("memory-secret"))
        #expect(configuration.clientSecretSource == "client_secret_file /etc/mico.secret")
    }

    @Test func codeInitDefaultsValidate() throws {
        let upstream = try HTTPURL.parse("http://127.0.0.1:4000", key: "upstream")
        let configuration = ProxyConfiguration(upstream: upstream, clientID: "id", clientSecret: Secret("s"))
        #expect(configuration.tokenURL.description == "http://127.0.0.1:4000/oauth/token")
        #expect(throws: Never.self) { try configuration.validate() }
        var broken = configuration
        broken.tokenWaitSeconds = .nan
        #expect(throws: ConfigurationError(key: "token_wait_seconds", message: "must be a positive number")) {
            try broken.validate()
        }
        broken = configuration
        broken.clientSecret = Secret("")
        #expect(throws: ConfigurationError(key: nil, message: "the client secret is empty")) { try broken.validate() }
        broken = configuration
        broken.upstream = HTTPURL(scheme: "http", host: "example.com")
        #expect(throws: ConfigurationError.self) { try broken.validate() }
    }
}
