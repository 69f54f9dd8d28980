import Foundation
import Glibc
import MicoAuthProxy
import MicoTestSupport
import Testing

/// The built binary under systemd's protocols, without systemd: `NOTIFY_SOCKET` read from a datagram socket the test
/// binds, `WATCHDOG_USEC`, and socket activation through `systemd-socket-activate`.
@Suite("systemd readiness, watchdog and socket activation")
struct SystemdIntegrationTests {
    static let socketActivate = "/usr/bin/systemd-socket-activate"

    /// The test process's environment without anything systemd may have set for the test runner itself.
    static func environment(_ extra: [String: String]) -> [String: String] {
        var environment = ProxyProcessTests.environment()
        for key in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
            environment.removeValue(forKey: key)
        }
        return environment.merging(extra) { _, new in new }
    }

    @Test("READY=1 once the listener is open, STATUS= with the token, WATCHDOG=1, STOPPING=1 on SIGTERM, exit 0")
    func notificationsOverPathSocket() async throws {
        let mock = try Self.startMock()
        defer { mock.stop() }
        let directory = try TemporaryDirectory.make("systemd")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let notify = try NotifySocket(abstract: false)
        let port = try freePort()
        let config = try Self.writeConfig(in: directory, listenPort: port, upstreamPort: try mock.start().port)
        let child = try LongRunning.start(
            ProxyProcessTests.binary, ["run", "--config", config],
            environment: Self.environment([
                "NOTIFY_SOCKET": notify.name, "WATCHDOG_USEC": "400000",
                "MICOVOICE_CLIENT_SECRET": ProxyHarness.clientSecret,
            ]))
        defer { child.stop() }

        let ready = try await notify.waitFor("READY=1") { $0.hasPrefix("READY=1") }
        // READY=1 is the first message, and by then the listener accepts.
        #expect(notify.messages().first == ready)
        let healthy = try await Curl.run(["http://127.0.0.1:\(port)/-/healthy"])
        #expect(healthy.status == 200)
        #expect(ready.split(separator: "\n").contains { $0.hasPrefix("STATUS=") })

        try await notify.waitFor("STATUS=token valid for …") { $0.hasPrefix("STATUS=token valid for ") }
        // WATCHDOG_USEC=400000: a ping every 200 ms.
        try await notify.waitFor("three WATCHDOG=1", timeout: 5) { _ in
            notify.messages().filter { $0 == "WATCHDOG=1" }.count >= 3
        }

        let status = try await Self.stop(child, signal: SIGTERM)
        #expect(status == 0, "\(child.output)")
        let messages = notify.messages()
        let stopping = try #require(messages.firstIndex(of: "STOPPING=1"), "\(messages)")
        #expect(stopping > messages.firstIndex(of: ready)!)
        #expect(!child.output.contains(ProxyHarness.clientSecret))
    }

    @Test("abstract @socket: a failing token endpoint shows in STATUS=, no pings for another WATCHDOG_PID, SIGINT")
    func notificationsOverAbstractSocket() async throws {
        let directory = try TemporaryDirectory.make("systemd")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let notify = try NotifySocket(abstract: true)
        #expect(notify.name.hasPrefix("@"))
        let port = try freePort()
        let config = try Self.writeConfig(in: directory, listenPort: port, upstreamPort: try freePort())
        let child = try LongRunning.start(
            ProxyProcessTests.binary, ["run", "--config", config],
            environment: Self.environment([
                "NOTIFY_SOCKET": notify.name, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1",
                "MICOVOICE_CLIENT_SECRET": ProxyHarness.clientSecret,
            ]))
        defer { child.stop() }

        try await notify.waitFor("READY=1") { $0.hasPrefix("READY=1") }
        let failing = try await notify.waitFor("STATUS=token endpoint failing") {
            $0.hasPrefix("STATUS=token endpoint failing: ")
        }
        #expect(!failing.contains(ProxyHarness.clientSecret))
        try await Task.sleep(for: .milliseconds(600))  // three intervals of the watchdog it must not run
        #expect(!notify.messages().contains("WATCHDOG=1"))

        let status = try await Self.stop(child, signal: SIGINT)
        #expect(status == 0, "\(child.output)")
        #expect(notify.messages().contains("STOPPING=1"))
    }

    @Test("socket activation through systemd-socket-activate: TCP and unix sockets passed by name, listen ignored")
    func socketActivation() async throws {
        #expect(
            FileManager.default.isExecutableFile(atPath: Self.socketActivate),
            "systemd-socket-activate is missing: apt-get install systemd")
        let mock = try Self.startMock()
        defer { mock.stop() }
        let mockPort = try mock.start().port
        let directory = try TemporaryDirectory.make("activate")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let notify = try NotifySocket(abstract: true)
        let port = try freePort()
        // Held bound (not listening) for the whole test: a port that was only free when picked could be taken by
        // another test's listener meanwhile, and then answer where this proxy must not.
        let (reservation, ignoredPort) = try reservePort(reusable: false)
        defer { close(reservation) }
        let unixPath = directory + "/proxy.sock"
        let config = try Self.writeConfig(in: directory, listenPort: ignoredPort, upstreamPort: mockPort)
        // Spawned without Foundation's Process: systemd-socket-activate closes every descriptor but the sockets before
        // it execs the proxy, including the pipe Process watches to learn that a child exited; Process then blocks in
        // waitpid and stops reporting the exit of any child (curl) in this test process.
        let child = try SpawnedProcess(
            Self.socketActivate,
            [
                "-l", "127.0.0.1:\(port)", "-l", unixPath, "--fdname=web:local",
                "-E", "NOTIFY_SOCKET=\(notify.name)", "-E", "MICOVOICE_CLIENT_SECRET=\(ProxyHarness.clientSecret)",
                ProxyProcessTests.binary, "run", "--config", config,
            ],
            environment: Self.environment([:]))
        defer { child.kill() }
        try await child.waitForOutput("Listening on \(unixPath)")

        // The first connection makes systemd-socket-activate exec the proxy with the sockets as fds 3 and 4.
        let healthy = try await Curl.run(["http://127.0.0.1:\(port)/-/healthy"])
        #expect(healthy.status == 200)
        try await notify.waitFor("READY=1") { $0.hasPrefix("READY=1") }
        #expect(child.output.contains("socket activation"))
        #expect(child.output.contains("web=127.0.0.1:\(port)"), "\(child.output)")
        #expect(child.output.contains("local=unix:\(unixPath)"), "\(child.output)")

        var ready = 0
        for _ in 0..<100 where ready != 200 {
            ready = (try? await Curl.run(["http://127.0.0.1:\(port)/-/ready"]))?.status ?? 0
            if ready != 200 { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(ready == 200)
        let forwarded = try await Curl.run(["http://127.0.0.1:\(port)/v1/outbound_calls/activated-1"])
        #expect(forwarded.status == 200, "\(forwarded.bodyText)")
        #expect(try forwarded.json()["target"] as? String == "/v1/outbound_calls/activated-1")
        let viaUnix = try await Curl.run([
            "--unix-socket", unixPath, "http://localhost/v1/outbound_calls/activated-2",
        ])
        #expect(viaUnix.status == 200, "\(viaUnix.bodyText)")
        #expect(try viaUnix.json()["target"] as? String == "/v1/outbound_calls/activated-2")
        // The default allowed_hosts comes from the passed TCP socket: another Host is still refused.
        let foreignHost = try await Curl.run(["-H", "Host: evil.example", "http://127.0.0.1:\(port)/-/healthy"])
        #expect(foreignHost.status == 403)
        // The config's listen entry was not bound.
        let ignored = try await Curl.run(["--max-time", "2", "http://127.0.0.1:\(ignoredPort)/-/healthy"])
        #expect(ignored.status == 0)

        // systemd-socket-activate execs the proxy in its own process, so this is the proxy's exit status.
        let status = try await child.stop(signal: SIGTERM)
        #expect(status == 0, "\(child.output)")
        #expect(notify.messages().contains("STOPPING=1"))
        // The unix socket file belongs to whoever created it: the proxy must not unlink it.
        #expect(FileManager.default.fileExists(atPath: unixPath))
        #expect(!child.output.contains(ProxyHarness.clientSecret))
    }

    // MARK: Helpers

    static func startMock() throws -> MockAPIServer {
        var options = MockAPIServer.Options()
        options.clientID = ProxyHarness.clientID
        options.clientSecret = ProxyHarness.clientSecret
        return try MockAPIServer(options: options, logger: LogCapture().logger())
    }

    static func writeConfig(in directory: String, listenPort: UInt16, upstreamPort: UInt16) throws -> String {
        let path = directory + "/config.json"
        try """
        {"client_id": "\(ProxyHarness.clientID)", "listen": ["127.0.0.1:\(listenPort)"],
         "upstream": "http://127.0.0.1:\(upstreamPort)", "log_level": "info"}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Sends `signal` and waits (up to 10 s, without blocking a thread) for the exit; returns the exit status.
    static func stop(_ child: LongRunning, signal: Int32) async throws -> Int32 {
        kill(child.process.processIdentifier, signal)
        for _ in 0..<500 where child.process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        guard !child.process.isRunning else { throw TestFailure("still running 10 s after signal \(signal)") }
        return child.process.terminationStatus
    }
}

/// A child started with posix_spawn and reaped with waitpid(WNOHANG); stdout and stderr go to a file.
final class SpawnedProcess {
    let pid: pid_t
    let outputPath: String
    private var status: Int32?

    init(_ executable: String, _ arguments: [String], environment: [String: String]) throws {
        outputPath = try TemporaryDirectory.make("spawn") + "/output"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard result == 0 else { throw TestFailure("posix_spawn \(executable): \(result)") }
        self.pid = pid
    }

    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// The exit status once the child has exited (128 + n for signal n); nil while it runs.
    func exitStatus() -> Int32? {
        if let status { return status }
        var raw: Int32 = 0
        guard waitpid(pid, &raw, WNOHANG) == pid else { return nil }
        status = raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        return status
    }

    func waitForOutput(_ text: String, timeout: Double = 10) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !output.contains(text) {
            guard Date() < deadline, exitStatus() == nil else { throw TestFailure("no \"\(text)\" in: \(output)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Sends `signal` and waits up to 10 s for the exit; returns the exit status.
    func stop(signal: Int32) async throws -> Int32 {
        Glibc.kill(pid, signal)
        for _ in 0..<500 where exitStatus() == nil { try await Task.sleep(for: .milliseconds(20)) }
        guard let status = exitStatus() else { throw TestFailure("still running 10 s after signal \(signal)") }
        return status
    }

    /// Kills and reaps the child if it still runs.
    func kill() {
        guard exitStatus() == nil else { return }
        Glibc.kill(pid, SIGKILL)
        var raw: Int32 = 0
        waitpid(pid, &raw, 0)
    }
}
