/// How a message's body is delimited on the wire (RFC 9112 §6.3).
public enum HTTPBodyFraming: Sendable, Equatable {
    /// No body follows the head.
    case none
    /// Exactly this many bytes follow the head.
    case contentLength(UInt64)
    /// The body uses the chunked transfer coding.
    case chunked
    /// The body runs until the connection closes (responses only).
    case untilClose
}
