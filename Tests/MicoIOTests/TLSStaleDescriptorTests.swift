import Dispatch
import MicoIO
import Synchronization
import Testing

/// A session must not write to its transport's descriptor once the transport is closed: the kernel hands the number
/// to the next socket the process opens, and in the test process, which runs suites in parallel, that is often a
/// proxy test's client. `TLSStreamTests` once closed a server socket under its live session; the session's later
/// `close()` sent its close_notify (a 24-byte TLS record) into such a client's connection, in front of its request,
/// and the proxy answered 400 (`bare_lf`, `bare_cr` or `invalid_method`, depending on the record's random bytes).
@Suite("TLS sessions over a transport closed underneath them")
struct TLSStaleDescriptorTests {
    /// A transport whose `close()` only marks it closed and keeps the socket: the session sees what it would see
    /// after a real close, and no descriptor number is freed for another test to take meanwhile.
    final class MarkClosedTransport: ReadinessWaiting, ByteStream, Sendable {
        let socket: LoopbackSocket
        private let closed = Mutex(false)

        init(_ socket: LoopbackSocket) { self.socket = socket }

        var fileDescriptor: Int32 { socket.fileDescriptor }
        var isClosed: Bool { closed.withLock { $0 } }
        func beginReadAttempt() -> Bool { socket.beginReadAttempt() }

        func waitUntilReadable(deadline: DispatchTime) async throws {
            try await socket.waitUntilReadable(deadline: deadline)
        }

        func waitUntilWritable(deadline: DispatchTime) async throws {
            try await socket.waitUntilWritable(deadline: deadline)
        }

        func read(maxBytes: Int, deadline: DispatchTime) async throws -> [UInt8] {
            try await socket.read(maxBytes: maxBytes, deadline: deadline)
        }

        func write(_ bytes: ArraySlice<UInt8>, deadline: DispatchTime) async throws {
            try await socket.write(bytes, deadline: deadline)
        }

        func close() { closed.withLock { $0 = true } }
    }

    @Test("close() sends no close_notify over a transport that was closed underneath the session")
    func noCloseNotifyAfterTheTransportClosed() async throws {
        let listener = try LoopbackListener()
        defer { listener.close() }
        let serverContext = try TLSTestHarness.serverContext()
        let clientContext = try TLSTestHarness.clientContext()
        let deadline = TLSTestHarness.deadline()
        let serverTask = Task { () throws -> (TLSStream, MarkClosedTransport) in
            let transport = MarkClosedTransport(try await listener.accept(deadline: deadline))
            return (try await TLSStream.accept(over: transport, context: serverContext, deadline: deadline), transport)
        }
        let socket = try await LoopbackSocket.connect(port: listener.port, deadline: deadline)
        let client = try await TLSStream.connect(
            over: socket, context: clientContext, serverName: "localhost", deadline: deadline)
        defer { client.close() }
        let (server, transport) = try await serverTask.value
        defer { transport.socket.close() }
        try await server.write(Array("partial".utf8), deadline: deadline)
        #expect(try await TLSTestHarness.read(client, count: 7, deadline: deadline) == Array("partial".utf8))

        transport.close()
        server.close()

        // A close_notify would end the client's stream cleanly; nothing at all may arrive.
        do {
            let bytes = try await client.read(maxBytes: 100, deadline: .now() + 0.5)
            Issue.record("the session wrote to its closed transport: the client read \(bytes.count) bytes")
        } catch let error as IOError where error.kind == .timedOut {
            // Nothing came: right.
        }
    }
}
