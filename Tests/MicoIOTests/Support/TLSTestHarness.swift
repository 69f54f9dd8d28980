import Dispatch
import MicoIO
import MicoTestSupport

/// Builds TLS sessions over loopback TCP for the tests.
enum TLSTestHarness {
    /// A generous deadline: the machine is shared, and a hang should fail, not stall CI.
    static func deadline(seconds: Int = 30) -> DispatchTime {
        .now() + .seconds(seconds)
    }

    /// A server context presenting the `localhost` leaf signed by the test CA.
    static func serverContext() throws -> TLSContext {
        let certificates = try TestCertificates.shared()
        return try TLSContext.server(
            certificateChainFile: certificates.leafCertificateFile, privateKeyFile: certificates.leafKeyFile
        )
    }

    /// A server context presenting a leaf signed by the untrusted CA.
    static func untrustedServerContext() throws -> TLSContext {
        let certificates = try TestCertificates.shared()
        return try TLSContext.server(
            certificateChainFile: certificates.untrustedLeafCertificateFile,
            privateKeyFile: certificates.untrustedLeafKeyFile
        )
    }

    /// A client context trusting only the test CA.
    static func clientContext() throws -> TLSContext {
        try TLSContext.client(caFile: TestCertificates.shared().caFile)
    }

    /// An established pair over loopback, plus the server's raw socket.
    struct Pair: Sendable {
        var client: TLSStream
        var server: TLSStream
        var serverSocket: LoopbackSocket
        var listener: LoopbackListener

        func close() {
            client.close()
            server.close()
            listener.close()
        }
    }

    /// Connects a client to a fresh server (with fresh contexts unless given), offering `session` for resumption;
    /// both handshakes must succeed.
    static func connectedPair(
        serverName: String = "localhost", serverContext: TLSContext? = nil, clientContext: TLSContext? = nil,
        resuming session: TLSSession? = nil
    ) async throws -> Pair {
        let listener = try LoopbackListener()
        let serverContext = try serverContext ?? Self.serverContext()
        let clientContext = try clientContext ?? Self.clientContext()
        let deadline = deadline()
        let serverTask = Task { () throws -> (TLSStream, LoopbackSocket) in
            let socket = try await listener.accept(deadline: deadline)
            return (try await TLSStream.accept(over: socket, context: serverContext, deadline: deadline), socket)
        }
        do {
            let socket = try await LoopbackSocket.connect(port: listener.port, deadline: deadline)
            let client = try await TLSStream.connect(
                over: socket, context: clientContext, serverName: serverName, deadline: deadline, resuming: session
            )
            let (server, serverSocket) = try await serverTask.value
            return Pair(client: client, server: server, serverSocket: serverSocket, listener: listener)
        } catch {
            listener.close()
            _ = await serverTask.result
            throw error
        }
    }

    /// What the server half saw of a connection that is expected to fail.
    struct ServerOutcome: Sendable {
        /// Application data the server read before the session ended.
        var received: [UInt8]
        /// How the server half ended, if it failed.
        var error: (any Error)?
    }

    /// Runs a client handshake that is expected to fail against a server using `serverContext`,
    /// and reports both sides.
    static func failingConnect(
        serverContext: TLSContext,
        clientContext: TLSContext,
        serverName: String,
        resuming session: TLSSession? = nil
    ) async throws -> (clientError: (any Error)?, server: ServerOutcome) {
        let listener = try LoopbackListener()
        defer { listener.close() }
        let deadline = deadline()
        let serverTask = Task { () -> ServerOutcome in
            var received: [UInt8] = []
            do {
                let socket = try await listener.accept(deadline: deadline)
                let stream = try await TLSStream.accept(over: socket, context: serverContext, deadline: deadline)
                defer { stream.close() }
                while true {
                    let bytes = try await stream.read(maxBytes: 4096, deadline: deadline)
                    if bytes.isEmpty { return ServerOutcome(received: received, error: nil) }
                    received += bytes
                }
            } catch {
                return ServerOutcome(received: received, error: error)
            }
        }
        let socket = try await LoopbackSocket.connect(port: listener.port, deadline: deadline)
        var clientError: (any Error)?
        do {
            let client = try await TLSStream.connect(
                over: socket, context: clientContext, serverName: serverName, deadline: deadline, resuming: session
            )
            // Not expected; if it happens, show that data would flow.
            try await client.write(Array("leak".utf8), deadline: deadline)
            client.close()
        } catch {
            clientError = error
        }
        return (clientError, await serverTask.value)
    }

    /// Reads until `count` bytes arrived or the stream ended.
    static func read(_ stream: any ByteStream, count: Int, deadline: DispatchTime) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        while bytes.count < count {
            let chunk = try await stream.read(maxBytes: min(64 * 1024, count - bytes.count), deadline: deadline)
            if chunk.isEmpty { break }
            bytes += chunk
        }
        return bytes
    }
}
