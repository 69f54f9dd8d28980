import COpenSSL

/// An incremental SHA-256 digest (FIPS 180-4), computed by OpenSSL's EVP interface.
///
/// A value type: a copy continues independently of the original.
public struct SHA256: Sendable {
    private var storage: Storage

    /// Starts an empty digest.
    public init() {
        storage = Storage()
    }

    /// Feeds `bytes` into the digest.
    public mutating func update<Bytes: Sequence<UInt8>>(_ bytes: Bytes) {
        if !isKnownUniquelyReferenced(&storage) {
            storage = storage.copy()
        }
        let done: Void? = bytes.withContiguousStorageIfAvailable { storage.update(UnsafeRawBufferPointer($0)) }
        if done == nil {
            Array(bytes).withUnsafeBytes { storage.update($0) }
        }
    }

    /// The digest of everything fed so far (32 bytes). The value can still be updated afterwards.
    public func finalize() -> [UInt8] {
        storage.copy().finish()
    }

    /// The digest of everything fed so far, as 64 lowercase hex digits.
    public func finalizeHex() -> String {
        Self.hexString(finalize())
    }

    /// The SHA-256 of `bytes` as 64 lowercase hex digits.
    public static func hex(_ bytes: [UInt8]) -> String {
        var digest = SHA256()
        digest.update(bytes)
        return digest.finalizeHex()
    }

    private static func hexString(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Owns one `EVP_MD_CTX`.
    // @unchecked Sendable: no lock; copy-on-write instead. `update` writes only a uniquely
    // referenced Storage, and `finalize` reads a possibly shared one through EVP_MD_CTX_copy_ex
    // (read-only on its source), so a Storage reachable from two threads is never written.
    private final class Storage: @unchecked Sendable {
        private let context: OpaquePointer

        init() {
            // Allocation or init failure means OpenSSL is out of memory or misinstalled.
            guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed") }
            self.context = context
            guard EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
                fatalError("EVP_DigestInit_ex(SHA-256) failed: \(Self.drainedErrors())")
            }
        }

        private init(copying other: Storage) {
            guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed") }
            self.context = context
            guard EVP_MD_CTX_copy_ex(context, other.context) == 1 else {
                fatalError("EVP_MD_CTX_copy_ex failed: \(Self.drainedErrors())")
            }
        }

        deinit {
            EVP_MD_CTX_free(context)
        }

        func copy() -> Storage {
            Storage(copying: self)
        }

        func update(_ bytes: UnsafeRawBufferPointer) {
            guard bytes.count > 0 else { return }
            guard EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) == 1 else {
                fatalError("EVP_DigestUpdate failed: \(Self.drainedErrors())")
            }
        }

        /// Finishes this context; call it on a private copy only.
        func finish() -> [UInt8] {
            var length: UInt32 = 0
            let digest = [UInt8](unsafeUninitializedCapacity: Int(EVP_MAX_MD_SIZE)) { buffer, count in
                guard EVP_DigestFinal_ex(context, buffer.baseAddress, &length) == 1 else {
                    fatalError("EVP_DigestFinal_ex failed: \(Self.drainedErrors())")
                }
                count = Int(length)
            }
            return digest
        }

        private static func drainedErrors() -> String {
            OpenSSLErrorQueue.describe(OpenSSLErrorQueue.drain(), fallback: "no OpenSSL error")
        }
    }
}
