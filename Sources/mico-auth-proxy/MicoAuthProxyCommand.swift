import ArgumentParser
import Dispatch
import Glibc
import Logging
import MicoAuthProxy
import MicoIO

/// Runs the command on a task while the main thread waits. Swift's own async `main` would end the main thread with
/// `pthread_exit` (inside `dispatch_main`), whose forced unwind searches the binary's unwind tables: about 0.5 MiB
/// of them then stayed resident for the daemon's whole life (found with /proc/PID/pagemap and gdb).
@main
enum Entry {
    static func main() {
        let finished = DispatchSemaphore(value: 0)
        // Detached: `main` is on the main actor, whose thread is about to wait.
        Task.detached {
            await MicoAuthProxyCommand.main()
            finished.signal()
        }
        finished.wait()
    }
}

struct MicoAuthProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mico-auth-proxy",
        abstract: "Holds Mico Voice API credentials and forwards local HTTP requests with a fresh bearer token.",
        version: MicoAuthProxyVersion.current,
        subcommands: [Run.self, CheckConfig.self, MockAPI.self, Demo.self],
        defaultSubcommand: Run.self
    )
}

/// Loads the configuration or exits 1 with the one-line error that names the key. Core dumps are switched off
/// first: from here on the process holds the secret.
func loadConfiguration(_ path: String?) throws -> ProxyConfiguration {
    do {
        try ProcessHardening.disableCoreDumps()
    } catch {
        printError("mico-auth-proxy: warning: cannot switch off core dumps: \(error)")
    }
    do {
        return try ProxyConfiguration.load(configPath: path, environment: ProcessEnvironment.current())
    } catch {
        printError("mico-auth-proxy: \(error)")
        throw ExitCode(1)
    }
}

func printError(_ text: String) {
    let line = text + "\n"
    _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
}

/// Sends every logger's lines to standard error in `format`, with journald's priority prefixes (and no timestamp)
/// when systemd connected standard error to the journal.
func makeLogger(level: Logger.Level, format: LogFormat = .logfmt) -> Logger {
    let journal = StandardErrorLogHandler.journalIsStandardError(environment: ProcessEnvironment.current())
    LoggingSystem.bootstrap { label in
        StandardErrorLogHandler(label: label, level: level, format: format, journal: journal)
    }
    var logger = Logger(label: "mico-auth-proxy")
    logger.logLevel = level
    return logger
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the proxy (the default).")

    @Option(help: "Path to the JSON config file. Without it: defaults plus environment.")
    var config: String?

    func run() async throws {
        let configuration = try loadConfiguration(config)
        let logger = makeLogger(
            level: Logger.Level(rawValue: configuration.logLevel.rawValue) ?? .info, format: configuration.logFormat)
        for warning in configuration.warnings { logger.warning("\(warning)") }
        TerminationSignals.ignoreBrokenPipe()
        let environment = ProcessEnvironment.current()
        let notifier: SystemdNotifier
        do {
            notifier = try SystemdNotifier(environment: environment)
        } catch {
            logger.warning("not notifying systemd: \(error)")
            notifier = .disabled
        }
        let server: ProxyServer
        do {
            // The access log and the log format are fixed at start; a reload that changes them names them in
            // restart_needed_for.
            let accessLog = AccessLog(logger: logger, includeQuery: configuration.accessLogQuery)
            server = try ProxyServer(
                configuration: configuration, logger: logger, observers: configuration.accessLog ? [accessLog] : [])
            if let passed = try SystemdSocketActivation.takeListeners() {
                let names = passed.map { "\($0.name)=\($0.listener.address)" }.joined(separator: " ")
                logger.info(
                    "socket activation: serving on the sockets systemd passed; the listen setting is ignored",
                    metadata: ["sockets": "\(names)"])
                try server.start(adopting: passed.map(\.listener))
            } else {
                try server.start()
            }
        } catch {
            printError("mico-auth-proxy: \(error)")
            throw ExitCode(1)
        }
        // SIGHUP re-reads the config file and the secret; a config that fails validation leaves the old one.
        let configPath = config
        let hangup = HangupSignal {
            try? notifier.reloading()
            do {
                let new = try ProxyConfiguration.load(configPath: configPath, environment: ProcessEnvironment.current())
                let outcome = server.reload(new)
                logger.info(
                    "configuration reloaded",
                    metadata: [
                        "credentials_changed": "\(outcome.credentialsChanged)",
                        "restart_needed_for": "\(outcome.needsRestart.joined(separator: ","))",
                    ])
                for warning in new.warnings { logger.warning("\(warning)") }
            } catch {
                logger.error("reload rejected; the configuration in force stays: \(error)")
            }
            try? notifier.ready(status: server.tokens.status.description)
        }
        // Every listener is open: ready, without waiting for the token (the network may not be up yet).
        do {
            try notifier.ready(status: server.tokens.status.description)
        } catch {
            logger.warning("cannot notify systemd: \(error)")
        }
        let watchdog = SystemdNotifier.watchdogMicroseconds(environment: environment).map { timeout in
            SystemdWatchdog(notifier: notifier, intervalMicroseconds: timeout / 2) { error in
                logger.warning("cannot send the watchdog ping: \(error)")
            }
        }
        let memory = FreedMemoryReturner()
        let statusLines =
            notifier.isEnabled
            ? Task { await TokenStatusReporter.run(tokens: server.tokens, notifier: notifier, logger: logger) } : nil
        let signal = await TerminationSignals.wait()
        try? notifier.stopping()
        logger.info("stopping", metadata: ["signal": "\(signal)"])
        statusLines?.cancel()
        hangup.cancel()
        // Requests already received are answered; the watchdog keeps pinging while they finish.
        await server.drain(timeout: configuration.shutdownTimeoutSeconds)
        watchdog?.stop()
        memory.stop()
    }
}

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate the configuration and print the effective settings.")

    @Option(help: "Path to the JSON config file.")
    var config: String?

    func run() async throws {
        let configuration = try loadConfiguration(config)
        print(configuration.renderedForDisplay())
        for warning in configuration.warnings { printError("warning: \(warning)") }
    }
}

struct MockAPI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mock-api",
        abstract: "Run the built-in mock Mico Voice API (token endpoint and echoing /v1/ endpoints).",
        discussion: "The accepted client secret comes from $MOCK_CLIENT_SECRET (default mock-client-secret).")

    @Option(help: "IP:PORT to listen on.")
    var listen = "127.0.0.1:8643"
    @Option(help: "PEM certificate chain: serve TLS.")
    var tlsCert: String?
    @Option(help: "PEM private key for --tls-cert.")
    var tlsKey: String?
    @Option(help: "Lifetime of issued tokens, seconds.")
    var tokenTtl: Double = 3600
    @Option(help: "The client id the token endpoint accepts.")
    var clientId = "mock-client-id"

    func validate() throws {
        guard (tlsCert == nil) == (tlsKey == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        guard tokenTtl > 0 else { throw ValidationError("--token-ttl must be positive") }
    }

    func run() async throws {
        let logger = makeLogger(level: .info)
        TerminationSignals.ignoreBrokenPipe()
        guard case .tcp(let host, let port) = try? ListenAddress.parse(listen) else {
            throw ValidationError("--listen takes IP:PORT")
        }
        var options = MockAPIServer.Options()
        options.host = host
        options.port = port
        options.tlsCertificateFile = tlsCert
        options.tlsPrivateKeyFile = tlsKey
        options.tokenTTL = tokenTtl
        options.clientID = clientId
        if let secret = ProcessEnvironment.current()["MOCK_CLIENT_SECRET"] { options.clientSecret = secret }
        let mock = try MockAPIServer(options: options, logger: logger)
        let address = try mock.start()
        print("mock-api listening on \(tlsCert == nil ? "http" : "https")://\(address)")
        fflush(nil)  // Whoever started it waits for this line; stdout to a file or pipe is block-buffered.
        _ = await TerminationSignals.wait()
        mock.stop()
    }
}

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the mock API and the proxy in front of it, with no credentials and no network.")

    @Option(help: "Where the proxy listens.")
    var listen = "127.0.0.1:8642"
    @Flag(help: "Send one request through the proxy, print it and exit (for scripts).")
    var check = false

    func run() async throws {
        let logger = makeLogger(level: .notice)
        TerminationSignals.ignoreBrokenPipe()
        let address: ListenAddress
        do {
            address = try ListenAddress.parse(listen)
        } catch {
            throw ValidationError("--listen: \(error)")
        }
        let running = try await DemoRunner.start(listen: address, logger: logger)
        print(DemoRunner.instructions(for: running))
        fflush(nil)
        let (status, body) = try await DemoRunner.selfCheck(running)
        print("\nFirst request through the proxy: GET /v1/outbound_calls/demo-call-1 -> \(status)\n\(body)")
        if check {
            running.proxy.stop()
            running.mock.stop()
            if status != 200 { throw ExitCode(1) }
            return
        }
        _ = await TerminationSignals.wait()
        running.proxy.stop()
        running.mock.stop()
    }
}
