import COpenSSL
import Dispatch
import Synchronization

/// A TLS session over a non-blocking socket.
///
/// The stream owns its transport: `close()` closes it, and so does a failed `connect` or `accept`.
/// One reader task and one writer task may use the stream at once; every OpenSSL call on the
/// session runs under one lock that is never held across a suspension.
public final class TLSStream: ByteStream {
    private let transport: any ReadinessWaiting & ByteStream
    /// The transport when it is a `SocketChannel` (always, but in tests), whose waits `drive` calls directly: no hop
    /// back to the task's executor after them, as after a call through the protocol (see `DirectStream`).
    private let socket: SocketChannel?
    private let connection: Mutex<SSLConnection>
    private let fairness = FairnessCounter()

    private init(transport: any ReadinessWaiting & ByteStream, connection: SSLConnection) {
        self.transport = transport
        self.socket = transport as? SocketChannel
        self.connection = Mutex(connection)
    }

    /// Runs the client handshake over `transport` and returns the established session.
    ///
    /// Sends SNI `serverName` unless it is an IP literal (RFC 6066 §3), verifies the certificate
    /// chain against the context's trust store and requires it to match `serverName` (a DNS name,
    /// or an IP literal against the IP SANs). Fails closed: on any failure nothing has been sent
    /// but handshake messages, and the transport is closed.
    ///
    /// `resuming`: a session from an earlier connection to the same server and port, under the same context
    /// (`resumableSession`), offered for resumption; a server that declines it gets the full, verified handshake.
    ///
    /// - Throws: `TLSError` (`.certificate` with the verify result when the chain or name does not
    ///   verify, `.handshake`, `.configuration`), `IOError` (`.timedOut` past `deadline`).
    public static func connect(
        over transport: any ReadinessWaiting & ByteStream,
        context: TLSContext,
        serverName: String,
        deadline: DispatchTime,
        resuming session: TLSSession? = nil
    ) async throws -> TLSStream {
        do {
            guard context.isClient else {
                throw TLSError(.configuration, "connect needs a context made by TLSContext.client(caFile:)")
            }
            let peerName = try SSLConnection.PeerName(parsing: serverName)
            let connection = try SSLConnection(
                context: context, fileDescriptor: transport.fileDescriptor, peerName: peerName
            )
            if let session { try connection.offer(session) }
            let stream = TLSStream(transport: transport, connection: connection)
            try await stream.drive(deadline: deadline) { $0.handshake() }
            return stream
        } catch {
            transport.close()
            throw error
        }
    }

    /// Runs the server handshake over `transport` and returns the established session.
    ///
    /// - Throws: `TLSError` (`.handshake`, `.configuration`), `IOError` (`.timedOut` past
    ///   `deadline`). The transport is closed on failure.
    public static func accept(
        over transport: any ReadinessWaiting & ByteStream,
        context: TLSContext,
        deadline: DispatchTime
    ) async throws -> TLSStream {
        do {
            guard !context.isClient else {
                throw TLSError(
                    .configuration,
                    "accept needs a context made by TLSContext.server(certificateChainFile:privateKeyFile:)"
                )
            }
            let connection = try SSLConnection(
                context: context, fileDescriptor: transport.fileDescriptor, peerName: nil)
            let stream = TLSStream(transport: transport, connection: connection)
            try await stream.drive(deadline: deadline) { $0.handshake() }
            return stream
        } catch {
            transport.close()
            throw error
        }
    }

    /// The host name the client sent as SNI (server side); `nil` when it sent none.
    public var requestedServerName: String? {
        connection.withLock { $0.requestedServerName }
    }

    /// Whether the session holds input the socket no longer has (OpenSSL reads ahead): bytes the peer sent that no
    /// `read` returned yet.
    public var hasBufferedInput: Bool {
        connection.withLock { $0.hasBufferedInput }
    }

    /// This session's state for resuming it on a new connection to the same server, once it can be resumed; nil
    /// before (in TLS 1.3 the server's ticket comes after the handshake, with the first data read).
    public var resumableSession: TLSSession? {
        connection.withLock { $0.resumableSession }
    }

    /// Whether OpenSSL's last read of the socket took all there was (see `SocketBIO`); with no input event since,
    /// the socket is still empty.
    public var lastReadEmptiedSocket: Bool {
        connection.withLock { $0.lastReadEmptiedSocket }
    }

    /// `lastReadEmptiedSocket` and `hasBufferedInput` under one lock, for a pooled connection's idle check.
    public var idleReadState: (lastReadEmptiedSocket: Bool, hasBufferedInput: Bool) {
        connection.withLock { ($0.lastReadEmptiedSocket, $0.hasBufferedInput) }
    }

    /// Whether the handshake resumed the offered session.
    public var isResumed: Bool {
        connection.withLock { $0.isResumed }
    }

    /// The negotiated protocol version, e.g. `"TLSv1.3"`.
    public var protocolVersion: String {
        connection.withLock { $0.protocolVersion }
    }

    /// Reads at most `maxBytes` (> 0) decrypted bytes, waiting until at least one is available.
    ///
    /// Returns `[]` once the peer has sent `close_notify`. A transport EOF without it throws
    /// `TLSError` of kind `.unexpectedEOF`: what was read may be truncated, the caller decides.
    public func read(maxBytes: Int, deadline: DispatchTime) async throws -> [UInt8] {
        precondition(maxBytes > 0, "read(maxBytes:) needs maxBytes > 0")
        let bytes = try await drive(deadline: deadline, waitsWhenEmpty: true) { $0.read(maxBytes: maxBytes) }
        await fairness.completed()
        return bytes
    }

    /// Writes all of `bytes`, waiting while the socket is full.
    public func write(_ bytes: ArraySlice<UInt8>, deadline: DispatchTime) async throws {
        if connection.withLock({ $0.isClosed }) { throw IOError(.closed, call: "SSL_write") }
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            let start = offset
            offset += try await drive(deadline: deadline, reading: false) { connection in
                bytes[start...].withUnsafeBytes { connection.write($0) }
            }
        }
        await fairness.completed()
    }

    /// Sends `close_notify` once if the socket takes it without waiting, then closes the
    /// transport. Idempotent; pending and later reads and writes fail with `IOError.closed`.
    public func close() {
        // No close_notify over a transport closed underneath the session: its descriptor number may be another
        // socket's by now, and the alert would land in that connection.
        let transportOpen = !transport.isClosed
        if connection.withLock({ $0.close(sendingCloseNotify: transportOpen) }) {
            transport.close()
        }
    }

    /// Repeats `step` under the lock until it completes, awaiting readiness (outside the lock)
    /// whenever OpenSSL asks for it.
    ///
    /// OpenSSL reads the socket itself, so every attempt that may read begins with the transport's
    /// `beginReadAttempt()`. A write step does not (a concurrent reader owns that), unless OpenSSL asked it to read:
    /// with renegotiation off and the handshake done that does not happen, so it never races a reader.
    ///
    /// `waitsWhenEmpty` (reads): when OpenSSL holds no input, its last read emptied the socket and no input event came
    /// since, the step would only find nothing (a failed `recv` and `SSL_read`); it waits for input instead. That
    /// rests on every consumed input event being followed by a read: a step that began with the flag set and did not
    /// read the socket (OpenSSL had enough buffered, or was writing its session tickets) makes the BIO forget that
    /// the socket was empty, so the next step reads.
    private func drive<Value: Sendable>(
        deadline: DispatchTime,
        reading: Bool = true,
        waitsWhenEmpty: Bool = false,
        _ step: (SSLConnection) -> SSLStep<Value>
    ) async throws -> Value {
        var readsSocket = reading
        while true {
            let mayHaveInput = readsSocket ? transport.beginReadAttempt() : true
            let outcome = connection.withLock { connection -> SSLStep<Value> in
                if waitsWhenEmpty && !mayHaveInput && !connection.isClosed && connection.lastReadEmptiedSocket
                    && !connection.hasBufferedInput
                {
                    return .wantRead
                }
                let readsBefore = connection.socketReads
                let outcome = step(connection)
                // The flag said input came, and the step did not read the socket (OpenSSL had enough buffered, or
                // was writing): that input is still there, and no event will announce it again.
                if mayHaveInput && readsSocket && connection.socketReads == readsBefore {
                    connection.forgetEmptiedSocket()
                }
                return outcome
            }
            switch outcome {
            case .done(let value): return value
            case .wantRead:
                readsSocket = true
                fairness.waited()
                if let socket {
                    try await socket.waitUntilReadable(deadline: deadline)
                } else {
                    try await transport.waitUntilReadable(deadline: deadline)
                }
            case .wantWrite:
                fairness.waited()
                if let socket {
                    try await socket.waitUntilWritable(deadline: deadline)
                } else {
                    try await transport.waitUntilWritable(deadline: deadline)
                }
            case .failed(let error): throw error
            }
        }
    }
}
