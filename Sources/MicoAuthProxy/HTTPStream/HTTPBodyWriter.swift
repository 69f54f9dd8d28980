import Dispatch
import MicoHTTP
import MicoIO

/// Writes a body in the framing the proxy chose for it: raw bytes for Content-Length and close-delimited
/// bodies, chunks for chunked ones (RFC 9112 §7.1). The proxy always writes its own framing.
struct HTTPBodyWriter {
    enum Encoding {
        case raw
        case chunked
    }

    let stream: any ByteStream
    let encoding: Encoding

    /// Writes one piece of the body; an empty piece writes nothing (it would end a chunked body).
    func write(_ bytes: [UInt8], deadline: DispatchTime) async throws {
        guard !bytes.isEmpty else { return }
        switch encoding {
        case .raw:
            try await stream.write(bytes, deadline: deadline)
        case .chunked:
            var framed: [UInt8] = []
            framed.reserveCapacity(bytes.count + 16)
            HTTPChunkedEncoder.encodeChunk(bytes[...], into: &framed)
            try await stream.write(framed, deadline: deadline)
        }
    }

    /// Ends the body: the last chunk for chunked bodies, nothing otherwise. Trailers are never written.
    func finish(deadline: DispatchTime) async throws {
        if encoding == .chunked {
            try await stream.write(HTTPChunkedEncoder.lastChunk, deadline: deadline)
        }
    }
}
