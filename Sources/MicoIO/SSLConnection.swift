import COpenSSL
import Glibc

/// The outcome of one non-blocking step of a TLS session.
enum SSLStep<Value: Sendable>: Sendable {
    /// The step finished with this value.
    case done(Value)
    /// OpenSSL needs the socket to become readable; retry the same step then.
    case wantRead
    /// OpenSSL needs the socket to become writable; retry the same step then.
    case wantWrite
    /// The step failed; the session is unusable (except for `close`).
    case failed(any Error)
}

/// Owns one `SSL*` bound to a socket and turns each OpenSSL call into an `SSLStep`.
///
/// Not thread-safe on its own: `TLSStream` calls it only while holding its `Mutex`.
// @unchecked Sendable: every access happens under the `Mutex<SSLConnection>` in the TLSStream
// that owns this object; it is never reachable any other way.
final class SSLConnection: @unchecked Sendable {
    /// The name the client expects the server's certificate to carry.
    enum PeerName: Equatable {
        /// A DNS name: sent as SNI and matched with `SSL_set1_host`.
        case dns(String)
        /// An IPv4 or IPv6 literal: no SNI (RFC 6066 §3), matched against IP SANs.
        case ip(String)

        /// Classifies `serverName`; a bracketed IPv6 literal and one trailing dot are accepted.
        init(parsing serverName: String) throws {
            var name = serverName
            if name.hasPrefix("["), name.hasSuffix("]") {
                name = String(name.dropFirst().dropLast())
            } else if name.hasSuffix(".") {
                // RFC 6066 §3: the HostName is sent without a trailing dot.
                name = String(name.dropLast())
            }
            guard !name.isEmpty, name.utf8.count <= 253, name.utf8.allSatisfy({ (0x21...0x7E).contains($0) })
            else {
                throw TLSError(
                    .configuration,
                    "invalid server name '\(serverName)': use an ASCII host name (IDNs in xn-- form) or an IP literal"
                )
            }
            if Self.isIPLiteral(name) {
                self = .ip(name)
            } else {
                self = .dns(name)
            }
        }

        private static func isIPLiteral(_ name: String) -> Bool {
            var v4 = in_addr()
            var v6 = in6_addr()
            return inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1
        }

        var text: String {
            switch self {
            case .dns(let name), .ip(let name): return name
            }
        }
    }

    /// The owned `SSL*`; freed in `deinit`, before `context` can release the `SSL_CTX`.
    let pointer: OpaquePointer
    /// What the session's BIO knows about its socket (see `SocketBIO`); freed in `deinit`, after the `SSL`.
    private let socketState: UnsafeMutablePointer<SocketBIO.State>
    /// Keeps the `SSL_CTX` alive for as long as the `SSL` exists.
    let context: TLSContext
    /// The expected peer name (clients only).
    let peerName: PeerName?
    private(set) var handshakeComplete = false
    /// Set after `SSL_ERROR_SSL` / `SSL_ERROR_SYSCALL`, after which `SSL_shutdown` must not be called.
    private(set) var hadFatalError = false
    private(set) var isClosed = false

    /// Creates an `SSL` over `fileDescriptor` (which stays owned by the transport).
    init(context: TLSContext, fileDescriptor: Int32, peerName: PeerName?) throws {
        OpenSSLErrorQueue.clear()
        guard let pointer = SSL_new(context.pointer) else {
            throw TLSError(
                .configuration,
                "SSL_new: " + OpenSSLErrorQueue.describe(OpenSSLErrorQueue.drain(), fallback: "failed")
            )
        }
        self.pointer = pointer
        self.context = context
        self.peerName = peerName
        socketState = .allocate(capacity: 1)
        socketState.initialize(to: SocketBIO.State(fileDescriptor: fileDescriptor))

        guard let bio = SocketBIO.make(over: socketState) else {
            throw TLSError(
                .configuration,
                "BIO_new: " + OpenSSLErrorQueue.describe(OpenSSLErrorQueue.drain(), fallback: "failed"))
        }
        // One reference, for both directions.
        SSL_set_bio(pointer, bio, bio)
        guard context.isClient else {
            SSL_set_accept_state(pointer)
            return
        }
        SSL_set_connect_state(pointer)
        switch peerName {
        case .dns(let name):
            try check("cannot send SNI '\(name)'") {
                Int32(truncatingIfNeeded: COpenSSL_SSL_set_tlsext_host_name($0, name))
            }
            // RFC 6125 §6.4.3: a wildcard is a whole left-most label, never part of one.
            SSL_set_hostflags(pointer, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
            try check("cannot require the host name '\(name)'") { SSL_set1_host($0, name) }
        case .ip(let address):
            try check("cannot require the IP address '\(address)'") {
                X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param($0), address)
            }
        case nil:
            throw TLSError(.configuration, "a client session needs the server name to verify")
        }
    }

    deinit {
        SSL_free(pointer)
        socketState.deinitialize(count: 1)
        socketState.deallocate()
    }

    /// The SNI host name the client sent (server side), if any.
    var requestedServerName: String? {
        SSL_get_servername(pointer, TLSEXT_NAMETYPE_host_name).map { String(cString: $0) }
    }

    /// Whether OpenSSL holds input not yet returned by `SSL_read` (decrypted, or raw bytes read ahead).
    var hasBufferedInput: Bool {
        SSL_has_pending(pointer) == 1
    }

    /// Whether OpenSSL's last read of the socket emptied it (see `SocketBIO`).
    var lastReadEmptiedSocket: Bool {
        socketState.pointee.lastReadEmptied
    }

    /// How often OpenSSL read the socket so far.
    var socketReads: UInt64 {
        socketState.pointee.reads
    }

    /// Input may be in the socket that no read saw: `lastReadEmptiedSocket` is false until the next read says.
    func forgetEmptiedSocket() {
        socketState.pointee.lastReadEmptied = false
    }

    /// The session to offer on a new connection to the same server, if this one's can be resumed (in TLS 1.3, once
    /// the server's ticket arrived, which comes after the handshake).
    var resumableSession: TLSSession? {
        guard handshakeComplete, !hadFatalError, let session = SSL_get1_session(pointer) else { return nil }
        guard SSL_SESSION_is_resumable(session) == 1 else {
            SSL_SESSION_free(session)
            return nil
        }
        return TLSSession(owning: session)
    }

    /// Offers `session` in the handshake (clients, before it starts).
    func offer(_ session: TLSSession) throws {
        try check("cannot offer the TLS session") { SSL_set_session($0, session.pointer) }
    }

    /// Whether the handshake resumed an offered session.
    var isResumed: Bool {
        SSL_session_reused(pointer) == 1
    }

    /// The negotiated protocol, e.g. `"TLSv1.3"`.
    var protocolVersion: String {
        String(cString: SSL_get_version(pointer))
    }

    // MARK: Steps

    /// One handshake step. A client succeeds only with a verified chain matching `peerName`.
    func handshake() -> SSLStep<Void> {
        if isClosed { return .failed(IOError(.closed, call: "SSL_do_handshake")) }
        let outcome = perform { SSL_do_handshake($0) }
        if context.isClient, let failure = certificateFailure(after: outcome) {
            hadFatalError = true
            return .failed(failure)
        }
        switch outcome {
        case .ok:
            handshakeComplete = true
            return .done(())
        case .wantRead: return .wantRead
        case .wantWrite: return .wantWrite
        case .closeNotify, .eof:
            return .failed(TLSError(.handshake, "the peer closed the connection during the handshake"))
        case .systemError(let code):
            return .failed(IOError.fromErrno(code, call: "SSL_do_handshake"))
        case .sslError(let entries):
            return .failed(
                TLSError(.handshake, OpenSSLErrorQueue.describe(entries, fallback: "SSL_do_handshake failed")))
        }
    }

    /// One read of at most `maxBytes` decrypted bytes; `[]` once the peer's `close_notify` arrived.
    func read(maxBytes: Int) -> SSLStep<[UInt8]> {
        if isClosed { return .failed(IOError(.closed, call: "SSL_read")) }
        var outcome = CallOutcome.ok
        let bytes = readIntoArray(maxBytes: maxBytes) { buffer in
            var read = 0
            outcome = perform { SSL_read_ex($0, buffer.baseAddress, buffer.count, &read) }
            return outcome == .ok ? read : 0
        }
        switch outcome {
        case .ok: return .done(bytes)
        case .closeNotify: return .done([])
        default: return failure(outcome, call: "SSL_read")
        }
    }

    /// One write of a prefix of `bytes` (at least one record); returns how many bytes it took.
    func write(_ bytes: UnsafeRawBufferPointer) -> SSLStep<Int> {
        if isClosed { return .failed(IOError(.closed, call: "SSL_write")) }
        var written = 0
        let outcome = perform { SSL_write_ex($0, bytes.baseAddress, bytes.count, &written) }
        switch outcome {
        case .ok: return .done(written)
        case .closeNotify:
            return .failed(TLSError(.protocolError, "SSL_write: the peer has shut the session down"))
        default: return failure(outcome, call: "SSL_write")
        }
    }

    /// Marks the session closed and, if it is healthy and `sendingCloseNotify`, sends `close_notify` once without
    /// waiting. Returns false when it was already closed.
    func close(sendingCloseNotify: Bool = true) -> Bool {
        if isClosed { return false }
        isClosed = true
        if sendingCloseNotify && handshakeComplete && !hadFatalError {
            // Best effort: a full socket buffer (WANT_WRITE) just means no close_notify.
            OpenSSLErrorQueue.clear()
            _ = SSL_shutdown(pointer)
            OpenSSLErrorQueue.clear()
        }
        return true
    }

    // MARK: OpenSSL calls

    private enum CallOutcome: Equatable {
        case ok
        case wantRead
        case wantWrite
        /// The peer sent `close_notify` (`SSL_ERROR_ZERO_RETURN`).
        case closeNotify
        /// Transport EOF without `close_notify`.
        case eof
        /// A socket error, with the `errno` captured right after the call.
        case systemError(Int32)
        case sslError([OpenSSLErrorEntry])

        static func == (lhs: CallOutcome, rhs: CallOutcome) -> Bool {
            switch (lhs, rhs) {
            case (.ok, .ok), (.wantRead, .wantRead), (.wantWrite, .wantWrite), (.closeNotify, .closeNotify),
                (.eof, .eof):
                return true
            case (.systemError(let a), .systemError(let b)): return a == b
            case (.sslError(let a), .sslError(let b)): return a.map(\.code) == b.map(\.code)
            default: return false
            }
        }
    }

    /// Runs one `SSL_*` call that returns 1 (or > 0) on success, with a clean error queue before it
    /// and the queue drained right after, on this thread.
    private func perform(_ call: (OpaquePointer) -> Int32) -> CallOutcome {
        OpenSSLErrorQueue.clear()
        errno = 0
        let result = call(pointer)
        let savedErrno = errno
        if result > 0 {
            OpenSSLErrorQueue.clear()
            return .ok
        }
        let code = SSL_get_error(pointer, result)
        let entries = OpenSSLErrorQueue.drain()
        switch code {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closeNotify
        case SSL_ERROR_SYSCALL:
            hadFatalError = true
            if !entries.isEmpty { return .sslError(entries) }
            // OpenSSL 1.1.1 reported a bare EOF this way (errno 0).
            return savedErrno == 0 ? .eof : .systemError(savedErrno)
        default:
            // SSL_ERROR_SSL; OpenSSL 3 reports EOF without close_notify as SSL_R_UNEXPECTED_EOF_WHILE_READING.
            hadFatalError = true
            return entries.contains(where: \.isUnexpectedEOF) ? .eof : .sslError(entries)
        }
    }

    /// Maps a read or write outcome other than `.ok` / `.closeNotify` to the step callers see.
    private func failure<Value>(_ outcome: CallOutcome, call: String) -> SSLStep<Value> {
        switch outcome {
        case .ok, .closeNotify: preconditionFailure("failure(_:call:) needs a failed outcome")
        case .wantRead: return .wantRead
        case .wantWrite: return .wantWrite
        case .eof:
            return .failed(
                TLSError(
                    .unexpectedEOF,
                    "\(call): the peer closed the connection without close_notify; data may be truncated")
            )
        case .systemError(let code):
            return .failed(IOError.fromErrno(code, call: call))
        case .sslError(let entries):
            return .failed(
                TLSError(.protocolError, "\(call): " + OpenSSLErrorQueue.describe(entries, fallback: "failed")))
        }
    }

    /// A client's certificate failure, if the handshake step ended with one: a failed verify result
    /// (fail closed) or, after success, a missing peer certificate.
    private func certificateFailure(after outcome: CallOutcome) -> TLSError? {
        let name = peerName?.text ?? "?"
        let result = SSL_get_verify_result(pointer)
        if result != X509_V_OK {
            let reason = String(cString: X509_verify_cert_error_string(result))
            return TLSError(
                .certificate,
                "the certificate of '\(name)' did not verify: \(reason) (X509 error \(result)); "
                    + "check the trusted CA file and the configured server name"
            )
        }
        if outcome == .ok && SSL_get0_peer_certificate(pointer) == nil {
            return TLSError(.certificate, "'\(name)' presented no certificate")
        }
        return nil
    }

    /// Runs a setup call (1 = success); throws a `.configuration` error otherwise.
    private func check(_ message: String, _ call: (OpaquePointer) -> Int32) throws {
        OpenSSLErrorQueue.clear()
        let result = call(pointer)
        let entries = OpenSSLErrorQueue.drain()
        guard result == 1 else {
            throw TLSError(.configuration, "\(message): " + OpenSSLErrorQueue.describe(entries, fallback: "failed"))
        }
    }
}
