import Dispatch
import MicoIO

/// A raw TCP client for what curl will not send: pipelined requests, malformed framing, an Expect handshake.
struct RawClient {
    let channel: SocketChannel

    static func connect(port: UInt16) async throws -> RawClient {
        let channel = try await SocketChannel.connect(
            to: SocketAddress(ipLiteral: "127.0.0.1", port: port)!, deadline: .now() + 5)
        return RawClient(channel: channel)
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
