import Dispatch
import MicoHTTP
import MicoIO

/// Writes a body in the framing the proxy chose for it: raw bytes for Content-Length and close-delimited
/// bodies, chunks for chunked ones (RFC 9112 §7.1). The proxy always writes its own framing.
///
/// The message head can be handed over with the writer: it then leaves with the first piece of the body (one write,
/// so a small response is one TCP segment instead of two), or on `flush()`, which a caller uses before it waits
/// for body bytes, so a response that streams is not held back.
struct HTTPBodyWriter {
    enum Encoding {
        case raw
        case chunked
    }

    let stream: DirectStream
    let encoding: Encoding
    /// Bytes that go out with the next write.
    private var pending: [UInt8]

    init(stream: DirectStream, encoding: Encoding, head: [UInt8] = []) {
        self.stream = stream
        self.encoding = encoding
        self.pending = head
    }

    /// Writes one piece of the body (after the head, if that has not gone yet); an empty piece writes nothing (it
    /// would end a chunked body).
    mutating func write(_ bytes: [UInt8], deadline: DispatchTime) async throws {
        guard !bytes.isEmpty else { return }
        switch encoding {
        case .raw where pending.isEmpty:
            try await stream.write(bytes, deadline: deadline)
        case .raw:
            pending += bytes
            try await flush(deadline: deadline)
        case .chunked:
            pending.reserveCapacity(pending.count + bytes.count + 16)
            HTTPChunkedEncoder.encodeChunk(bytes[...], into: &pending)
            try await flush(deadline: deadline)
        }
    }

    /// Ends the body: the last chunk for chunked bodies, nothing otherwise (trailers are never written); sends what
    /// is pending.
    mutating func finish(deadline: DispatchTime) async throws {
        if encoding == .chunked {
            pending += HTTPChunkedEncoder.lastChunk
        }
        try await flush(deadline: deadline)
    }

    /// Sends what is pending (the head), if anything.
    mutating func flush(deadline: DispatchTime) async throws {
        guard !pending.isEmpty else { return }
        let bytes = pending
        pending = []
        try await stream.write(bytes, deadline: deadline)
    }
}
