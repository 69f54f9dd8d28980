import MicoHTTP

/// What the proxy refuses to forward, whatever the upstream would say: it carries a credential, so it must not
/// act as an open proxy (RFC 9112 §3.2 request-target forms).
enum Policy {
    /// The refusal for `request`, or nil when it may be served.
    static func refusal(for request: HTTPRequestHead) -> ProxyError? {
        switch request.method {
        case "CONNECT":
            return .methodNotAllowed("CONNECT", reason: "this is not a tunnelling proxy")
        case "TRACE":
            // TRACE would echo the injected Authorization header back to the caller.
            return .methodNotAllowed("TRACE", reason: "it would reflect the injected credentials")
        default:
            break
        }
        // Only origin-form (RFC 9112 §3.2.1) is forwarded: absolute-form, authority-form and asterisk-form aim
        // the credential at another host or at the proxy itself.
        guard request.target.hasPrefix("/"), !request.target.hasPrefix("//") else {
            return .badTarget("only origin-form request targets (\"/path?query\") are forwarded")
        }
        return nil
    }
}
