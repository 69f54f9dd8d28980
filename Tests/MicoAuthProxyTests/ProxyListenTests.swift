import Foundation
import MicoAuthProxy
import MicoIO
import MicoTestSupport
import Testing

/// Every kind of `listen` entry, reached by curl.
@Suite("Listening")
struct ProxyListenTests {
    @Test("127.0.0.1, [::1], localhost and a unix socket, all at once")
    func everyKindOfEntry() async throws {
        let directory = try TemporaryDirectory.make("listen")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socketPath = directory + "/proxy.sock"
        // A stale socket file, as a crashed run leaves it (the listener is released without close()), is replaced.
        do {
            let stale = try Listener(bind: SocketAddress(unixPath: socketPath)!)
            #expect(stale.address.family == AF_UNIX)
        }
        #expect(access(socketPath, F_OK) == 0)
        let harness = try await ProxyHarness.start(configure: { configuration, _ in
            configuration.listen = [
                .tcp(host: "127.0.0.1", port: 0), .tcp(host: "::1", port: 0), .tcp(host: "localhost", port: 0),
                .unix(path: socketPath),
            ]
            configuration.unixSocketMode = 0o660
        })
        try await harness.waitUntilReady()
        let addresses = harness.proxy.listenAddresses
        #expect(addresses.count == 4)
        for address in addresses where address.family != AF_UNIX {
            let response = try await Curl.run(["http://\(address)/v1/echo"])
            #expect(response.status == 200, "\(address)")
        }
        let viaUnix = try await Curl.run(["--unix-socket", socketPath, "http://localhost/v1/echo"])
        #expect(viaUnix.status == 200)
        var info = stat()
        #expect(stat(socketPath, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o660)
        #expect(harness.stopAndFindLeaks().isEmpty)
        // Stopping removes the socket file.
        #expect(access(socketPath, F_OK) != 0)
    }

    @Test("a unix socket path where another process listens is refused, not stolen")
    func liveSocketIsNotReplaced() async throws {
        let directory = try TemporaryDirectory.make("listen")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socketPath = directory + "/busy.sock"
        let busy = try Listener(bind: SocketAddress(unixPath: socketPath)!)
        busy.start { $0.close() }
        defer { busy.close() }
        #expect(throws: (any Error).self) {
            _ = try Listener(bind: SocketAddress(unixPath: socketPath)!)
        }
    }
}
