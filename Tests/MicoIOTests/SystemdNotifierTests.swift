import Glibc
import MicoIO
import MicoTestSupport
import Testing

@Suite("sd_notify messages without libsystemd")
struct SystemdNotifierTests {
    @Test("without NOTIFY_SOCKET nothing is sent and nothing fails")
    func disabledWithoutSocket() throws {
        for environment in [[:], ["NOTIFY_SOCKET": ""]] {
            let notifier = try SystemdNotifier(environment: environment)
            #expect(!notifier.isEnabled)
            #expect(notifier.destination == nil)
            try notifier.ready(status: "x")
            try notifier.watchdog()
        }
    }

    @Test("messages reach a socket path and an abstract @name, one datagram each", arguments: [false, true])
    func messagesArrive(abstract: Bool) async throws {
        let socket = try NotifySocket(abstract: abstract)
        let notifier = try SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.name])
        #expect(notifier.isEnabled)
        try notifier.ready(status: "token valid for 23h41m")
        try notifier.status("token endpoint failing: line one\nline two")
        try notifier.watchdog()
        try notifier.stopping()
        try await socket.waitFor("four messages") { $0 == "STOPPING=1" }
        #expect(
            socket.messages() == [
                "READY=1\nSTATUS=token valid for 23h41m",
                "STATUS=token endpoint failing: line one line two",
                "WATCHDOG=1",
                "STOPPING=1",
            ])
    }

    @Test("RELOADING=1 carries MONOTONIC_USEC read on CLOCK_MONOTONIC")
    func reloading() async throws {
        let socket = try NotifySocket(abstract: true)
        let notifier = try SystemdNotifier(socket: socket.name)
        let before = SystemdNotifier.monotonicMicroseconds()
        try notifier.reloading()
        let after = SystemdNotifier.monotonicMicroseconds()
        let message = try await socket.waitFor("RELOADING=1") { $0.hasPrefix("RELOADING=1") }
        let lines = message.split(separator: "\n")
        #expect(lines.count == 2)
        let usec = try #require(lines.last.flatMap { UInt64($0.dropFirst("MONOTONIC_USEC=".count)) })
        #expect(lines.last?.hasPrefix("MONOTONIC_USEC=") == true)
        #expect(before <= usec && usec <= after)
    }

    @Test("a NOTIFY_SOCKET that names no reachable unix socket is an error, not a silent no-op")
    func unusableSocket() throws {
        for value in ["relative/notify.sock", "vsock:2:1234", "@", "/" + String(repeating: "x", count: 200)] {
            #expect(throws: IOError.self, "\(value)") { try SystemdNotifier(socket: value) }
        }
        let missing = try SystemdNotifier(socket: "/nonexistent-\(UInt32.random(in: 0...UInt32.max))/notify")
        #expect(throws: IOError.self) { try missing.ready() }
    }

    @Test("WATCHDOG_USEC counts only for this process (WATCHDOG_PID) and only when positive")
    func watchdogEnvironment() {
        let pid: pid_t = 4242
        #expect(
            SystemdNotifier.watchdogMicroseconds(environment: ["WATCHDOG_USEC": "30000000"], pid: pid) == 30_000_000)
        #expect(
            SystemdNotifier.watchdogMicroseconds(
                environment: ["WATCHDOG_USEC": "400000", "WATCHDOG_PID": "4242"], pid: pid) == 400_000)
        #expect(
            SystemdNotifier.watchdogMicroseconds(
                environment: ["WATCHDOG_USEC": "400000", "WATCHDOG_PID": "1"], pid: pid)
                == nil)
        #expect(
            SystemdNotifier.watchdogMicroseconds(
                environment: ["WATCHDOG_USEC": "400000", "WATCHDOG_PID": "x"], pid: pid) == nil)
        for usec in ["0", "-5", "", "1e6", "soon"] {
            #expect(SystemdNotifier.watchdogMicroseconds(environment: ["WATCHDOG_USEC": usec], pid: pid) == nil)
        }
        #expect(SystemdNotifier.watchdogMicroseconds(environment: [:], pid: pid) == nil)
    }

    @Test("the watchdog pings at its interval and stops when told")
    func watchdogPings() async throws {
        let socket = try NotifySocket(abstract: true)
        let notifier = try SystemdNotifier(socket: socket.name)
        let watchdog = SystemdWatchdog(notifier: notifier, intervalMicroseconds: 50_000)
        try await socket.waitFor("three pings", timeout: 5) { _ in
            socket.messages().filter { $0 == "WATCHDOG=1" }.count >= 3
        }
        watchdog.stop()
        try await Task.sleep(for: .milliseconds(100))  // a ping already on its way may still land
        let afterStop = socket.messages().count
        try await Task.sleep(for: .milliseconds(300))
        #expect(socket.messages().count == afterStop)
        #expect(Set(socket.messages()) == ["WATCHDOG=1"])
    }
}
