import CoreMetrics

extension ProxyServer {
    /// Requests answered so far, by status class; `/-/metrics` and `/-/status` requests are not counted.
    public var requestCounts: RequestCounts { metrics.requestCounts }

    /// A swift-metrics factory over the registry behind `/-/metrics`: an executable that runs one server may
    /// `MetricsSystem.bootstrap` with it so metrics recorded through the swift-metrics API appear there too.
    public var metricsFactory: any MetricsFactory { metrics.factory }

    /// The `/-/metrics` page in the Prometheus text format, with the state gauges read now.
    public func metricsPage() -> [UInt8] {
        metrics.render(
            openConnections: openConnectionCount, upstreamPoolIdle: idleUpstreamConnections,
            token: tokens.diagnostics)
    }

    /// The `/-/status` report as of now.
    public var statusReport: StatusReport {
        let token = tokens.diagnostics
        let started = startedAt.withLock { $0 }
        return StatusReport(
            version: MicoAuthProxyVersion.current,
            uptimeSeconds: started.map { $0.seconds(to: .now) } ?? 0,
            listeners: listenAddresses.map { "\($0)" },
            upstream: configuration.upstream.description,
            token: StatusReport.Token(
                valid: token.hasValidToken, secondsLeft: max(0, token.secondsLeft ?? 0),
                lastFetchSecondsAgo: token.secondsSinceLastFetch,
                lastSuccessSecondsAgo: token.secondsSinceLastSuccess, lastError: token.lastError,
                consecutiveFailures: token.consecutiveFailures, description: tokens.status.description),
            requests: StatusReport.Requests(counts: requestCounts),
            openConnections: openConnectionCount, upstreamPoolIdle: idleUpstreamConnections)
    }
}
