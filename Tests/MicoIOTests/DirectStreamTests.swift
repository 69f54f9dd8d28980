import Dispatch
import Glibc
import MicoIO
import Testing

/// `DirectStream` sorts a stream into the kind it calls directly, and its calls reach the stream either way.
@Suite("DirectStream")
struct DirectStreamTests {
    @Test("a SocketChannel is called directly; bytes go both ways through the enum")
    func socketChannel() async throws {
        let pair = try await SocketChannelTests.connectedPair()
        defer { pair.close() }
        let client = DirectStream(pair.client)
        let server = DirectStream(pair.server)
        guard case .socket(let socket) = client else {
            Issue.record("a SocketChannel became \(client)")
            return
        }
        #expect(socket === pair.client)
        try await client.write(Array("ping".utf8), deadline: .now() + 5)
        #expect(try await server.read(maxBytes: 64, deadline: .now() + 5) == Array("ping".utf8))
        try await server.write(Array("pong".utf8)[...], deadline: .now() + 5)
        #expect(try await client.read(maxBytes: 64, deadline: .now() + 5) == Array("pong".utf8))
        client.close()
        #expect(pair.client.isClosed)
    }

    @Test("any other stream is called through the protocol")
    func otherStream() async throws {
        var fds: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds) == 0)
        defer { Glibc.close(fds[1]) }
        let socket = LoopbackSocket(adopting: fds[0])
        let stream = DirectStream(socket)
        guard case .other(let other) = stream else {
            Issue.record("a test's stream became \(stream)")
            return
        }
        #expect(other === socket)
        try await stream.write(Array("over".utf8), deadline: .now() + 5)
        var bytes = [UInt8](repeating: 0, count: 16)
        #expect(recv(fds[1], &bytes, 16, 0) == 4)
        #expect(send(fds[1], "back", 4, 0) == 4)
        #expect(try await stream.read(maxBytes: 16, deadline: .now() + 5) == Array("back".utf8))
        stream.close()
    }
}
