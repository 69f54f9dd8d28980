import COpenSSL

/// A TLS session a client may resume on a new connection to the same server (RFC 8446 §2.2, RFC 5077): the
/// server then proves it holds the session's key instead of its certificate, and neither side pays for the
/// certificate's signature and chain verification again.
///
/// Offer a session only to the server it came from: the same host name and port, under the same trust store
/// (one pool per upstream keeps this so). A server that declines it gets a full, verified handshake.
// @unchecked Sendable: the SSL_SESSION is never changed after it is taken from its connection (OpenSSL replaces a
// connection's session rather than changing it once it may be shared) and is reference counted under OpenSSL's
// own lock when a connection takes it up.
public final class TLSSession: @unchecked Sendable {
    /// The owned reference to the `SSL_SESSION*`; released in `deinit`.
    let pointer: OpaquePointer

    init(owning pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        SSL_SESSION_free(pointer)
    }
}
