import Prometheus
import Testing

@testable import MicoAuthProxy

/// `ProxyMetrics.observe`, without a server: each method and code label pair is one series, counted exactly, however
/// often it is seen (the counters are kept per pair rather than asked of the registry each time).
@Suite("Metrics request counters")
struct ProxyMetricsObserveTests {
    static func record(_ method: String, _ path: String, status: Int) -> RequestRecord {
        RequestRecord(
            method: method, target: path, status: status, bytesIn: 0, bytesOut: 0, durationSeconds: 0.01,
            upstreamSeconds: nil, replayed: false)
    }

    @Test func eachLabelPairIsOneSeriesCountedExactly() throws {
        let metrics = ProxyMetrics()
        for _ in 0..<1000 { metrics.observe(Self.record("GET", "/v1/a", status: 200)) }
        for _ in 0..<3 { metrics.observe(Self.record("POST", "/v1/b", status: 201)) }
        metrics.observe(Self.record("BREW", "/v1/a", status: 418))
        metrics.observe(Self.record("get", "/v1/a", status: 418))
        metrics.observe(Self.record("GET", "/v1/a", status: 0))
        metrics.observe(Self.record("GET", "/v1/a", status: 1000))
        metrics.observe(Self.record("GET", "/-/metrics", status: 200))
        metrics.observe(Self.record("GET", "/-/status", status: 200))
        metrics.observe(Self.record("GET", "/-/healthy", status: 200))

        let token = TokenDiagnostics(consecutiveFailures: 0)
        let page = try PrometheusPage(
            String(decoding: metrics.render(openConnections: 0, upstreamPoolIdle: 0, token: token), as: UTF8.self))
        let requests = page.samples.filter { $0.name == "mico_proxy_requests_total" }
        #expect(requests.count == 4, "\(page.text)")
        #expect(page.value("mico_proxy_requests_total", ["method": "GET", "code": "200"]) == 1001)
        #expect(page.value("mico_proxy_requests_total", ["method": "POST", "code": "201"]) == 3)
        #expect(page.value("mico_proxy_requests_total", ["method": "OTHER", "code": "418"]) == 2)
        #expect(page.value("mico_proxy_requests_total", ["method": "GET", "code": "0"]) == 2)
        #expect(page.value("mico_proxy_request_duration_seconds_count") == 1008)
        #expect(metrics.requestCounts.total == 1008)
    }
}

/// `RequestTallies.Histogram`, written by `PrometheusText`, against swift-prometheus' own histogram fed the same
/// values: the proxy used the library's before it kept its own (one lock per request instead of three), and a
/// scraper must see the same lines.
@Suite("Metrics duration histograms")
struct RequestTalliesHistogramTests {
    @Test("the same lines as swift-prometheus' histogram for values below, on, between and above the bounds")
    func sameLinesAsTheLibrary() throws {
        let bounds = ProxyMetrics.durationBuckets
        let values: [Double] = [0, 0.001, 0.005, 0.0051, 0.01, 0.3, 1, 2.5, 7, 60, 60.5, 1000, 0.005, 0.2]
        var ours = RequestTallies.Histogram(bucketCount: bounds.count)
        let registry = PrometheusCollectorRegistry()
        let theirs = registry.makeValueHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "mico", subsystem: "proxy", metricName: "request_duration", unitName: "seconds",
                helpText: ProxyMetrics.requestDurationHelp),
            buckets: bounds)
        for value in values {
            ours.record(value, bounds: bounds)
            theirs.record(value)
        }
        var ourPage: [UInt8] = []
        PrometheusText.histogram(
            ProxyMetrics.requestDurationName, help: ProxyMetrics.requestDurationHelp, ours, bounds: bounds,
            into: &ourPage)
        var theirPage: [UInt8] = []
        registry.emit(into: &theirPage)
        let ourLines = String(decoding: ourPage, as: UTF8.self).split(separator: "\n")
        let theirLines = String(decoding: theirPage, as: UTF8.self).split(separator: "\n")
        #expect(ourLines == theirLines)
        #expect(ourLines.contains("mico_proxy_request_duration_seconds_bucket{le=\"0.005\"} 4"))
        #expect(ourLines.contains("mico_proxy_request_duration_seconds_bucket{le=\"+Inf\"} 14"))
    }
}
