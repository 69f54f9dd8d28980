import MicoHTTP
import Testing

/// The UTF-8 bytes of an ASCII test string.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// One input that a decoder must refuse, with the exact status and code it must refuse it with.
struct Rejection: Sendable, CustomStringConvertible {
    let label: String
    let input: [UInt8]
    let status: Int
    let code: String

    init(_ label: String, _ input: String, _ status: Int, _ code: String) {
        self.init(label, bytes(input), status, code)
    }

    init(_ label: String, _ input: [UInt8], _ status: Int, _ code: String) {
        self.label = label
        self.input = input
        self.status = status
        self.code = code
    }

    var description: String { label }
}

/// Decodes `input` in one call.
func decodeRequest(_ input: [UInt8], limits: HTTPParserLimits = .init()) throws(HTTPParseError) -> (
    head: HTTPRequestHead, framing: HTTPBodyFraming, consumed: Int
)? {
    var decoder = HTTPRequestHeadDecoder(limits: limits)
    return try decoder.decode(input[...])
}

/// The outcome of decoding, comparable across feeding strategies.
enum Outcome<Head: Equatable>: Equatable {
    case head(Head, HTTPBodyFraming, Int)
    case needMore
    case error(HTTPParseError)
}

/// Feeds `input` one byte more per call, as a socket could deliver it, until a head or an error.
func requestOutcomeByteByByte(_ input: [UInt8], limits: HTTPParserLimits = .init()) -> Outcome<HTTPRequestHead> {
    var decoder = HTTPRequestHeadDecoder(limits: limits)
    for end in 0...input.count {
        do {
            if let result = try decoder.decode(input[..<end]) {
                return .head(result.head, result.framing, result.consumed)
            }
        } catch {
            return .error(error)
        }
    }
    return .needMore
}

/// Feeds the first `split` bytes, then all of `input`.
func requestOutcomeSplit(_ input: [UInt8], at split: Int, limits: HTTPParserLimits = .init()) -> Outcome<
    HTTPRequestHead
> {
    var decoder = HTTPRequestHeadDecoder(limits: limits)
    do {
        if let result = try decoder.decode(input[..<split]) {
            return .head(result.head, result.framing, result.consumed)
        }
        if let result = try decoder.decode(input[...]) {
            return .head(result.head, result.framing, result.consumed)
        }
        return .needMore
    } catch {
        return .error(error)
    }
}

/// Decodes `input` in one call.
func requestOutcome(_ input: [UInt8], limits: HTTPParserLimits = .init()) -> Outcome<HTTPRequestHead> {
    do {
        guard let result = try decodeRequest(input, limits: limits) else { return .needMore }
        return .head(result.head, result.framing, result.consumed)
    } catch {
        return .error(error)
    }
}

/// Decodes `input` in one call.
func responseOutcome(_ input: [UInt8], method: String = "GET") -> Outcome<HTTPResponseHead> {
    var decoder = HTTPResponseHeadDecoder()
    do {
        guard let result = try decoder.decode(input[...], requestMethod: method) else { return .needMore }
        return .head(result.head, result.framing, result.consumed)
    } catch {
        return .error(error)
    }
}

/// Feeds `input` one byte more per call until a head or an error.
func responseOutcomeByteByByte(_ input: [UInt8], method: String = "GET") -> Outcome<HTTPResponseHead> {
    var decoder = HTTPResponseHeadDecoder()
    for end in 0...input.count {
        do {
            if let result = try decoder.decode(input[..<end], requestMethod: method) {
                return .head(result.head, result.framing, result.consumed)
            }
        } catch {
            return .error(error)
        }
    }
    return .needMore
}

/// Runs a body decoder over `buffer` until it needs more or ends; returns the data and the last event.
func drain(_ decoder: inout HTTPBodyDecoder, _ buffer: inout ByteBuffer) throws(HTTPParseError) -> (
    [UInt8], HTTPBodyDecoder.Event
) {
    var data: [UInt8] = []
    while true {
        let event = try decoder.next(from: &buffer)
        switch event {
        case .data(let bytes):
            #expect(!bytes.isEmpty)
            data += bytes
        case .end, .needMore:
            return (data, event)
        }
    }
}
