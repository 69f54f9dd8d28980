// Shared by the fuzz targets; compiled into each of them together with Sources/MicoHTTP/*.swift (see run.sh), so it
// sees MicoHTTP's internals as its own module.

/// Traps with `message` when `condition` is false. libFuzzer reports the trap as a crash and saves the input.
func invariant(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if !condition() { fatalError("invariant violated: \(message())", file: file, line: line) }
}

extension HTTPParserLimits {
    /// Limits small enough that short fuzz inputs reach every limit check.
    static let fuzz: HTTPParserLimits = {
        var limits = HTTPParserLimits()
        limits.maxRequestLineBytes = 80
        limits.maxHeaderBytes = 300
        limits.maxHeaderCount = 6
        limits.maxChunkExtensionBytes = 48
        limits.maxTrailerBytes = 96
        limits.maxLeadingEmptyLines = 2
        return limits
    }()
}

/// The fuzz input as an array.
func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// Split points derived from the input itself (FNV-1a seeded xorshift), so a saved crash input replays the same
/// way.
struct SplitSizes {
    private var state: UInt64

    init(_ input: some Collection<UInt8>) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in input { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
        state = hash | 1
    }

    /// The next piece size: mostly 1 to 8 bytes, sometimes up to 64.
    mutating func next() -> Int {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state % 8 == 0 ? Int((state >> 8) % 64) + 1 : Int((state >> 8) % 8) + 1
    }
}

/// Every refusal must carry one of the statuses the decoders document, and a code.
func checkError(_ error: HTTPParseError) {
    invariant([400, 414, 431, 501, 505].contains(error.status), "status \(error.status) for \(error.code)")
    invariant(!error.code.isEmpty && !error.message.isEmpty, "error without code or message")
}

/// What a body decoder made of the bytes after a head.
struct BodyOutcome: Equatable {
    var data: [UInt8] = []
    /// Bytes of the input the body took, framing and trailers included; meaningful only when `ended`.
    var consumed = 0
    var ended = false
    var error: HTTPParseError?

    static func == (a: BodyOutcome, b: BodyOutcome) -> Bool {
        // On a refusal the framing bytes of the refused call are not consumed, so how far the decoder got
        // depends on how the input was split; the data and the error must not.
        a.data == b.data && a.ended == b.ended && a.error == b.error && (!a.ended || a.consumed == b.consumed)
    }
}

/// Runs an `HTTPBodyDecoder` over `input`, handing it all of `input` at once (`splits == nil`) or piece by piece,
/// and checks on every event that it consumes only what it was given and returns only what it consumed.
func decodeBody(
    _ input: ArraySlice<UInt8>, framing: HTTPBodyFraming, limits: HTTPParserLimits, splits: SplitSizes?
) -> BodyOutcome {
    var splits = splits
    var decoder = HTTPBodyDecoder(framing: framing, limits: limits)
    var buffer = ByteBuffer()
    var outcome = BodyOutcome()
    var fed = 0
    func feed() {
        let end = splits == nil ? input.count : min(input.count, fed + splits!.next())
        buffer.write(input[input.startIndex + fed..<input.startIndex + end])
        fed = end
    }
    feed()
    while true {
        let before = buffer.readableBytes
        let event: HTTPBodyDecoder.Event
        do {
            event = try decoder.next(from: &buffer)
        } catch {
            checkError(error)
            outcome.error = error
            break
        }
        let taken = before - buffer.readableBytes
        invariant(taken >= 0, "body decoder took \(taken) bytes")
        outcome.consumed += taken
        invariant(outcome.consumed <= fed, "body decoder consumed \(outcome.consumed) of \(fed) bytes given")
        switch event {
        case .data(let bytes):
            invariant(!bytes.isEmpty, "empty .data event")
            invariant(bytes.count <= taken, "\(bytes.count) data bytes from \(taken) consumed")
            outcome.data += bytes
        case .end:
            invariant(decoder.isComplete, ".end while not complete")
            invariant(taken == 0 || framing == .chunked, ".end consumed \(taken) bytes")
            outcome.ended = true
        case .needMore:
            invariant(!decoder.isComplete, ".needMore when complete")
            invariant(buffer.readableBytes == 0, ".needMore with \(buffer.readableBytes) bytes unread")
        }
        if outcome.ended { break }
        if case .needMore = event {
            if fed == input.count { break }
            feed()
        }
    }
    invariant(decoder.bytesDecoded == UInt64(outcome.data.count), "bytesDecoded \(decoder.bytesDecoded)")
    if case .contentLength(let length) = framing {
        invariant(UInt64(outcome.data.count) <= length, "\(outcome.data.count) bytes for Content-Length \(length)")
        invariant(!outcome.ended || UInt64(outcome.data.count) == length, "ended short of Content-Length")
    }
    if outcome.ended {
        // What is left must be exactly the input after the body: nothing dropped, nothing invented.
        let rest = Array(input[(input.startIndex + outcome.consumed)..<(input.startIndex + fed)])
        invariant(Array(buffer.readableView) == rest, "bytes after the body changed")
        let again = try? decoder.next(from: &buffer)
        invariant(again == .end && buffer.readableBytes == rest.count, "a finished body decoder moved on")
    } else if outcome.error == nil {
        do {
            try decoder.inputEnded()
            invariant(framing == .untilClose, "inputEnded accepted an unfinished \(framing) body")
        } catch {
            invariant(error == .truncatedBody, "inputEnded threw \(error.code)")
        }
    }
    return outcome
}
