/// The per-request metrics, kept under one lock taken once per request and written out in the Prometheus text format
/// (version 0.0.4) when the page is rendered: requests by method and status code, and the two duration histograms.
///
/// swift-prometheus' histograms take a lock each and add to every bucket at or above the value, and its counters
/// were found per label pair in a dictionary: together about 1,300 instructions per proxied request (callgrind),
/// against about 300 for this, the lock included.
struct RequestTallies: Sendable {
    /// The status codes a series can have: `0` (no response sent) and `100...999`.
    static let codes = 1000

    /// Non-cumulative counts: `counts[i]` holds the values in `(bounds[i-1], bounds[i]]`, the last one those above
    /// every bound; they are summed up when written.
    struct Histogram: Sendable {
        private(set) var counts: [UInt64]
        private(set) var sum: Double = 0
        private(set) var count: UInt64 = 0

        init(bucketCount: Int) {
            counts = Array(repeating: 0, count: bucketCount + 1)
        }

        mutating func record(_ value: Double, bounds: [Double]) {
            var index = 0
            while index < bounds.count && value > bounds[index] { index += 1 }
            counts[index] += 1
            sum += value
            count += 1
        }
    }

    var counts = RequestCounts()
    /// Requests by method label (its index in `ProxyMetrics.methodLabels`), then status code; a method's array is made
    /// when its first request is counted.
    private(set) var byMethod: [[UInt64]]
    private(set) var requestDuration: Histogram
    private(set) var upstreamDuration: Histogram

    init(methods: Int, buckets: Int) {
        byMethod = Array(repeating: [], count: methods)
        requestDuration = Histogram(bucketCount: buckets)
        upstreamDuration = Histogram(bucketCount: buckets)
    }

    /// Counts one request; `code` is in `0..<codes`.
    mutating func add(
        method: Int, code: Int, status: Int, replayed: Bool, seconds: Double, upstreamSeconds: Double?,
        bounds: [Double]
    ) {
        if byMethod[method].isEmpty { byMethod[method] = Array(repeating: 0, count: Self.codes) }
        byMethod[method][code] += 1
        counts.add(status: status, replayed: replayed)
        requestDuration.record(seconds, bounds: bounds)
        if let upstreamSeconds { upstreamDuration.record(upstreamSeconds, bounds: bounds) }
    }
}

/// Writing metrics in the Prometheus text exposition format, version 0.0.4.
enum PrometheusText {
    static func header(_ name: String, help: String, type: String, into page: inout [UInt8]) {
        page += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n".utf8
    }

    /// A histogram's `_bucket` (cumulative, then `+Inf`), `_sum` and `_count` lines.
    static func histogram(
        _ name: String, help: String, _ histogram: RequestTallies.Histogram, bounds: [Double], into page: inout [UInt8]
    ) {
        header(name, help: help, type: "histogram", into: &page)
        var cumulative: UInt64 = 0
        for (index, count) in histogram.counts.enumerated() {
            cumulative += count
            let bound = index < bounds.count ? "\(bounds[index])" : "+Inf"
            page += "\(name)_bucket{le=\"\(bound)\"} \(cumulative)\n".utf8
        }
        page += "\(name)_sum \(histogram.sum)\n\(name)_count \(histogram.count)\n".utf8
    }
}
