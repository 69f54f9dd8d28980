import Logging
import MicoHTTP

/// The access log: one `info` line per finished request, through the daemon's logger.
///
/// `msg="request"` with `method`, `path`, `status` (0 when the connection was cut before a status was sent),
/// `bytes_in` and `bytes_out` (body bytes), `duration_ms` (from the request head's arrival to the end of the
/// response), `upstream_ms` (from sending the request upstream to its response head; absent when the request was
/// not forwarded) and `replayed` (sent again with a new token after a 401). The path leaves out the query unless
/// `includeQuery` is set: a caller may carry its own tokens there. Header values are never logged.
public struct AccessLog: RequestObserver {
    private let logger: Logger
    private let includeQuery: Bool

    /// - Parameter includeQuery: whether `path` shows the query (`access_log_query`).
    public init(logger: Logger, includeQuery: Bool = false) {
        self.logger = logger
        self.includeQuery = includeQuery
    }

    public func observe(_ record: RequestRecord) {
        logger.info("request", metadata: Self.metadata(record, includeQuery: includeQuery))
    }

    static func metadata(_ record: RequestRecord, includeQuery: Bool) -> Logger.Metadata {
        let (path, query) = HTTPRequestHead.split(target: record.target)
        var metadata: Logger.Metadata = [
            "method": .string(record.method),
            "path": .string(includeQuery && !query.isEmpty ? record.target : String(path)),
            "status": .stringConvertible(record.status),
            "bytes_in": .stringConvertible(record.bytesIn),
            "bytes_out": .stringConvertible(record.bytesOut),
            "duration_ms": .stringConvertible(Milliseconds(seconds: record.durationSeconds)),
            "replayed": .stringConvertible(record.replayed),
        ]
        if let upstream = record.upstreamSeconds {
            metadata["upstream_ms"] = .stringConvertible(Milliseconds(seconds: upstream))
        }
        return metadata
    }
}

/// A duration written as milliseconds with three decimals, `12.345`: a JSON number too.
struct Milliseconds: CustomStringConvertible, Sendable {
    /// Whole microseconds, rounded; 0 for a negative or non-finite input.
    let microseconds: Int64

    init(seconds: Double) {
        let scaled = (seconds * 1_000_000).rounded()
        microseconds = scaled.isFinite && scaled > 0 ? Int64(min(scaled, 1e15)) : 0
    }

    var description: String {
        let fraction = String(microseconds % 1000)
        return "\(microseconds / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
