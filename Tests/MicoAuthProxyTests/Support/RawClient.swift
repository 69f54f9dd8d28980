import Dispatch
import Glibc
import MicoIO
import MicoTestSupport

/// A raw TCP client for what curl will not send: pipelined requests, malformed framing, an Expect handshake.
struct RawClient {
    let channel: SocketChannel

    static func connect(port: UInt16) async throws -> RawClient {
        let channel = try await SocketChannel.connect(
            to: SocketAddress(ipLiteral: "127.0.0.1", port: port)!, deadline: .now() + 5)
        return RawClient(channel: channel)
    }

    /// Connects and sends `text` in one synchronous step (a blocking connect and send on loopback, then the socket
    /// goes non-blocking for reading), for tests whose proxy-side timer starts at accept: an async connect resumes
    /// the test's task only when the cooperative pool gets to it, which on a loaded machine can be later than a
    /// short timeout.
    static func connect(port: UInt16, sending text: String) throws -> RawClient {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw IOError.fromErrno(errno, call: "socket") }
        var address = sockaddr_in.loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        let bytes = Array(text.utf8)
        guard connected == 0, Glibc.send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else {
            let code = errno
            Glibc.close(fd)
            throw IOError.fromErrno(code, call: "connect and send")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return RawClient(channel: try SocketChannel(adopting: fd))
    }

    func send(_ text: String) async throws {
        try await channel.write(Array(text.utf8), deadline: .now() + 5)
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.write(bytes, deadline: .now() + 5)
    }

    /// Reads until the peer closes (or `timeout` passes: then what arrived so far, and `closed` false).
    func readToEnd(timeout: Double = 10) async -> (text: String, closed: Bool) {
        var received: [UInt8] = []
        let deadline = DispatchTime.now() + timeout
        while true {
            do {
                let bytes = try await channel.read(maxBytes: 65536, deadline: deadline)
                if bytes.isEmpty { return (String(decoding: received, as: UTF8.self), true) }
                received += bytes
            } catch {
                return (String(decoding: received, as: UTF8.self), false)
            }
        }
    }

    /// Reads until `marker` has arrived; returns everything read.
    func read(until marker: String, timeout: Double = 10) async throws -> String {
        var received: [UInt8] = []
        let deadline = DispatchTime.now() + timeout
        while !String(decoding: received, as: UTF8.self).contains(marker) {
            let bytes = try await channel.read(maxBytes: 65536, deadline: deadline)
            if bytes.isEmpty { break }
            received += bytes
        }
        return String(decoding: received, as: UTF8.self)
    }

    func close() { channel.close() }
}
