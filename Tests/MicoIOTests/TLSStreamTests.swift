import Dispatch
import Glibc
import MicoIO
import Testing

@Suite("TLSStream over loopback TCP")
struct TLSStreamTests {
    @Test("handshake, then data both ways")
    func echoBothWays() async throws {
        let pair = try await TLSTestHarness.connectedPair()
        defer { pair.close() }
        let deadline = TLSTestHarness.deadline()

        #expect(pair.client.protocolVersion == "TLSv1.3")
        #expect(pair.server.requestedServerName == "localhost")

        try await pair.client.write(Array("ping from client".utf8), deadline: deadline)
        let atServer = try await TLSTestHarness.read(pair.server, count: 16, deadline: deadline)
        #expect(String(decoding: atServer, as: UTF8.self) == "ping from client")

        try await pair.server.write(Array("pong: ".utf8) + atServer, deadline: deadline)
        let atClient = try await TLSTestHarness.read(pair.client, count: 22, deadline: deadline)
        #expect(String(decoding: atClient, as: UTF8.self) == "pong: ping from client")
    }

    @Test("4 MiB each way at once, one reader and one writer task per side")
    func largePayloadsConcurrently() async throws {
        let pair = try await TLSTestHarness.connectedPair()
        defer { pair.close() }
        let deadline = TLSTestHarness.deadline(seconds: 120)
        let size = 4 * 1024 * 1024
        let upload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ ($0 >> 13)) }
        let download = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ ($0 >> 11) &+ 1) }

        // Neither side reads until it has written a lot, so both hit WANT_WRITE on a full socket.
        async let clientWrite: Void = pair.client.write(upload, deadline: deadline)
        async let serverWrite: Void = pair.server.write(download, deadline: deadline)
        async let atServer = TLSTestHarness.read(pair.server, count: size, deadline: deadline)
        async let atClient = TLSTestHarness.read(pair.client, count: size, deadline: deadline)
        try await clientWrite
        try await serverWrite
        let (received, returned) = try await (atServer, atClient)

        #expect(received.count == size)
        #expect(returned.count == size)
        #expect(SHA256.hex(received) == SHA256.hex(upload))
        #expect(returned == download)
    }

    @Test("close_notify from the peer: read returns [] (and keeps doing so)")
    func closeNotifyEndsStream() async throws {
        let pair = try await TLSTestHarness.connectedPair()
        defer { pair.close() }
        let deadline = TLSTestHarness.deadline()

        try await pair.server.write(Array("bye".utf8), deadline: deadline)
        pair.server.close()

        let last = try await TLSTestHarness.read(pair.client, count: 3, deadline: deadline)
        #expect(last == Array("bye".utf8))
        #expect(try await pair.client.read(maxBytes: 100, deadline: deadline) == [])
        #expect(try await pair.client.read(maxBytes: 100, deadline: deadline) == [])
    }

    @Test("transport EOF without close_notify is .unexpectedEOF, not end of stream")
    func eofWithoutCloseNotify() async throws {
        let pair = try await TLSTestHarness.connectedPair()
        defer { pair.close() }
        let deadline = TLSTestHarness.deadline()

        try await pair.server.write(Array("partial".utf8), deadline: deadline)
        // FIN without close_notify: a truncation attack looks like this. Only the sending side is shut: closing the
        // socket under its live session would free a descriptor number that `pair.close()` later sends the session's
        // close_notify to, by then maybe another test's socket (a proxy test's request once began with it).
        _ = shutdown(pair.serverSocket.fileDescriptor, Int32(SHUT_WR))

        let first = try await TLSTestHarness.read(pair.client, count: 7, deadline: deadline)
        #expect(first == Array("partial".utf8))
        let error = await #expect(throws: TLSError.self) {
            _ = try await pair.client.read(maxBytes: 100, deadline: deadline)
        }
        #expect(error?.kind == .unexpectedEOF)
    }

    @Test("close() is idempotent, fails later calls with .closed and wakes a waiting reader")
    func closeFailsPendingAndLaterCalls() async throws {
        let pair = try await TLSTestHarness.connectedPair()
        defer { pair.close() }
        let deadline = TLSTestHarness.deadline()

        let client = pair.client
        let reader = Task { try await client.read(maxBytes: 100, deadline: deadline) }
        // Let the reader reach its wait; the result is the same if it has not yet.
        try await Task.sleep(for: .milliseconds(100))
        pair.client.close()
        pair.client.close()

        let pending = await reader.result
        #expect(throws: IOError.self) { try pending.get() }
        let readError = await #expect(throws: IOError.self) {
            _ = try await pair.client.read(maxBytes: 1, deadline: deadline)
        }
        #expect(readError?.kind == .closed)
        let writeError = await #expect(throws: IOError.self) {
            try await pair.client.write(Array("x".utf8), deadline: deadline)
        }
        #expect(writeError?.kind == .closed)
        // The client's close sent close_notify: the server sees a clean end of stream.
        #expect(try await pair.server.read(maxBytes: 100, deadline: deadline) == [])
    }

    @Test("a peer that never speaks TLS: the handshake times out and the transport is closed")
    func handshakeTimesOut() async throws {
        let listener = try LoopbackListener()
        defer { listener.close() }
        let context = try TLSTestHarness.clientContext()
        let silentPeer = Task { try await listener.accept(deadline: TLSTestHarness.deadline()) }
        let socket = try await LoopbackSocket.connect(port: listener.port, deadline: TLSTestHarness.deadline())

        let started = DispatchTime.now()
        let error = await #expect(throws: IOError.self) {
            _ = try await TLSStream.connect(
                over: socket, context: context, serverName: "localhost", deadline: .now() + .milliseconds(300)
            )
        }
        #expect(error?.kind == .timedOut)
        #expect(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds < 10_000_000_000)
        let afterFailure = await #expect(throws: IOError.self) {
            _ = try await socket.read(maxBytes: 1, deadline: TLSTestHarness.deadline())
        }
        #expect(afterFailure?.kind == .closed)
        try await silentPeer.value.close()
    }
}
