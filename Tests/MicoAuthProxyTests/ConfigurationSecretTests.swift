import FoundationEssentials
import Glibc
import Testing

@testable import MicoAuthProxy

@Suite("Configuration secret")
struct ConfigurationSecretTests {
    @Test func sourceOrderCredentialsDirectoryThenEnvironmentThenFile() throws {
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        let credentials = try directory.makeDirectory("credentials")
        try directory.write("credentials/client_secret", "from-credentials\n")
        let secretFile = try directory.write("secret", "from-file")
        let json = #"{"client_id": "a", "client_secret_file": "\#(secretFile)"}"#

        let all = try loadTestConfiguration(
            json, environment: ["CREDENTIALS_DIRECTORY": credentials, "MICOVOICE_CLIENT_SECRET": "from-env"],
            in: directory)
        #expect(all.clientSecret == Secret("from-credentials"))
        #expect(all.clientSecretSource == "$CREDENTIALS_DIRECTORY/client_secret")
        #expect(
            all.warnings == [
                "the client secret comes from $CREDENTIALS_DIRECTORY/client_secret; ignoring environment variable"
                    + " MICOVOICE_CLIENT_SECRET and config key \"client_secret_file\" (\(secretFile))"
            ])

        let environmentAndFile = try loadTestConfiguration(
            json, environment: ["MICOVOICE_CLIENT_SECRET": "from-env"], in: directory)
        #expect(environmentAndFile.clientSecret == Secret("from-env"))
        #expect(environmentAndFile.clientSecretSource == "environment MICOVOICE_CLIENT_SECRET")

        let fileOnly = try loadTestConfiguration(json, environment: [:], in: directory)
        #expect(fileOnly.clientSecret == Secret("from-file"))
        #expect(fileOnly.clientSecretSource == "client_secret_file \(secretFile)")
        #expect(fileOnly.warnings == [])
    }

    @Test func credentialsDirectoryWithoutTheFileFallsThrough() throws {
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        let credentials = try directory.makeDirectory("credentials")
        let configuration = try loadTestConfiguration(
            #"{"client_id": "a"}"#,
            environment: ["CREDENTIALS_DIRECTORY": credentials, "MICOVOICE_CLIENT_SECRET": "env"],
            in: directory)
        #expect(configuration.clientSecret == Secret("env"))
    }

    @Test func credentialsFileUnreadableIsAnError() throws {
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        let credentials = try directory.makeDirectory("credentials")
        _ = try directory.makeDirectory("credentials/client_secret")
        let error = try configurationLoadError(
            #"{"client_id": "a"}"#,
            environment: ["CREDENTIALS_DIRECTORY": credentials, "MICOVOICE_CLIENT_SECRET": "env"])
        #expect(
            error?.message
                == "$CREDENTIALS_DIRECTORY/client_secret: cannot read \(credentials)/client_secret: Is a directory")
    }

    @Test func trailingLineEndingsTrimmed() throws {
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        let path = try directory.write("secret", "abc def\r\n\n")
        let configuration = try loadTestConfiguration(
            #"{"client_id": "a", "client_secret_file": "\#(path)"}"#, environment: [:], in: directory)
        #expect(configuration.clientSecret == Secret("abc def"))
    }

    @Test(arguments: [
        ("", "is empty"), ("\r\n", "is empty"),
        ("\(configurationTestSecret)\nsecond line", "contains a control character or a line break before its end"),
        ("tab\t\(configurationTestSecret)", "contains a control character or a line break before its end"),
    ])
    func badSecretFileContentIsDescribedNotQuoted(content: String, why: String) throws {
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        let path = try directory.write("secret", content)
        let error = try #require(
            try configurationLoadError(#"{"client_id": "a", "client_secret_file": "\#(path)"}"#, environment: [:]))
        #expect(error.key == "client_secret_file")
        #expect(error.message == "\(path) \(why)")
        #expect(!error.description.contains(configurationTestSecret))
    }

    @Test func invalidUTF8SecretRefused() throws {
        let reader = inMemoryConfigurationReader([
            "/c.json": (#"{"client_id": "a", "client_secret_file": "/s"}"#, 0o600)
        ])
        let bytesReader = ConfigurationFileReader { path, limit in
            path == "/s" ? .success(.init(bytes: [0x61, 0xFF, 0x62])) : reader.read(path, limit)
        }
        #expect(
            throws: ConfigurationError(key: "client_secret_file", message: "/s is not valid UTF-8", file: "/c.json")
        ) {
            try ProxyConfiguration.load(configPath: "/c.json", environment: [:], fileReader: bytesReader)
        }
    }

    @Test func badEnvironmentSecretIsDescribedNotQuoted() throws {
        let error = try #require(
            try configurationLoadError(
                #"{"client_id": "a"}"#, environment: ["MICOVOICE_CLIENT_SECRET": "\(configurationTestSecret)\u{1}"])
        )
        #expect(
            error.message
                == "environment variable MICOVOICE_CLIENT_SECRET contains a control character or a line break before its end"
        )
        #expect(!error.description.contains(configurationTestSecret))
    }

    @Test func missingSecretMessage() throws {
        let expected =
            #"no client secret: set $CREDENTIALS_DIRECTORY/client_secret (systemd LoadCredential), MICOVOICE_CLIENT_SECRET or config key "client_secret_file""#
        #expect(throws: ConfigurationError(key: nil, message: expected)) {
            try ProxyConfiguration.load(configPath: nil, environment: ["MICOVOICE_CLIENT_ID": "a"])
        }
        #expect(throws: ConfigurationError(key: nil, message: expected + " (MICOVOICE_CLIENT_SECRET is set but empty)"))
        {
            try ProxyConfiguration.load(
                configPath: nil, environment: ["MICOVOICE_CLIENT_ID": "a", "MICOVOICE_CLIENT_SECRET": ""])
        }
    }

    @Test func unreadableSecretFile() throws {
        let missing = try #require(
            try configurationLoadError(#"{"client_id": "a", "client_secret_file": "/x"}"#, environment: [:]))
        #expect(missing.key == "client_secret_file")
        #expect(missing.message == "cannot read /x: No such file or directory")
        #expect(
            missing.description.hasSuffix(
                #"config key "client_secret_file": cannot read /x: No such file or directory"#))

        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        let isDirectory = try configurationLoadError(
            #"{"client_id": "a", "client_secret_file": "\#(directory.path)"}"#, environment: [:])
        #expect(isDirectory?.message == "cannot read \(directory.path): Is a directory")
    }

    // Root reads any file whatever its mode (and CI runs as root), so the denial comes from the reader.
    @Test func permissionDeniedSecretFile() throws {
        let reader = ConfigurationFileReader { path, _ in
            path == "/etc/mico/config.json"
                ? .success(.init(bytes: Array(#"{"client_id": "a", "client_secret_file": "/etc/mico/secret"}"#.utf8)))
                : .failure(.init(errno: EACCES, reason: "Permission denied"))
        }
        #expect(throws: ConfigurationError.self) {
            try ProxyConfiguration.load(configPath: "/etc/mico/config.json", environment: [:], fileReader: reader)
        }
        do {
            _ = try ProxyConfiguration.load(configPath: "/etc/mico/config.json", environment: [:], fileReader: reader)
        } catch {
            #expect(error.message == "cannot read /etc/mico/secret: Permission denied")
            #expect(error.key == "client_secret_file")
        }
    }

    @Test func sharedConfigFileIsWarnedAbout() throws {
        let reader = inMemoryConfigurationReader([
            "/etc/mico/shared.json": (#"{"client_id": "a"}"#, 0o644),
            "/etc/mico/private.json": (#"{"client_id": "a"}"#, 0o600),
        ])
        let environment = ["MICOVOICE_CLIENT_SECRET": "s"]
        let shared = try ProxyConfiguration.load(
            configPath: "/etc/mico/shared.json", environment: environment, fileReader: reader)
        #expect(shared.warnings.count == 1)
        #expect(
            shared.warnings.first?.hasPrefix("config file /etc/mico/shared.json is readable by group or others") == true
        )
        let privateFile = try ProxyConfiguration.load(
            configPath: "/etc/mico/private.json", environment: environment, fileReader: reader)
        #expect(privateFile.warnings == [])
    }

    @Test func sharedSecretFileIsDetected() throws {
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        let shared = try directory.write("shared", "s", mode: 0o640)
        let configuration = try loadTestConfiguration(
            #"{"client_id": "a", "client_secret_file": "\#(shared)"}"#, environment: [:], in: directory)
        #expect(configuration.secretFileIsShared)
        #expect(
            configuration.warnings == [
                "client_secret_file \(shared) is readable by group or others (mode 0640); run chmod 600 on it"
            ])

        let privateFile = try directory.write("private", "s", mode: 0o600)
        let privateConfiguration = try loadTestConfiguration(
            #"{"client_id": "a", "client_secret_file": "\#(privateFile)"}"#, environment: [:], in: directory)
        #expect(!privateConfiguration.secretFileIsShared)
        #expect(privateConfiguration.warnings == [])
    }

    @Test func secretIsMaskedEverywhere() {
        let secret = Secret(configurationTestSecret)
        #expect(secret.description == "********")
        #expect(secret.debugDescription == "********")
        #expect("\(secret)" == "********")
        #expect(String(reflecting: secret) == "********")
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains(configurationTestSecret))
        #expect(Mirror(reflecting: secret).children.isEmpty)
        #expect(secret == Secret(configurationTestSecret))
        #expect(secret != Secret(configurationTestSecret + "x"))
        #expect(secret != Secret("S3cr3t-Z9q!xK7#unlikely-anywherX"))
    }

    @Test func configurationDescriptionAndDumpDoNotShowTheSecret() throws {
        let configuration = try ProxyConfiguration.load(
            configPath: nil,
            environment: ["MICOVOICE_CLIENT_ID": "a", "MICOVOICE_CLIENT_SECRET": configurationTestSecret])
        #expect(!"\(configuration)".contains(configurationTestSecret))
        #expect(!String(reflecting: configuration).contains(configurationTestSecret))
        var dumped = ""
        dump(configuration, to: &dumped)
        #expect(!dumped.contains(configurationTestSecret))
        #expect(dumped.contains("clientID: \"a\""))
    }

    @Test func renderedDisplayShowsEveryKeyButNeverTheSecret() throws {
        let directory = try ConfigurationTempDirectory()
        defer { directory.remove() }
        let path = try directory.write("secret", configurationTestSecret + "\n")
        let configuration = try loadTestConfiguration(
            #"{"client_id": "display-id", "client_secret_file": "\#(path)", "listen": ["[::1]:0", "unix:/run/p.sock"]}"#,
            environment: [:], in: directory)
        let text = configuration.renderedForDisplay()
        #expect(!text.contains(configurationTestSecret))
        #expect(!text.contains("S3cr3t"))

        let object = try JSONDecoder().decode(DisplayKeys.self, from: Data(text.utf8))
        #expect(
            object.keys == [
                "access_log", "access_log_query", "allow_non_loopback", "allowed_gids", "allowed_hosts",
                "allowed_origins", "allowed_uids", "ca_file", "client_body_timeout_seconds", "client_id",
                "client_idle_timeout_seconds", "client_secret", "client_secret_file", "client_secret_source",
                "egress_proxy", "egress_proxy_source", "listen", "log_format", "log_level", "max_connections",
                "max_header_bytes", "max_header_count", "max_request_body_bytes",
                "max_request_line_bytes", "no_proxy", "refresh_margin_seconds", "replay_buffer_bytes",
                "request_header_timeout_seconds", "scope", "shutdown_timeout_seconds", "token_url",
                "token_wait_seconds", "unix_socket_mode", "upstream", "upstream_connect_timeout_seconds",
                "upstream_response_timeout_seconds",
            ])
        #expect(text.contains(#""client_secret" : "********""#))
        #expect(text.contains(#""client_secret_source" : "client_secret_file \#(path)""#))
        #expect(text.contains(#""listen" : ["#))
        #expect(text.contains(#""[::1]:0""#))
        #expect(text.contains(#""unix:/run/p.sock""#))
        #expect(text.contains(#""token_url" : "https://api.micovoice.com/oauth/token""#))
        #expect(text.contains(#""unix_socket_mode" : "0660""#))
        #expect(text.contains(#""refresh_margin_seconds" : null"#))
        #expect(text.contains(#""token_wait_seconds" : 10"#))
        #expect(text.contains(#""shutdown_timeout_seconds" : 30"#))
        #expect(text.contains(#""log_format" : "logfmt""#))
        #expect(text.contains(#""access_log" : true"#))
        #expect(text.contains(#""access_log_query" : false"#))
    }

    @Test func renderedDisplayMasksASecretPastedIntoAnotherSetting() {
        let configuration = ProxyConfiguration(
            upstream: ProxyConfiguration.defaultUpstream, clientID: configurationTestSecret,
            clientSecret: Secret(configurationTestSecret))
        let text = configuration.renderedForDisplay()
        #expect(!text.contains(configurationTestSecret))
        #expect(text.contains(#""client_id" : "********""#))
    }
}

/// The top-level keys of a JSON object, sorted.
private struct DisplayKeys: Decodable {
    var keys: [String]
    init(from decoder: any Decoder) throws {
        keys = try decoder.container(keyedBy: ConfigurationKey.self).allKeys.map(\.stringValue).sorted()
    }
}
