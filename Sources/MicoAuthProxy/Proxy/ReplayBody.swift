import MicoHTTP

/// A copy of a request body kept while it is streamed upstream, so the request can be sent again; it stops
/// keeping (and drops what it kept) once the body outgrows its limit.
struct ReplayBody {
    private(set) var bytes: [UInt8] = []
    let limit: Int
    /// False once the body outgrew `limit`.
    private(set) var isKeeping = true
    /// The whole body has been read from the client.
    var complete: Bool
    /// The body has been read from the client (completely or not): it cannot be read again.
    var consumed: Bool
    /// Body bytes read from the client so far.
    private(set) var bytesRead: UInt64 = 0

    init(limit: Int, hasBody: Bool) {
        self.limit = limit
        self.complete = !hasBody
        self.consumed = !hasBody
    }

    /// Whether the request can be sent again: its whole body is in hand (or it has none).
    var isReplayable: Bool { complete && isKeeping }

    mutating func keep(_ part: [UInt8]) {
        bytesRead += UInt64(part.count)
        guard isKeeping else { return }
        if bytes.count + part.count > limit {
            isKeeping = false
            bytes = []
        } else {
            bytes += part
        }
    }

    /// The kept body in the framing the proxy sends upstream.
    func encoded(framing: HTTPBodyFraming) -> [UInt8] {
        guard framing == .chunked else { return bytes }
        var out: [UInt8] = []
        HTTPChunkedEncoder.encodeChunk(bytes[...], into: &out)
        return out + HTTPChunkedEncoder.lastChunk
    }
}
