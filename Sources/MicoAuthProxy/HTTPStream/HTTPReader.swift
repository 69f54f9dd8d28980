import Dispatch
import MicoHTTP
import MicoIO

/// Reads HTTP/1.1 messages from a byte stream through one buffer, so bytes of a pipelined next message that
/// arrive with this one are kept for it.
struct HTTPReader: ~Copyable {
    /// Why reading a head stopped without one.
    enum HeadOutcome<Head> {
        case head(Head, HTTPBodyFraming)
        /// The peer closed (or the idle deadline passed) before the first byte of a message.
        case closedBeforeMessage
    }

    /// The bounds of a read's size, and where it starts.
    static let readSizes = (smallest: 2 * 1024, first: 4 * 1024, largest: 64 * 1024)

    let stream: DirectStream
    private(set) var buffer = ByteBuffer()
    /// How many bytes the next read asks for: doubled after a read that fills it, halved after one that uses less
    /// than a quarter, within `readSizes`. Each read is a fresh array that the buffer adopts (or a body part
    /// becomes): sized for what comes, it is a small allocation for a small message instead of 64 KiB, whose
    /// release made glibc hand the top of its heap back to the kernel (madvise) every few dozen requests.
    private var readSize = readSizes.first

    init(stream: any ByteStream) {
        self.stream = DirectStream(stream)
    }

    init(stream: DirectStream) {
        self.stream = stream
    }

    /// Whether unread bytes are buffered (a pipelined request, or stray bytes from an upstream).
    var hasBufferedBytes: Bool { buffer.readableBytes > 0 }

    /// How many unread bytes are buffered.
    var bufferedByteCount: Int { buffer.readableBytes }

    /// Reads more bytes into the buffer; false at end of stream.
    mutating func fill(deadline: DispatchTime) async throws -> Bool {
        let bytes = try await stream.read(maxBytes: readSize, deadline: deadline)
        if bytes.count == readSize {
            readSize = min(readSize * 2, Self.readSizes.largest)
        } else if bytes.count < readSize / 4 {
            readSize = max(readSize / 2, Self.readSizes.smallest)
        }
        if bytes.isEmpty { return false }
        buffer.write(bytes)
        return true
    }

    /// Reads a request head. Waits for the first byte until `idleDeadline`; once a byte is there, the whole head
    /// must arrive within `headTimeout` seconds.
    mutating func readRequestHead(
        _ decoder: inout HTTPRequestHeadDecoder,
        idleDeadline: DispatchTime,
        headTimeout: Double
    ) async throws -> HeadOutcome<HTTPRequestHead> {
        var headDeadline: DispatchTime? = buffer.readableBytes > 0 ? .deadline(in: headTimeout) : nil
        while true {
            if buffer.readableBytes > 0 {
                if let (head, framing, consumed) = try decoder.decode(buffer.readableView) {
                    buffer.moveReaderIndex(forwardBy: consumed)
                    return .head(head, framing)
                }
            }
            let startedEmpty = buffer.readableBytes == 0
            do {
                guard try await fill(deadline: headDeadline ?? idleDeadline) else {
                    if startedEmpty { return .closedBeforeMessage }
                    throw HTTPReadError.truncatedHead
                }
            } catch let error as IOError where error.kind == .timedOut && headDeadline == nil {
                return .closedBeforeMessage
            }
            if headDeadline == nil { headDeadline = .deadline(in: headTimeout) }
        }
    }

    /// Reads a response head, skipping interim 1xx responses (RFC 9110 §15.2).
    mutating func readResponseHead(
        _ decoder: inout HTTPResponseHeadDecoder,
        requestMethod: String,
        deadline: DispatchTime
    ) async throws -> (HTTPResponseHead, HTTPBodyFraming) {
        while true {
            if buffer.readableBytes > 0,
                let (head, framing, consumed) = try decoder.decode(buffer.readableView, requestMethod: requestMethod)
            {
                buffer.moveReaderIndex(forwardBy: consumed)
                if (100..<200).contains(head.status) && head.status != 101 {
                    decoder.reset()
                    continue
                }
                return (head, framing)
            }
            guard try await fill(deadline: deadline) else { throw HTTPReadError.truncatedHead }
        }
    }

    /// The next piece of a body, or nil at its end. Throws `HTTPParseError` for bad framing and
    /// `HTTPReadError.truncatedBody` when the stream ends early.
    mutating func readBodyPart(_ decoder: inout HTTPBodyDecoder, deadline: DispatchTime) async throws -> [UInt8]? {
        while true {
            switch try decoder.next(from: &buffer) {
            case .data(let bytes): return bytes
            case .end: return nil
            case .needMore:
                if try await !fill(deadline: deadline) {
                    do {
                        try decoder.inputEnded()
                    } catch {
                        throw HTTPReadError.truncatedBody
                    }
                    return nil
                }
            }
        }
    }

    /// The next piece of a body from the bytes already buffered, without reading: `.needMore` when it would have
    /// to read.
    mutating func bufferedBodyPart(_ decoder: inout HTTPBodyDecoder) throws(HTTPParseError) -> HTTPBodyDecoder.Event {
        try decoder.next(from: &buffer)
    }

    /// Reads a whole body of at most `limit` bytes.
    mutating func readWholeBody(
        _ decoder: inout HTTPBodyDecoder,
        limit: Int,
        deadline: DispatchTime
    ) async throws -> [UInt8] {
        var body: [UInt8] = []
        while let part = try await readBodyPart(&decoder, deadline: deadline) {
            body += part
            if body.count > limit { throw HTTPReadError.bodyTooLarge(limit: limit) }
        }
        return body
    }
}

/// The stream ended or overflowed in the middle of a message.
enum HTTPReadError: Error, CustomStringConvertible {
    case truncatedHead
    case truncatedBody
    case bodyTooLarge(limit: Int)

    var description: String {
        switch self {
        case .truncatedHead: return "connection closed before the end of the message head"
        case .truncatedBody: return "connection closed before the end of the body"
        case .bodyTooLarge(let limit): return "body larger than \(limit) bytes"
        }
    }
}
