/// A field's name as the header rules see it: its bytes, and which of the names they look at it is.
///
/// Which name a field has is found once, when the field is stored (decoded or added), so the rules a proxy applies
/// to every field of every message (hop-by-hop, framing, `Host`, its own credentials) compare a byte instead of
/// spelling out names again.
public struct HTTPFieldName {
    /// The name as stored.
    public let bytes: UnsafeBufferPointer<UInt8>
    /// Which name it is, ignoring ASCII case.
    public let known: Known

    /// The names the header rules look at.
    public enum Known: UInt8, Sendable {
        case other
        case host, contentLength, transferEncoding, connection, keepAlive, te, trailer, upgrade, proxyConnection
        case authorization, proxyAuthorization, expect
        /// Any name starting `Access-Control-` (the CORS response fields).
        case accessControl

        /// Which name `name` is, ignoring ASCII case.
        init(_ name: UnsafeBufferPointer<UInt8>) {
            if name.count >= 15 && ASCII.hasPrefixIgnoringCase(name, "access-control-") {
                self = .accessControl
                return
            }
            self =
                switch name.count {
                case 2 where ASCII.equalsIgnoringCase(name, "te"): .te
                case 4 where ASCII.equalsIgnoringCase(name, "host"): .host
                case 6 where ASCII.equalsIgnoringCase(name, "expect"): .expect
                case 7 where ASCII.equalsIgnoringCase(name, "trailer"): .trailer
                case 7 where ASCII.equalsIgnoringCase(name, "upgrade"): .upgrade
                case 10 where ASCII.equalsIgnoringCase(name, "connection"): .connection
                case 10 where ASCII.equalsIgnoringCase(name, "keep-alive"): .keepAlive
                case 13 where ASCII.equalsIgnoringCase(name, "authorization"): .authorization
                case 14 where ASCII.equalsIgnoringCase(name, "content-length"): .contentLength
                case 16 where ASCII.equalsIgnoringCase(name, "proxy-connection"): .proxyConnection
                case 17 where ASCII.equalsIgnoringCase(name, "transfer-encoding"): .transferEncoding
                case 19 where ASCII.equalsIgnoringCase(name, "proxy-authorization"): .proxyAuthorization
                default: .other
                }
        }
    }
}
