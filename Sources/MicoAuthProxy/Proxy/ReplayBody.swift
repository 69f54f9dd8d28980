import MicoHTTP

/// A copy of a request body kept while it is streamed upstream, so the request can be sent again; it stops
/// keeping (and drops what it kept) once the body outgrows its limit.
///
/// Keeping costs no copy for the large parts a body usually arrives in: such a part's storage is shared with the
/// part that goes upstream. Small parts, and parts whose storage is mostly empty, are copied into a buffer of the
/// body's own, so a client that sends a byte at a time cannot make the kept storage much larger than `limit`
/// (at most about twice the bytes kept, plus 1 KiB per shared part).
struct ReplayBody {
    /// A part at least this large, filling at least half its storage, is kept by sharing that storage.
    static let sharedPartMinimum = 16 * 1024

    /// The kept bytes, in order.
    private(set) var parts: [[UInt8]] = []
    /// The last of `parts` is this body's own buffer, which small parts are appended to.
    private var lastPartIsOwn = false
    private var keptBytes = 0
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
        guard isKeeping, !part.isEmpty else { return }
        guard keptBytes + part.count <= limit else {
            isKeeping = false
            parts = []
            lastPartIsOwn = false
            keptBytes = 0
            return
        }
        keptBytes += part.count
        if part.count >= Self.sharedPartMinimum && part.capacity <= 2 * part.count {
            parts.append(part)
            lastPartIsOwn = false
        } else if lastPartIsOwn {
            parts[parts.count - 1].append(contentsOf: part)
        } else {
            var own: [UInt8] = []
            own.reserveCapacity(max(part.count, 1024))
            own.append(contentsOf: part)
            parts.append(own)
            lastPartIsOwn = true
        }
    }

    /// Appends the kept body, in the framing the proxy sends upstream, to `out`.
    func append(to out: inout [UInt8], framing: HTTPBodyFraming) {
        guard framing == .chunked else {
            for part in parts { out += part }
            return
        }
        for part in parts { HTTPChunkedEncoder.encodeChunk(part[...], into: &out) }
        out += HTTPChunkedEncoder.lastChunk
    }
}
