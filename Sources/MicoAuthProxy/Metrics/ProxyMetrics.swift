import CoreMetrics
import Prometheus
import Synchronization

/// The proxy's Prometheus metrics, in a registry of its own rather than the process-wide `MetricsSystem` (tests run
/// many servers in one process, and a library must not bootstrap it). Requests are counted as a ``RequestObserver``,
/// token fetches through ``TokenCache``'s `onFetch`; the gauges that mirror state are set just before rendering.
///
/// Requests for `/-/metrics` and `/-/status` are not observed: a scrape does not count itself or the scrapes before
/// it, so two scrapes with no traffic between them show the same counters.
final class ProxyMetrics: RequestObserver {
    /// The Prometheus text exposition format, version 0.0.4.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    /// The method label's values; any other method is counted as `OTHER`, so clients cannot grow the label set.
    static let methodLabels = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"]
    /// Prometheus' default buckets, plus 30 s and 60 s for slow API calls, in seconds. (Seconds as Doubles: a
    /// histogram compares each value with every bucket, and comparing `Duration`s cost ten times more.)
    static let durationBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    static let requestsName = "mico_proxy_requests_total"
    static let requestsHelp = "Requests answered, by method and status code (0: no response was sent)."
    static let requestDurationName = "mico_proxy_request_duration_seconds"
    static let requestDurationHelp = "Seconds from a request head's arrival to the end of its response."
    static let upstreamDurationName = "mico_proxy_upstream_duration_seconds"
    static let upstreamDurationHelp = "Seconds from sending a forwarded request upstream to its response head."

    let registry = PrometheusCollectorRegistry()
    private let tokenFetchSuccesses: Prometheus.Counter
    private let tokenFetchFailures: Prometheus.Counter
    private let tokenExpiry: Prometheus.Gauge
    private let tokenValid: Prometheus.Gauge
    private let replays: Prometheus.Counter
    private let openConnections: Prometheus.Gauge
    private let upstreamPoolIdle: Prometheus.Gauge
    /// Requests by method and code, and the duration histograms: written out by `render` (see `RequestTallies`).
    private let tallies = Mutex(RequestTallies(methods: methodLabels.count, buckets: durationBuckets.count))

    init() {
        let fetches = Self.name("token_fetches", unit: "total", help: "Token fetches that finished, by result.")
        tokenFetchSuccesses = registry.makeCounter(descriptor: fetches, labels: [("result", "success")])
        tokenFetchFailures = registry.makeCounter(descriptor: fetches, labels: [("result", "failure")])
        tokenExpiry = registry.makeGauge(
            descriptor: Self.name(
                "token_expiry", unit: "seconds", help: "Seconds the held token stays valid; 0 without one."))
        tokenValid = registry.makeGauge(
            descriptor: Self.name("token_valid", unit: "", help: "1 while a valid token is held, else 0."))
        replays = registry.makeCounter(
            descriptor: Self.name("replays", unit: "total", help: "Requests sent again with a new token after a 401."))
        openConnections = registry.makeGauge(
            descriptor: Self.name("open_connections", unit: "", help: "Client connections open now."))
        upstreamPoolIdle = registry.makeGauge(
            descriptor: Self.name("upstream_pool_idle", unit: "", help: "Idle upstream connections kept for reuse."))
    }

    /// `mico_proxy_<metric>_<unit>`.
    private static func name(_ metric: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mico", subsystem: "proxy", metricName: metric, unitName: unit, helpText: help)
    }

    /// A swift-metrics factory over this registry, for code that records through the swift-metrics API.
    var factory: any MetricsFactory { PrometheusMetricsFactory(registry: registry) }

    /// Requests counted so far.
    var requestCounts: RequestCounts { tallies.withLock { $0.counts } }

    func observe(_ record: RequestRecord) {
        // A scrape counts neither itself nor the scrapes before it.
        if AdminEndpoints.isAdmin(record.target) {
            let path = record.path
            guard path != "/-/metrics" && path != "/-/status" else { return }
        }
        // The status code; `0` when no response was sent (or the status was not a three-digit code).
        let code = (100...999).contains(record.status) ? record.status : 0
        let method = Self.methodIndex(record.method)
        tallies.withLock {
            $0.add(
                method: method, code: code, status: record.status, replayed: record.replayed,
                seconds: max(0, record.durationSeconds), upstreamSeconds: record.upstreamSeconds.map { max(0, $0) },
                bounds: Self.durationBuckets)
        }
        if record.replayed { replays.increment() }
    }

    func recordTokenFetch(succeeded: Bool) {
        (succeeded ? tokenFetchSuccesses : tokenFetchFailures).increment()
    }

    /// The metrics page, after setting the gauges from the given state.
    func render(openConnections open: Int, upstreamPoolIdle idle: Int, token: TokenDiagnostics) -> [UInt8] {
        openConnections.set(to: Double(open))
        upstreamPoolIdle.set(to: Double(idle))
        tokenValid.set(to: token.hasValidToken ? 1 : 0)
        tokenExpiry.set(to: max(0, token.secondsLeft ?? 0))
        var page: [UInt8] = []
        registry.emit(into: &page)
        writeTallies(into: &page)
        return page
    }

    /// The request series and the duration histograms, from a copy taken under the lock.
    private func writeTallies(into page: inout [UInt8]) {
        let tallies = tallies.withLock { $0 }
        if tallies.byMethod.contains(where: { !$0.isEmpty }) {
            PrometheusText.header(Self.requestsName, help: Self.requestsHelp, type: "counter", into: &page)
            for (method, codes) in tallies.byMethod.enumerated() {
                let label = Self.methodLabels[method]
                for (code, count) in codes.enumerated() where count > 0 {
                    page += "\(Self.requestsName){method=\"\(label)\",code=\"\(code)\"} \(count)\n".utf8
                }
            }
        }
        PrometheusText.histogram(
            Self.requestDurationName, help: Self.requestDurationHelp, tallies.requestDuration,
            bounds: Self.durationBuckets, into: &page)
        PrometheusText.histogram(
            Self.upstreamDurationName, help: Self.upstreamDurationHelp, tallies.upstreamDuration,
            bounds: Self.durationBuckets, into: &page)
    }

    /// The index of `method`'s label in `methodLabels`: `OTHER`'s for any method not listed.
    static func methodIndex(_ method: String) -> Int {
        methodLabels.firstIndex(of: method) ?? methodLabels.count - 1
    }
}
