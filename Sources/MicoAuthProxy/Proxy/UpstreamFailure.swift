import MicoHTTP
import MicoIO

/// A failure to reach or talk to the upstream API, classified for the client's 502/504 and its
/// RFC 9209 `Proxy-Status` error type.
struct UpstreamFailure: Error, Sendable, CustomStringConvertible {
    /// Where in the exchange it happened; decides 502 versus 504 for timeouts.
    enum Phase: Sendable {
        case connect
        case send
        case awaitResponse
        case responseBody
    }

    var status: Int
    var code: String
    var message: String
    var proxyStatusError: String
    /// True once part of the response reached the client: it can only be told by a closed connection.
    var closesClient: Bool = false

    var description: String { "\(status) \(code): \(message)" }

    init(status: Int, code: String, message: String, proxyStatusError: String) {
        self.status = status
        self.code = code
        self.message = message
        self.proxyStatusError = proxyStatusError
    }

    /// Classifies any error thrown while talking to `origin` in `phase`.
    init(_ error: any Error, phase: Phase, origin: String) {
        switch error {
        case let failure as UpstreamFailure:
            self = failure
        case let error as IOError:
            self.init(io: error, phase: phase, origin: origin)
        case let error as TLSError:
            let certificate = error.kind == .certificate
            self.init(
                status: 502, code: "upstream_tls_failed",
                message: "TLS with \(origin) failed: \(error)",
                proxyStatusError: certificate ? "tls_certificate_error" : "tls_protocol_error")
        case let error as HTTPParseError:
            self.init(
                status: 502, code: "upstream_bad_response",
                message: "\(origin) sent a malformed response: \(error.message)",
                proxyStatusError: "http_protocol_error")
        case let error as HTTPReadError:
            self.init(
                status: 502, code: "upstream_bad_response", message: "\(origin): \(error)",
                proxyStatusError: "http_response_incomplete")
        default:
            self.init(
                status: 502, code: "upstream_failed", message: "\(origin): \(error)",
                proxyStatusError: "proxy_internal_error")
        }
    }

    private init(io error: IOError, phase: Phase, origin: String) {
        switch error.kind {
        case .timedOut where phase == .connect:
            self.init(
                status: 504, code: "upstream_timeout", message: "connecting to \(origin) timed out",
                proxyStatusError: "connection_timeout")
        case .timedOut:
            self.init(
                status: 504, code: "upstream_timeout", message: "\(origin) did not answer in time",
                proxyStatusError: "connection_read_timeout")
        case .nameResolution:
            self.init(
                status: 502, code: "upstream_unreachable", message: "cannot resolve \(origin): \(error)",
                proxyStatusError: "dns_error")
        case .connectionRefused:
            self.init(
                status: 502, code: "upstream_unreachable", message: "\(origin) refused the connection",
                proxyStatusError: "connection_refused")
        case .connectionReset:
            self.init(
                status: 502, code: "upstream_connection_lost", message: "\(origin) reset the connection",
                proxyStatusError: "connection_terminated")
        default:
            self.init(
                status: 502, code: phase == .connect ? "upstream_unreachable" : "upstream_connection_lost",
                message: "\(origin): \(error)",
                proxyStatusError: phase == .connect ? "destination_unavailable" : "connection_terminated")
        }
    }
}
