import Foundation
import MicoAuthProxy
import MicoTestSupport
import Testing

/// The built `mico-auth-proxy` binary, run as a separate process the way systemd and people run it.
@Suite("The mico-auth-proxy executable")
struct ProxyProcessTests {
    /// The executable SwiftPM built next to this test bundle.
    static var binary: String {
        let bundle = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        return URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("mico-auth-proxy").path
    }

    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for key in [
            "MICOVOICE_CLIENT_ID", "MICOVOICE_CLIENT_SECRET", "CREDENTIALS_DIRECTORY", "https_proxy", "HTTPS_PROXY",
            "no_proxy", "NO_PROXY",
        ] {
            environment.removeValue(forKey: key)
        }
        return environment.merging(extra) { _, new in new }
    }

    /// Starts the built binary (`run`) in front of `harness`'s mock on a free port, with `extra` members appended
    /// to its config object, the secret and `environment` in its environment, and waits until `/-/ready` answers 200.
    static func startProxyProcess(
        for harness: ProxyHarness, extra: String = "", environment extraEnvironment: [String: String] = [:]
    ) async throws -> (child: LongRunning, port: UInt16) {
        let config = try TemporaryDirectory.make("proxy-process") + "/config.json"
        let port = try freePort()
        try """
        {"client_id": "\(ProxyHarness.clientID)", "listen": ["127.0.0.1:\(port)"],
         "upstream": "https://localhost:\(harness.mockAddress.port)", "ca_file": "\(harness.certificates.caFile)"\(extra)}
        """.write(toFile: config, atomically: true, encoding: .utf8)
        chmod(config, 0o600)
        let child = try LongRunning.start(
            binary, ["run", "--config", config],
            environment: environment(
                extraEnvironment.merging(["MICOVOICE_CLIENT_SECRET": ProxyHarness.clientSecret]) { _, new in new }))
        for _ in 0..<200 {
            if (try? await Curl.run(["http://127.0.0.1:\(port)/-/ready"]))?.status == 200 { return (child, port) }
            try await Task.sleep(for: .milliseconds(50))
        }
        child.stop()
        throw TestFailure("the proxy process never became ready: \(child.output)")
    }

    @Test("--version and --help")
    func versionAndHelp() async throws {
        let version = try await ExternalProcess.run(Self.binary, ["--version"])
        #expect(version.status == 0)
        #expect(version.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == MicoAuthProxyVersion.current)
        let help = try await ExternalProcess.run(Self.binary, ["--help"])
        #expect(help.status == 0)
        for command in ["run", "check-config", "mock-api", "demo"] {
            #expect(help.stdoutText.contains(command))
        }
    }

    @Test("check-config prints the effective settings with the secret masked")
    func checkConfig() async throws {
        let directory = try TemporaryDirectory.make("config")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/config.json"
        try #"{"client_id": "cli-client", "token_wait_seconds": 7}"#.write(
            toFile: path, atomically: true, encoding: .utf8)
        let secret = "Very-Secret-\(UInt32.random(in: 0...UInt32.max))"
        let result = try await ExternalProcess.run(
            Self.binary, ["check-config", "--config", path],
            environment: Self.environment(["MICOVOICE_CLIENT_SECRET": secret]))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText.contains("cli-client"))
        #expect(result.stdoutText.contains("\"token_wait_seconds\""))
        #expect(!result.stdoutText.contains(secret) && !result.stderr.contains(secret))
    }

    @Test("config.example.json loads and holds exactly the defaults")
    func exampleConfigIsTheDefaults() throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config.example.json").path
        let environment = ["MICOVOICE_CLIENT_SECRET": "example-secret"]
        let loaded = try ProxyConfiguration.load(configPath: example, environment: environment)
        let defaults = try ProxyConfiguration.load(
            configPath: nil, environment: environment.merging(["MICOVOICE_CLIENT_ID": "YOUR_CLIENT_ID"]) { a, _ in a })
        #expect(loaded.clientID == "YOUR_CLIENT_ID")
        #expect(loaded.clientSecretFile == "/etc/mico-auth-proxy/client_secret")
        var comparable = loaded
        comparable.clientSecretFile = nil
        comparable.clientSecretSource = defaults.clientSecretSource
        comparable.warnings = defaults.warnings
        #expect(comparable == defaults)
    }

    @Test("a bad config stops the start with exit 1 and one line naming the key")
    func badConfig() async throws {
        let directory = try TemporaryDirectory.make("config")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let secret = "Never-Print-\(UInt32.random(in: 0...UInt32.max))"
        let cases = [
            (#"{"client_id": "x", "listn": ["127.0.0.1:1"]}"#, "listn"),
            (#"{"client_id": "x", "token_wait_seconds": -3}"#, "token_wait_seconds"),
            (#"{"client_id": "x", "upstream": "http://api.micovoice.com"}"#, "upstream"),
        ]
        for (index, (text, key)) in cases.enumerated() {
            let path = directory + "/config\(index).json"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let result = try await ExternalProcess.run(
                Self.binary, ["run", "--config", path],
                environment: Self.environment(["MICOVOICE_CLIENT_SECRET": secret]))
            #expect(result.status == 1)
            #expect(result.stderr.contains(key), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
            #expect(!result.stderr.contains(secret) && !result.stdoutText.contains(secret))
        }
        let missingSecret = try await ExternalProcess.run(
            Self.binary, ["run"], environment: Self.environment(["MICOVOICE_CLIENT_ID": "x"]))
        #expect(missingSecret.status == 1)
        #expect(missingSecret.stderr.contains("MICOVOICE_CLIENT_SECRET"))
    }

    @Test("demo --check starts the mock and the proxy and gets a 200 through it")
    func demo() async throws {
        let result = try await ExternalProcess.run(
            Self.binary, ["demo", "--listen", "127.0.0.1:0", "--check"], environment: Self.environment())
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText.contains("-> 200"))
        #expect(result.stdoutText.contains("curl -s http://127.0.0.1:"))
    }

    @Test("mock-api serves the token endpoint and demands a bearer on /v1/")
    func mockAPI() async throws {
        let port = try freePort()
        let child = try LongRunning.start(
            Self.binary, ["mock-api", "--listen", "127.0.0.1:\(port)"],
            environment: Self.environment(["MOCK_CLIENT_SECRET": "mock-secret"]))
        defer { child.stop() }
        try await child.waitForOutput("listening on")
        let token = try await Curl.run(
            [
                "--data-urlencode", "grant_type=client_credentials", "--data-urlencode", "client_id=mock-client-id",
                "--data-urlencode", "client_secret=mock-secret", "http://127.0.0.1:\(port)/oauth/token",
            ], record: false)
        #expect(token.status == 200)
        let accessToken = try #require(try token.json()["access_token"] as? String)
        #expect(try token.json()["token_type"] as? String == "bearer")
        let wrong = try await Curl.run([
            "--data-urlencode", "grant_type=client_credentials", "--data-urlencode", "client_id=mock-client-id",
            "--data-urlencode", "client_secret=nope", "http://127.0.0.1:\(port)/oauth/token",
        ])
        #expect(wrong.status == 401)
        #expect(try wrong.json()["error"] as? String == "invalid_client")
        let anonymous = try await Curl.run(["http://127.0.0.1:\(port)/v1/echo"])
        #expect(anonymous.status == 401)
        let authorized = try await Curl.run(
            [
                "-H", "Authorization: Bearer \(accessToken)", "--data-binary", "abc",
                "http://127.0.0.1:\(port)/v1/echo",
            ], record: false)
        #expect(authorized.status == 200)
        #expect(
            try authorized.json()["body_sha256"] as? String
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("run switches core dumps off and warns about a secret file others can read")
    func processKeepsItsSecrets() async throws {
        let directory = try TemporaryDirectory.make("hardening")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let secretFile = directory + "/client_secret"
        try "a-shared-secret\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
        chmod(secretFile, 0o644)
        let port = try freePort()
        let config = directory + "/config.json"
        try """
        {"client_id": "x", "client_secret_file": "\(secretFile)", "listen": ["127.0.0.1:\(port)"],
         "upstream": "http://127.0.0.1:\(try freePort())"}
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let child = try LongRunning.start(
            Self.binary, ["run", "--config", config], environment: Self.environment())
        defer { child.stop() }
        try await child.waitForOutput("listening")
        let limits = try String(contentsOfFile: "/proc/\(child.process.processIdentifier)/limits", encoding: .utf8)
        let core = limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") }
        #expect(core?.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).prefix(2) == ["0", "0"])
        #expect(child.output.contains("readable by group or others"))
        #expect(!child.output.contains("a-shared-secret"))
    }

    @Test("SIGHUP re-reads the secret and fetches at once; a broken config is rejected and the old one stays")
    func reloadOnHangup() async throws {
        let harness = try await ProxyHarness.start()
        defer { _ = harness.stopAndFindLeaks() }
        let directory = try TemporaryDirectory.make("reload")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let secretFile = directory + "/client_secret"
        try "not-the-secret\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
        chmod(secretFile, 0o600)
        let port = try freePort()
        let config = directory + "/config.json"
        let good = """
            {"client_id": "\(ProxyHarness.clientID)", "client_secret_file": "\(secretFile)",
             "listen": ["127.0.0.1:\(port)"], "upstream": "https://localhost:\(harness.mockAddress.port)",
             "ca_file": "\(harness.certificates.caFile)"}
            """
        try good.write(toFile: config, atomically: true, encoding: .utf8)
        chmod(config, 0o600)
        let child = try LongRunning.start(Self.binary, ["run", "--config", config], environment: Self.environment())
        defer { child.stop() }
        try await child.waitForOutput("rejected the client id and secret")
        #expect(try await Curl.run(["http://127.0.0.1:\(port)/-/ready"]).status == 503)

        // The right secret, then SIGHUP: rejected credentials would wait 5 minutes, so readiness within seconds
        // shows the fetch started at once.
        try "\(ProxyHarness.clientSecret)\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
        kill(child.process.processIdentifier, SIGHUP)
        var ready = 0
        for _ in 0..<50 where ready != 200 {
            try await Task.sleep(for: .milliseconds(100))
            ready = try await Curl.run(["http://127.0.0.1:\(port)/-/ready"]).status
        }
        #expect(ready == 200)
        #expect(child.output.contains("credentials_changed=true"))

        try "{ not json".write(toFile: config, atomically: true, encoding: .utf8)
        kill(child.process.processIdentifier, SIGHUP)
        try await child.waitForOutput("reload rejected")
        #expect(child.process.isRunning)
        #expect(try await Curl.run(["http://127.0.0.1:\(port)/v1/echo"]).status == 200)
        #expect(!child.output.contains(ProxyHarness.clientSecret))
    }

    @Test("SIGTERM drains: a slow request in flight completes, an idle connection closes, then exit 0")
    func gracefulStop() async throws {
        let harness = try await ProxyHarness.start()
        defer { _ = harness.stopAndFindLeaks() }
        let (child, port) = try await Self.startProxyProcess(for: harness)
        defer { child.stop() }
        let idle = try await RawClient.connect(port: port)
        try await idle.send("GET /-/healthy HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        _ = try await idle.read(until: "}")
        let slow = Task { try await Curl.run(["http://127.0.0.1:\(port)/v1/slow?ms=1500"]) }
        // SIGTERM once the slow request is in flight: the mock records it before it waits. (A fixed sleep was too
        // short on a loaded machine: curl had not connected yet, and a stopping proxy accepts no one.)
        let inFlight = ContinuousClock.now + .seconds(20)
        while !harness.mock.requests.contains(where: { $0.target.hasPrefix("/v1/slow") })
            && ContinuousClock.now < inFlight
        {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(
            harness.mock.requests.contains(where: { $0.target.hasPrefix("/v1/slow") }), "the slow request never arrived"
        )
        kill(child.process.processIdentifier, SIGTERM)
        let idleEnd = await idle.readToEnd(timeout: 3)
        idle.close()
        #expect(idleEnd.closed, "the idle keep-alive connection was not closed")
        let response = try await slow.value
        #expect(response.status == 200)
        for _ in 0..<100 where child.process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!child.process.isRunning)
        #expect(child.process.terminationStatus == 0)
    }

    @Test("a 100 MiB response streams through the proxy process with its resident memory under 64 MiB")
    func largeResponseMemory() async throws {
        let harness = try await ProxyHarness.start()
        defer { _ = harness.stopAndFindLeaks() }
        let (child, port) = try await Self.startProxyProcess(for: harness, extra: #", "log_level": "warning""#)
        defer { child.stop() }
        let size = 100 * 1024 * 1024
        let result = try await ExternalProcess.run(
            "/usr/bin/curl",
            [
                "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                "http://127.0.0.1:\(port)/v1/bytes/\(size)",
            ])
        #expect(result.stdoutText == "200 \(size)")
        let peak = try #require(child.peakResidentKiB())
        print("proxy process peak resident memory: \(peak) KiB")
        #expect(peak < 64 * 1024, "peak resident memory \(peak) KiB")
        #expect(!child.output.contains(ProxyHarness.clientSecret))
    }
}

/// A child process left running while the test talks to it; its output goes to a file.
final class LongRunning {
    let process = Process()
    let outputPath: String

    static func start(_ executable: String, _ arguments: [String], environment: [String: String]) throws
        -> LongRunning
    {
        let child = try LongRunning(outputPath: TemporaryDirectory.make("child") + "/output")
        _ = FileManager.default.createFile(atPath: child.outputPath, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: child.outputPath))
        child.process.executableURL = URL(fileURLWithPath: executable)
        child.process.arguments = arguments
        child.process.environment = environment
        child.process.standardOutput = handle
        child.process.standardError = handle
        child.process.standardInput = FileHandle.nullDevice
        try child.process.run()
        return child
    }

    private init(outputPath: String) { self.outputPath = outputPath }

    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    func waitForOutput(_ text: String, timeout: Double = 10) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !output.contains(text) {
            guard Date() < deadline, process.isRunning else { throw TestFailure("no \"\(text)\" in: \(output)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// VmHWM from /proc: the most resident memory the process ever had.
    func peakResidentKiB() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        else { return nil }
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
        return line.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true)[1]) }
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        RunLog.append(output)
    }
}
