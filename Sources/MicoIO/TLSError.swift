/// A TLS failure: configuration that OpenSSL refused, a failed handshake or certificate check,
/// a protocol error on an established session, or a transport EOF without `close_notify`.
public struct TLSError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of failure this is; more kinds may be added.
    public struct Kind: Equatable, Hashable, Sendable, CustomStringConvertible {
        private let raw: UInt8
        private init(_ raw: UInt8) { self.raw = raw }

        /// The peer's certificate chain did not verify, or does not match the expected name.
        public static let certificate = Kind(1)
        /// The handshake failed for another reason (alert from the peer, no shared cipher, …).
        public static let handshake = Kind(2)
        /// An established session failed (bad record, alert from the peer, …).
        public static let protocolError = Kind(3)
        /// The transport reached EOF without the peer's `close_notify` (RFC 8446 §6.1): the data
        /// read so far may be truncated. Callers decide whether that matters.
        public static let unexpectedEOF = Kind(4)
        /// A certificate, key or CA file could not be loaded, or OpenSSL refused a setting.
        public static let configuration = Kind(5)

        public var description: String {
            switch self {
            case .certificate: return "certificate verification failed"
            case .handshake: return "handshake failed"
            case .protocolError: return "protocol error"
            case .unexpectedEOF: return "unexpected EOF"
            case .configuration: return "configuration error"
            default: return "error \(raw)"
            }
        }
    }

    /// What kind of failure this is.
    public var kind: Kind
    /// For people: OpenSSL's reason strings, or the certificate verify result, and what to check.
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "TLS \(kind): \(message)" }
}
