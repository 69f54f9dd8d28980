import COpenSSL

/// Shared TLS configuration for many sessions: protocol floor, trust store, own certificate.
///
/// Create one per configuration and share it; it is safe to use from any thread once created.
// @unchecked Sendable: no lock of ours guards the SSL_CTX because nothing writes it after the
// initializer returns. Later use is SSL_new / refcounting, which OpenSSL guards with the
// SSL_CTX's own internal lock (CRYPTO_RWLOCK).
public final class TLSContext: @unchecked Sendable {
    /// The owned `SSL_CTX*`; freed in `deinit`, after every `SSLConnection` holding this context.
    let pointer: OpaquePointer
    /// True for contexts made by `client(caFile:)`.
    let isClient: Bool

    private init(pointer: OpaquePointer, isClient: Bool) {
        self.pointer = pointer
        self.isClient = isClient
    }

    deinit {
        SSL_CTX_free(pointer)
    }

    /// A client configuration: TLS 1.2 or later, forward-secret AEAD cipher suites, and peer
    /// verification on (a session whose chain or name does not verify is never established).
    ///
    /// - Parameter caFile: a PEM bundle holding the only trusted CAs; `nil` trusts the system
    ///   store.
    /// - Throws: `TLSError` (`.configuration`) naming `caFile` when it cannot be loaded.
    public static func client(caFile: String?) throws -> TLSContext {
        let context = try TLSContext(method: TLS_client_method(), isClient: true)
        SSL_CTX_set_verify(context.pointer, SSL_VERIFY_PEER, nil)
        if let caFile {
            try context.check(
                "cannot load the CA file '\(caFile)'; check that it exists, is readable and holds PEM certificates"
            ) {
                SSL_CTX_load_verify_locations($0, caFile, nil)
            }
        } else {
            try context.check("cannot load the system trust store") {
                SSL_CTX_set_default_verify_paths($0)
            }
        }
        return context
    }

    /// A server configuration (for the built-in mock API and tests): TLS 1.2 or later, no client
    /// certificates requested.
    ///
    /// - Parameters:
    ///   - certificateChainFile: PEM, the leaf first, then its intermediates.
    ///   - privateKeyFile: PEM, the leaf's private key.
    /// - Throws: `TLSError` (`.configuration`) naming the file that cannot be loaded, or both when
    ///   the key does not match the certificate.
    public static func server(certificateChainFile: String, privateKeyFile: String) throws -> TLSContext {
        let context = try TLSContext(method: TLS_server_method(), isClient: false)
        try context.check(
            "cannot load the certificate chain file '\(certificateChainFile)'; check that it exists and holds PEM"
        ) {
            SSL_CTX_use_certificate_chain_file($0, certificateChainFile)
        }
        try context.check(
            "cannot load the private key file '\(privateKeyFile)'; check that it exists and holds an unencrypted PEM key"
        ) {
            SSL_CTX_use_PrivateKey_file($0, privateKeyFile, SSL_FILETYPE_PEM)
        }
        try context.check(
            "the private key in '\(privateKeyFile)' does not match the certificate in '\(certificateChainFile)'"
        ) {
            SSL_CTX_check_private_key($0)
        }
        return context
    }

    /// Makes an `SSL_CTX` with the settings both sides share.
    private convenience init(method: OpaquePointer?, isClient: Bool) throws {
        OpenSSLErrorQueue.clear()
        guard let pointer = SSL_CTX_new(method) else {
            let errors = OpenSSLErrorQueue.drain()
            throw TLSError(
                .configuration, "SSL_CTX_new: " + OpenSSLErrorQueue.describe(errors, fallback: "failed")
            )
        }
        self.init(pointer: pointer, isClient: isClient)
        try check("cannot require TLS 1.2 or later") {
            Int32(truncatingIfNeeded: COpenSSL_SSL_CTX_set_min_proto_version($0, TLS1_2_VERSION))
        }
        // TLS 1.2 only (1.3 suites are all AEAD): forward-secret AEAD suites.
        try check("cannot set the TLS 1.2 cipher list") {
            SSL_CTX_set_cipher_list($0, Self.tls12CipherList)
        }
        // Renegotiation is a TLS 1.2 DoS and confusion vector; neither side needs it.
        SSL_CTX_set_options(pointer, COpenSSL_SSL_OP_NO_RENEGOTIATION())
        // Non-blocking writes: return after each record, and accept a retry from a buffer that
        // moved (Swift arrays do not promise a stable address between calls). An idle session frees its
        // record buffers (about 34 KiB each), as nginx does: pooled upstream connections cost little.
        _ = COpenSSL_SSL_CTX_set_mode(
            pointer,
            Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS)
        )
        // Read what the socket has, not a record header and then its body: half the read(2) calls per response.
        // OpenSSL may then hold input the socket no longer has (`TLSStream.hasBufferedInput`).
        COpenSSL_SSL_CTX_set_read_ahead(pointer, 1)
    }

    private static let tls12CipherList =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
        + "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        + "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

    /// Runs one configuration call (1 = success) with a clean error queue; throws `message` and
    /// OpenSSL's reasons otherwise.
    private func check(_ message: String, _ call: (OpaquePointer) -> Int32) throws {
        OpenSSLErrorQueue.clear()
        let result = call(pointer)
        let errors = OpenSSLErrorQueue.drain()
        guard result == 1 else {
            throw TLSError(.configuration, message + ": " + OpenSSLErrorQueue.describe(errors, fallback: "failed"))
        }
    }
}
