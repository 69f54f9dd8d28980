/// Streams one message body out of a connection's input buffer according to its framing.
///
/// Chunked framing is removed (RFC 9112 §7.1): chunk extensions are checked and ignored, trailer fields are checked
/// and dropped. The decoder never consumes a byte past the end of its body; what follows belongs to the next
/// message on the connection.
public struct HTTPBodyDecoder: Sendable {
    /// What the body decoder produced.
    public enum Event: Sendable, Equatable {
        /// Body bytes, never empty; at most what was in the buffer.
        case data([UInt8])
        /// The body is complete. Returned again by every later call.
        case end
        /// The buffer holds no more of the body; call again when more bytes arrived.
        case needMore
    }

    private enum State: Sendable, Equatable {
        case fixed(remaining: UInt64)
        case untilClose
        case chunkSize(size: UInt64, digits: Int)
        case chunkExtension(size: UInt64)
        case chunkSizeLF(size: UInt64)
        case chunkData(remaining: UInt64)
        case chunkDataCR
        case chunkDataLF
        case trailerLineStart
        case trailerName
        case trailerValue
        case trailerLF(isLast: Bool)
        case done
    }

    private let limits: HTTPParserLimits
    private var state: State
    private var extensionBytes = 0
    private var trailerBytes = 0

    /// How many body bytes have been returned in `.data` events so far.
    public private(set) var bytesDecoded: UInt64 = 0

    /// A decoder for a body with `framing`, enforcing the chunk extension and trailer limits of `limits`.
    public init(framing: HTTPBodyFraming, limits: HTTPParserLimits = .init()) {
        self.limits = limits
        switch framing {
        case .none, .contentLength(0): state = .done
        case .contentLength(let length): state = .fixed(remaining: length)
        case .chunked: state = .chunkSize(size: 0, digits: 0)
        case .untilClose: state = .untilClose
        }
    }

    /// Whether the whole body, trailers included, has been consumed from the input.
    public var isComplete: Bool { state == .done }

    /// Consumes bytes of this body from `buffer` and returns the next event. `.data` returns what is available
    /// without waiting for the rest of a chunk.
    public mutating func next(from buffer: inout ByteBuffer) throws(HTTPParseError) -> Event {
        while true {
            switch state {
            case .done:
                return .end
            case .untilClose:
                guard buffer.readableBytes > 0 else { return .needMore }
                return deliver(buffer.readBytes(buffer.readableBytes))
            case .fixed(let remaining):
                guard buffer.readableBytes > 0 else { return .needMore }
                let bytes = buffer.readBytes(Self.clamp(remaining, buffer.readableBytes))
                let left = remaining - UInt64(bytes.count)
                state = left == 0 ? .done : .fixed(remaining: left)
                return deliver(bytes)
            case .chunkData(let remaining):
                guard buffer.readableBytes > 0 else { return .needMore }
                let bytes = buffer.readBytes(Self.clamp(remaining, buffer.readableBytes))
                let left = remaining - UInt64(bytes.count)
                state = left == 0 ? .chunkDataCR : .chunkData(remaining: left)
                return deliver(bytes)
            default:
                guard buffer.readableBytes > 0 else { return .needMore }
                let view = buffer.readableView
                let result = view.withUnsafeBufferPointer { p in
                    Result { () throws(HTTPParseError) in try consumeFraming(p) }
                }
                buffer.moveReaderIndex(forwardBy: try result.get())
            }
        }
    }

    /// Tells the decoder that the input ended. Returns normally when the body is complete, or becomes complete
    /// because it runs until close; throws `truncatedBody` otherwise.
    public mutating func inputEnded() throws(HTTPParseError) {
        switch state {
        case .done: return
        case .untilClose: state = .done
        default: throw .truncatedBody
        }
    }

    private mutating func deliver(_ bytes: [UInt8]) -> Event {
        bytesDecoded += UInt64(bytes.count)
        return .data(bytes)
    }

    private static func clamp(_ remaining: UInt64, _ available: Int) -> Int {
        remaining < UInt64(available) ? Int(remaining) : available
    }

    /// Consumes chunk framing bytes until chunk data starts, the body ends or the bytes run out; returns how many.
    private mutating func consumeFraming(_ p: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> Int {
        var i = 0
        while i < p.count {
            let b = p[i]
            if isInTrailers {
                trailerBytes += 1
                if trailerBytes > limits.maxTrailerBytes { throw .trailersTooLarge }
            }
            i += 1
            switch state {
            // RFC 9112 §7.1: chunk-size = 1*HEXDIG; no sign, prefix or padding; at most 16 digits fit UInt64.
            case .chunkSize(let size, let digits):
                if let digit = ByteClass.hexValue(b) {
                    guard digits < 16 else { throw .invalidChunkSize }
                    state = .chunkSize(size: size << 4 | UInt64(digit), digits: digits + 1)
                } else if b == ByteClass.cr, digits > 0 {
                    state = .chunkSizeLF(size: size)
                } else if b == ByteClass.semicolon, digits > 0 {
                    try countExtensionByte()
                    state = .chunkExtension(size: size)
                } else if b == ByteClass.lf, digits > 0 {
                    throw .bareLF
                } else {
                    throw .invalidChunkSize
                }
            // RFC 9112 §7.1.1: extensions are ignored, but bounded and free of control bytes.
            case .chunkExtension(let size):
                if b == ByteClass.cr {
                    state = .chunkSizeLF(size: size)
                } else if b == ByteClass.lf {
                    throw .bareLF
                } else if ByteClass.isFieldValueByte(b) {
                    try countExtensionByte()
                } else {
                    throw .invalidChunkExtension
                }
            case .chunkSizeLF(let size):
                guard b == ByteClass.lf else { throw .bareCR }
                if size == 0 {
                    state = .trailerLineStart
                } else {
                    state = .chunkData(remaining: size)
                    return i
                }
            // RFC 9112 §7.1: chunk-data is followed by CRLF.
            case .chunkDataCR:
                guard b == ByteClass.cr else { throw .invalidChunkFraming }
                state = .chunkDataLF
            case .chunkDataLF:
                guard b == ByteClass.lf else { throw .invalidChunkFraming }
                state = .chunkSize(size: 0, digits: 0)
            // RFC 9112 §7.1.2: trailer-section = *( field-line CRLF ); checked like header fields, then dropped.
            case .trailerLineStart:
                if b == ByteClass.cr {
                    state = .trailerLF(isLast: true)
                } else if b == ByteClass.lf {
                    throw .bareLF
                } else if ByteClass.isTokenChar(b) {
                    state = .trailerName
                } else {
                    throw .invalidTrailer
                }
            case .trailerName:
                if b == ByteClass.colon {
                    state = .trailerValue
                } else if !ByteClass.isTokenChar(b) {
                    throw .invalidTrailer
                }
            case .trailerValue:
                if b == ByteClass.cr {
                    state = .trailerLF(isLast: false)
                } else if b == ByteClass.lf {
                    throw .bareLF
                } else if !ByteClass.isFieldValueByte(b) {
                    throw .invalidTrailer
                }
            case .trailerLF(let isLast):
                guard b == ByteClass.lf else { throw .bareCR }
                if isLast {
                    state = .done
                    return i
                }
                state = .trailerLineStart
            case .fixed, .untilClose, .chunkData, .done:
                preconditionFailure("consumeFraming in a data state")
            }
        }
        return i
    }

    private var isInTrailers: Bool {
        switch state {
        case .trailerLineStart, .trailerName, .trailerValue, .trailerLF: true
        default: false
        }
    }

    private mutating func countExtensionByte() throws(HTTPParseError) {
        extensionBytes += 1
        if extensionBytes > limits.maxChunkExtensionBytes { throw .chunkExtensionsTooLarge }
    }
}
