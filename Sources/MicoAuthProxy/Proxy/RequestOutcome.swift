import MicoHTTP

/// How one request ended, for the connection loop (keep it open?), the access log and the metrics.
struct RequestOutcome: Sendable {
    /// Whether the client connection may carry another request.
    var keepOpen: Bool
    /// The status sent to the client; 0 when none was (the connection was cut first).
    var status: Int
    /// Request body bytes read from the client.
    var bytesIn: UInt64 = 0
    /// Response body bytes written to the client.
    var bytesOut: UInt64 = 0
    /// Seconds from sending the request upstream to its response head, for forwarded requests.
    var upstreamSeconds: Double?
    /// The request was sent again after a 401.
    var replayed = false
}

/// One finished request as observers see it. The target's query may hold tokens of the caller's own; observers
/// decide whether to keep it.
public struct RequestRecord: Sendable {
    public var method: String
    /// The request target as received: the path, and the query if there is one.
    public var target: String
    public var status: Int
    public var bytesIn: UInt64
    public var bytesOut: UInt64
    /// Seconds from the request head's arrival to the end of the response.
    public var durationSeconds: Double
    public var upstreamSeconds: Double?
    public var replayed: Bool

    /// Path without the query.
    public var path: Substring { HTTPRequestHead.split(target: target).path }
    /// The query, without the `?`; empty when none.
    public var query: Substring { HTTPRequestHead.split(target: target).query }
}

/// Told about every finished request (access log, metrics). Called on the connection's task: keep it quick.
public protocol RequestObserver: Sendable {
    func observe(_ record: RequestRecord)
}

extension ContinuousClock.Instant {
    /// Seconds from this instant to `later`.
    func seconds(to later: Self) -> Double {
        let elapsed = duration(to: later).components
        return Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
    }
}
