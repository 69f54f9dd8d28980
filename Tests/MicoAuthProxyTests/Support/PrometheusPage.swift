import Foundation

/// A `/-/metrics` page parsed from the Prometheus text format: one sample per `name{labels} value` line.
struct PrometheusPage {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    var samples: [Sample]
    var text: String

    /// Parses `text`; throws on a sample line that is not `name value` or `name{k="v",…} value`.
    init(_ text: String) throws {
        self.text = text
        samples = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                throw TestFailure("not a sample line: \(line)")
            }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else {
                samples.append(Sample(name: String(series), labels: [:], value: value))
                continue
            }
            guard series.hasSuffix("}") else { throw TestFailure("unterminated labels: \(line)") }
            var labels: [String: String] = [:]
            let inner = series[series.index(after: brace)..<series.index(before: series.endIndex)]
            // The proxy's label values hold no comma, quote or backslash, so a plain split is enough here.
            for pair in inner.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[1].hasPrefix("\""), parts[1].hasSuffix("\""), parts[1].count >= 2 else {
                    throw TestFailure("bad label \(pair) in: \(line)")
                }
                labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
            }
            samples.append(Sample(name: String(series[..<brace]), labels: labels, value: value))
        }
    }

    /// The value of the one sample named `name` with exactly `labels`; nil when there is none.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    /// The sum of every sample named `name` (all label sets).
    func sum(_ name: String) -> Double {
        samples.filter { $0.name == name }.reduce(0) { $0 + $1.value }
    }

    /// Fetches and parses `/-/metrics`.
    static func fetch(_ baseURL: String) async throws -> PrometheusPage {
        let response = try await Curl.run(["\(baseURL)/-/metrics"])
        guard response.status == 200 else { throw TestFailure("/-/metrics answered \(response.status)") }
        return try PrometheusPage(response.bodyText)
    }

    /// Fetches `/-/metrics` until `mico_proxy_requests_total` adds up to `total` (up to 10 s): observers run just
    /// after a response is written, so a client may see the response a moment before it is counted.
    static func waitForRequests(_ total: Double, at baseURL: String) async throws -> PrometheusPage {
        var page = try await fetch(baseURL)
        for _ in 0..<200 where page.sum("mico_proxy_requests_total") < total {
            try await Task.sleep(for: .milliseconds(50))
            page = try await fetch(baseURL)
        }
        return page
    }
}
