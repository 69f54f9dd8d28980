import FoundationEssentials

extension ProxyConfiguration {
    /// The effective settings as pretty JSON for `check-config`: every config key in snake_case,
    /// sorted, plus `client_secret` shown as `********`, `client_secret_source` and `egress_proxy_source`.
    /// Neither the secret's value nor the egress proxy's user name and password ever appear.
    public func renderedForDisplay() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(DisplayedConfiguration(configuration: self)) else { return "{}" }
        var text = String(decoding: data, as: UTF8.self)
        // A safety net for a secret that was also pasted into another setting (say client_id).
        // Short secrets are left alone: masking "10" would garble numbers, and such a secret is no secret.
        let secret = clientSecret.value
        if secret.utf8.count >= 8 {
            var forms = [secret]
            if let encoded = try? encoder.encode([secret]) {
                let json = String(decoding: encoded, as: UTF8.self)
                if let open = json.firstIndex(of: "\""), let close = json.lastIndex(of: "\""), open < close {
                    forms.append(String(json[json.index(after: open)..<close]))
                }
            }
            for form in forms { text = text.replacing(form, with: Secret.mask) }
        }
        return text
    }
}

/// The JSON shape of `renderedForDisplay()`.
private struct DisplayedConfiguration: Encodable {
    var configuration: ProxyConfiguration

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: ConfigurationKey.self)
        func put<Value: Encodable>(_ key: String, _ value: Value?) throws {
            if let value {
                try container.encode(value, forKey: ConfigurationKey(key))
            } else {
                try container.encodeNil(forKey: ConfigurationKey(key))
            }
        }
        let c = configuration
        try put("listen", c.listen.map(\.description))
        try put("allow_non_loopback", c.allowNonLoopback)
        try put("unix_socket_mode", "0" + String(c.unixSocketMode, radix: 8))
        try put("upstream", c.upstream.description)
        try put("token_url", c.tokenURL.description)
        try put("client_id", c.clientID)
        try put("client_secret", Secret.mask)
        try put("client_secret_source", c.clientSecretSource)
        try put("client_secret_file", c.clientSecretFile)
        try put("scope", c.scope)
        try put("ca_file", c.caFile)
        try put("refresh_margin_seconds", c.refreshMarginSeconds)
        try put("token_wait_seconds", c.tokenWaitSeconds)
        try put("upstream_connect_timeout_seconds", c.upstreamConnectTimeoutSeconds)
        try put("upstream_response_timeout_seconds", c.upstreamResponseTimeoutSeconds)
        try put("allowed_hosts", c.allowedHosts)
        try put("allowed_origins", c.allowedOrigins)
        try put("allowed_uids", c.allowedUIDs)
        try put("allowed_gids", c.allowedGIDs)
        try put("max_request_line_bytes", c.maxRequestLineBytes)
        try put("max_header_bytes", c.maxHeaderBytes)
        try put("max_header_count", c.maxHeaderCount)
        try put("max_request_body_bytes", c.maxRequestBodyBytes)
        try put("request_header_timeout_seconds", c.requestHeaderTimeoutSeconds)
        try put("client_idle_timeout_seconds", c.clientIdleTimeoutSeconds)
        try put("client_body_timeout_seconds", c.clientBodyTimeoutSeconds)
        try put("shutdown_timeout_seconds", c.shutdownTimeoutSeconds)
        try put("max_connections", c.maxConnections)
        try put("replay_buffer_bytes", c.replayBufferBytes)
        try put("egress_proxy", c.egressProxy?.description)
        try put("egress_proxy_source", c.egressProxySource)
        try put("no_proxy", c.noProxy)
        try put("log_level", c.logLevel.rawValue)
        try put("log_format", c.logFormat.rawValue)
        try put("access_log", c.accessLog)
        try put("access_log_query", c.accessLogQuery)
    }
}
