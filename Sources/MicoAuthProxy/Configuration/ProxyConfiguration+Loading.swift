import Glibc

extension ProxyConfiguration {
    /// Environment variable that overrides `client_id`.
    public static let clientIDEnvironmentVariable = "MICOVOICE_CLIENT_ID"
    /// Environment variable that supplies the secret when no systemd credential does.
    public static let clientSecretEnvironmentVariable = "MICOVOICE_CLIENT_SECRET"
    /// The systemd credential (`LoadCredential=client_secret:...`) read from `$CREDENTIALS_DIRECTORY`.
    public static let credentialName = "client_secret"

    /// The largest config file read: 1 MiB.
    static let configFileByteLimit = 1 << 20
    /// The largest secret file read: 64 KiB.
    static let secretFileByteLimit = 64 << 10
    /// The largest CA bundle read: 16 MiB.
    static let caFileByteLimit = 16 << 20

    /// Loads the JSON config file at `configPath` (or only defaults when `nil`), applies the
    /// environment, reads the secret, and validates everything.
    ///
    /// `MICOVOICE_CLIENT_ID` overrides `client_id`. The secret comes from the first of
    /// `$CREDENTIALS_DIRECTORY/client_secret` (when the variable is set and the file exists),
    /// `MICOVOICE_CLIENT_SECRET`, and `client_secret_file`; trailing CR/LF are trimmed. An empty
    /// environment variable counts as unset. Relative `client_secret_file` and `ca_file` paths are
    /// resolved against the config file's directory. `ca_file` must be readable and hold a PEM
    /// certificate. `allowed_hosts` entries are lower-cased. `egress_proxy` defaults to `https_proxy`, else
    /// `HTTPS_PROXY`; `no_proxy` to the environment variable `no_proxy`, else `NO_PROXY`; a key that is set,
    /// even to `""` or `[]`, overrides the environment.
    ///
    /// - Throws: `ConfigurationError` naming the file and key at fault; its text never holds the secret.
    public static func load(
        configPath: String?,
        environment: [String: String],
        fileReader: ConfigurationFileReader = .system
    ) throws(ConfigurationError) -> ProxyConfiguration {
        var file = ConfigurationFile()
        var configFileWarnings: [String] = []
        if let configPath {
            let contents: ConfigurationFileReader.Contents
            switch fileReader.read(configPath, configFileByteLimit) {
            case .success(let value): contents = value
            case .failure(let failure):
                throw ConfigurationError(
                    key: nil, message: "cannot read config file: \(failure.reason)", file: configPath)
            }
            if contents.mode & 0o077 != 0 {
                // It holds no secret, but it says where the secret is and where the token goes.
                configFileWarnings.append(
                    "config file \(configPath) is readable by group or others (mode 0\(String(contents.mode, radix: 8)));"
                        + " run chmod 600 on it, or chmod 640 with a group the service runs in")
            }
            do {
                file = try ConfigurationFile.decode(contents.bytes)
            } catch {
                var located = error
                located.file = configPath
                throw located
            }
        }
        do {
            var configuration = try build(
                from: file, configPath: configPath, environment: environment, fileReader: fileReader)
            configuration.warnings.insert(contentsOf: configFileWarnings, at: 0)
            return configuration
        } catch {
            throw error.located(in: configPath, keysFromFile: file.keys)
        }
    }

    private static func build(
        from file: ConfigurationFile,
        configPath: String?,
        environment: [String: String],
        fileReader: ConfigurationFileReader
    ) throws(ConfigurationError) -> ProxyConfiguration {
        let configDirectory = configPath.map(directory(of:))
        func resolved(_ path: String?) -> String? {
            guard let path, !path.hasPrefix("/"), let configDirectory, !configDirectory.isEmpty else { return path }
            return configDirectory + "/" + path
        }

        var listen = defaultListen
        if let entries = file.listen {
            listen = try entries.map { (entry) throws(ConfigurationError) in try ListenAddress.parse(entry) }
        }
        let upstream =
            try file.upstream.map { (text) throws(ConfigurationError) in try parseUpstream(text) } ?? defaultUpstream
        let tokenURL = try file.tokenURL.map { (text) throws(ConfigurationError) in
            try HTTPURL.parse(text, key: "token_url")
        }
        var logLevel = LogLevelName.info
        if let name = file.logLevel {
            guard let level = LogLevelName(rawValue: name) else {
                throw ConfigurationError(key: "log_level", message: ConfigurationFile.expectations["log_level"]!)
            }
            logLevel = level
        }
        var logFormat = LogFormat.logfmt
        if let name = file.logFormat {
            guard let format = LogFormat(rawValue: name) else {
                throw ConfigurationError(key: "log_format", message: ConfigurationFile.expectations["log_format"]!)
            }
            logFormat = format
        }

        let environmentID = environment[clientIDEnvironmentVariable].flatMap { $0.isEmpty ? nil : $0 }
        guard let clientID = environmentID ?? file.clientID else {
            throw ConfigurationError(
                key: "client_id",
                message: "is required (or set the environment variable \(clientIDEnvironmentVariable))",
                file: configPath)
        }

        let egress = try egressProxySetting(file.egressProxy, environment: environment)
        var noProxy = file.noProxy
        var noProxyVariable: String?
        if noProxy == nil {
            for name in noProxyEnvironmentVariables {
                guard let value = environment[name], !value.isEmpty else { continue }
                noProxy = noProxyEntries(value)
                noProxyVariable = name
                break
            }
        }

        var configuration = ProxyConfiguration(
            upstream: upstream,
            clientID: clientID,
            clientSecret: Secret(""),
            clientSecretSource: "",
            listen: listen,
            allowNonLoopback: file.allowNonLoopback ?? false,
            unixSocketMode: try file.unixSocketMode.map { (text) throws(ConfigurationError) in try parseMode(text) }
                ?? defaultUnixSocketMode,
            tokenURL: tokenURL,
            clientSecretFile: resolved(file.clientSecretFile),
            scope: file.scope ?? defaultScope,
            caFile: resolved(file.caFile),
            refreshMarginSeconds: file.refreshMarginSeconds,
            tokenWaitSeconds: file.tokenWaitSeconds ?? defaultTokenWaitSeconds,
            upstreamConnectTimeoutSeconds: file.upstreamConnectTimeoutSeconds ?? defaultUpstreamConnectTimeoutSeconds,
            upstreamResponseTimeoutSeconds: file.upstreamResponseTimeoutSeconds
                ?? defaultUpstreamResponseTimeoutSeconds,
            allowedHosts: file.allowedHosts,
            allowedOrigins: file.allowedOrigins ?? [],
            allowedUIDs: file.allowedUIDs,
            allowedGIDs: file.allowedGIDs,
            maxRequestLineBytes: file.maxRequestLineBytes ?? defaultMaxRequestLineBytes,
            maxHeaderBytes: file.maxHeaderBytes ?? defaultMaxHeaderBytes,
            maxHeaderCount: file.maxHeaderCount ?? defaultMaxHeaderCount,
            maxRequestBodyBytes: file.maxRequestBodyBytes ?? defaultMaxRequestBodyBytes,
            requestHeaderTimeoutSeconds: file.requestHeaderTimeoutSeconds ?? defaultRequestHeaderTimeoutSeconds,
            clientIdleTimeoutSeconds: file.clientIdleTimeoutSeconds ?? defaultClientIdleTimeoutSeconds,
            clientBodyTimeoutSeconds: file.clientBodyTimeoutSeconds ?? defaultClientBodyTimeoutSeconds,
            maxConnections: file.maxConnections ?? defaultMaxConnections,
            logLevel: logLevel,
            replayBufferBytes: file.replayBufferBytes ?? defaultReplayBufferBytes,
            egressProxy: egress.proxy,
            egressProxySource: egress.source,
            noProxy: noProxy ?? [],
            shutdownTimeoutSeconds: file.shutdownTimeoutSeconds ?? defaultShutdownTimeoutSeconds,
            logFormat: logFormat,
            accessLog: file.accessLog ?? true,
            accessLogQuery: file.accessLogQuery ?? false
        )
        do {
            try configuration.validateSettings()
        } catch  where error.key == "client_id" && environmentID != nil {
            throw ConfigurationError(
                key: nil, message: "environment variable \(clientIDEnvironmentVariable) \(error.message)")
        } catch  where error.key == "no_proxy" && noProxyVariable != nil {
            throw ConfigurationError(
                key: nil,
                message: "environment variable \(noProxyVariable!) (the default for config key \"no_proxy\"): "
                    + error.message)
        }

        let secret = try readSecret(
            environment: environment, clientSecretFile: configuration.clientSecretFile, fileReader: fileReader)
        configuration.clientSecret = secret.secret
        configuration.clientSecretSource = secret.source
        configuration.secretFileIsShared = secret.isShared
        configuration.warnings += secret.warnings

        if let caFile = configuration.caFile { try checkCAFile(caFile, fileReader: fileReader) }
        configuration.warnings += exposureWarnings(configuration)
        configuration.warnings += configuration.clientPolicyWarnings()
        return configuration
    }

    private static func parseUpstream(_ text: String) throws(ConfigurationError) -> HTTPURL {
        var url = try HTTPURL.parse(text, key: "upstream")
        guard url.path == "" || url.path == "/" else {
            throw ConfigurationError(key: "upstream", message: "must be scheme://host[:port] without a path or query")
        }
        url.path = ""
        return url
    }

    /// The egress proxy and where it came from: the config key when present (`""` = none), else the first
    /// non-empty of `https_proxy` and `HTTPS_PROXY`, else none.
    private static func egressProxySetting(
        _ configured: String?,
        environment: [String: String]
    ) throws(ConfigurationError) -> (proxy: EgressProxy?, source: String) {
        let configSource = "config key egress_proxy"
        if let configured {
            return configured.isEmpty
                ? (nil, configSource) : (try EgressProxy.parse(configured, key: "egress_proxy"), configSource)
        }
        for name in egressProxyEnvironmentVariables {
            guard let value = environment[name], !value.isEmpty else { continue }
            do {
                return (try EgressProxy.parse(value, key: "egress_proxy"), "environment \(name)")
            } catch {
                throw ConfigurationError(
                    key: nil,
                    message: "environment variable \(name) (the default for config key \"egress_proxy\"): "
                        + error.message + "; set \"egress_proxy\" in the config file to override it")
            }
        }
        return (nil, "none")
    }

    private static func parseMode(_ text: String) throws(ConfigurationError) -> UInt32 {
        guard (3...4).contains(text.utf8.count), text.utf8.allSatisfy({ (0x30...0x37).contains($0) }),
            let mode = UInt32(text, radix: 8), mode <= 0o777
        else {
            throw ConfigurationError(
                key: "unix_socket_mode", message: "must be 3 or 4 octal digits no greater than 0777, e.g. \"0660\"")
        }
        return mode
    }

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private struct SecretReading {
        var secret: Secret
        var source: String
        var isShared = false
        var warnings: [String] = []
    }

    private static func readSecret(
        environment: [String: String],
        clientSecretFile: String?,
        fileReader: ConfigurationFileReader
    ) throws(ConfigurationError) -> SecretReading {
        let environmentSecret = environment[clientSecretEnvironmentVariable].flatMap { $0.isEmpty ? nil : $0 }
        let environmentName = environmentSecret.map { _ in "environment variable \(clientSecretEnvironmentVariable)" }
        let fileName = clientSecretFile.map { "config key \"client_secret_file\" (\($0))" }
        func warnings(_ source: String, ignoring others: [String?]) -> [String] {
            let names = others.compactMap { $0 }
            return names.isEmpty
                ? [] : ["the client secret comes from \(source); ignoring \(names.joined(separator: " and "))"]
        }

        if let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty {
            let path = (directory.hasSuffix("/") ? directory : directory + "/") + credentialName
            let source = "$CREDENTIALS_DIRECTORY/\(credentialName)"
            switch fileReader.read(path, secretFileByteLimit) {
            case .success(let contents):
                let secret = try secretText(contents.bytes) { why in
                    ConfigurationError(key: nil, message: "\(source) (\(path)) \(why)")
                }
                return SecretReading(
                    secret: secret, source: source, warnings: warnings(source, ignoring: [environmentName, fileName]))
            case .failure(let failure) where failure.errno == ENOENT:
                break
            case .failure(let failure):
                throw ConfigurationError(key: nil, message: "\(source): cannot read \(path): \(failure.reason)")
            }
        }
        if let value = environmentSecret {
            let source = "environment \(clientSecretEnvironmentVariable)"
            let secret = try secretText(Array(value.utf8)) { why in
                ConfigurationError(key: nil, message: "environment variable \(clientSecretEnvironmentVariable) \(why)")
            }
            return SecretReading(secret: secret, source: source, warnings: warnings(source, ignoring: [fileName]))
        }
        if let path = clientSecretFile {
            switch fileReader.read(path, secretFileByteLimit) {
            case .success(let contents):
                let secret = try secretText(contents.bytes) { why in
                    ConfigurationError(key: "client_secret_file", message: "\(path) \(why)")
                }
                var reading = SecretReading(secret: secret, source: "client_secret_file \(path)")
                if contents.mode & 0o044 != 0 {
                    reading.isShared = true
                    reading.warnings.append(
                        "client_secret_file \(path) is readable by group or others (mode 0\(String(contents.mode, radix: 8)));"
                            + " run chmod 600 on it")
                }
                return reading
            case .failure(let failure):
                throw ConfigurationError(key: "client_secret_file", message: "cannot read \(path): \(failure.reason)")
            }
        }
        var message =
            "no client secret: set $CREDENTIALS_DIRECTORY/client_secret (systemd LoadCredential),"
            + " \(clientSecretEnvironmentVariable) or config key \"client_secret_file\""
        if environment[clientSecretEnvironmentVariable] == "" {
            message += " (\(clientSecretEnvironmentVariable) is set but empty)"
        }
        throw ConfigurationError(key: nil, message: message)
    }

    /// The secret in `bytes` without trailing CR/LF; `failure` turns a reason into an error.
    /// Reasons describe the content and never quote it.
    private static func secretText(
        _ bytes: [UInt8],
        failure: (String) -> ConfigurationError
    ) throws(ConfigurationError) -> Secret {
        var end = bytes.endIndex
        while end > bytes.startIndex, bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D { end -= 1 }
        let trimmed = bytes[..<end]
        guard !trimmed.isEmpty else { throw failure("is empty") }
        guard let text = String(validating: trimmed, as: UTF8.self) else { throw failure("is not valid UTF-8") }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw failure("contains a control character or a line break before its end")
        }
        return Secret(text)
    }

    private static func checkCAFile(_ path: String, fileReader: ConfigurationFileReader) throws(ConfigurationError) {
        switch fileReader.read(path, caFileByteLimit) {
        case .success(let contents):
            guard contents.bytes.firstRange(of: Array("-----BEGIN CERTIFICATE-----".utf8)) != nil else {
                throw ConfigurationError(
                    key: "ca_file", message: "\(path) holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
            }
        case .failure(let failure):
            throw ConfigurationError(key: "ca_file", message: "cannot read \(path): \(failure.reason)")
        }
    }

    private static func exposureWarnings(_ configuration: ProxyConfiguration) -> [String] {
        var warnings: [String] = []
        for address in configuration.listen where !address.isLoopback {
            warnings.append(
                "listening on \(address), which is not loopback: anyone who can reach it can use the API credentials")
        }
        let hasUnixListener = configuration.listen.contains { if case .unix = $0 { true } else { false } }
        if hasUnixListener && configuration.unixSocketMode & 0o002 != 0 {
            warnings.append(
                "unix_socket_mode 0\(String(configuration.unixSocketMode, radix: 8)) lets every local user connect"
                    + " and use the API credentials")
        }
        return warnings
    }
}
