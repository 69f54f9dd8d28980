import Dispatch
import MicoHTTP
import MicoIO

/// Opens a TCP tunnel to the upstream through an HTTP egress proxy with `CONNECT` (RFC 9110 §9.3.6), for
/// networks that reach the internet only that way. TLS then runs end to end inside the tunnel, so the upstream's
/// certificate is verified as without the proxy, and the proxy sees neither the token nor the secret.
enum EgressTunnel {
    /// Connects to the proxy at `proxyHost:proxyPort` and asks it for `targetAuthority` (`host:port`).
    /// `proxyAuthorization` is sent as `Proxy-Authorization` and never logged. Throws `UpstreamFailure`.
    static func open(
        proxyHost: String, proxyPort: UInt16, proxyAuthorization: String?, targetAuthority: String,
        deadline: DispatchTime
    ) async throws -> SocketChannel {
        let proxyOrigin = "egress proxy \(proxyHost.contains(":") ? "[\(proxyHost)]" : proxyHost):\(proxyPort)"
        let channel: SocketChannel
        do {
            channel = try await SocketChannel.connect(host: proxyHost, port: proxyPort, deadline: deadline)
        } catch {
            throw UpstreamFailure(error, phase: .connect, origin: proxyOrigin)
        }
        do {
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: targetAuthority)
            if let proxyAuthorization { headers.add(name: "Proxy-Authorization", value: proxyAuthorization) }
            var request: [UInt8] = []
            HTTPRequestHead(method: "CONNECT", target: targetAuthority, version: .http1_1, headers: headers)
                .serialize(into: &request)
            try await channel.write(request, deadline: deadline)
            var reader = HTTPReader(stream: channel)
            var decoder = HTTPResponseHeadDecoder()
            let (response, _) = try await reader.readResponseHead(
                &decoder, requestMethod: "CONNECT", deadline: deadline)
            guard (200..<300).contains(response.status) else {
                var failure = UpstreamFailure(
                    status: 502, code: "egress_proxy_refused",
                    message: "\(proxyOrigin) answered \(response.status) to CONNECT \(targetAuthority)"
                        + (response.status == 407 ? " (check the credentials in egress_proxy)" : ""),
                    proxyStatusError: "destination_unavailable")
                failure.closesClient = false
                throw failure
            }
            // The server speaks only after our TLS ClientHello: anything already here is not from it.
            guard !reader.hasBufferedBytes else {
                throw UpstreamFailure(
                    status: 502, code: "egress_proxy_failed",
                    message: "\(proxyOrigin) sent data after its CONNECT response",
                    proxyStatusError: "proxy_internal_error")
            }
            return channel
        } catch {
            channel.close()
            throw UpstreamFailure(error, phase: .connect, origin: proxyOrigin)
        }
    }
}
