// libFuzzer target `request`: the input is what a client sent on one connection. Each request head is decoded
// once from all bytes and once fed piece by piece as a socket could deliver it; then its body is decoded the same
// two ways, and the next pipelined request after it, up to 8. Built by run.sh with Sources/MicoHTTP/*.swift.

/// The outcome of decoding one head, comparable across feeding strategies.
enum HeadOutcome: Equatable {
    case head(HTTPRequestHead, HTTPBodyFraming, consumed: Int)
    case needMore
    case error(HTTPParseError)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    var offset = 0
    for _ in 0..<8 {
        let message = input[offset...]
        let whole = decodeHead(message, splits: nil)
        let pieces = decodeHead(message, splits: SplitSizes(message))
        invariant(whole == pieces, "head decoded whole as \(whole) but in pieces as \(pieces)")
        guard case .head(let head, let framing, let consumed) = whole else { return 0 }
        invariant(consumed > 0 && consumed <= message.count, "head consumed \(consumed) of \(message.count)")
        invariant(framing != .untilClose, "a request body framed until close")
        checkRoundTrip(head, framing)

        let rest = message.dropFirst(consumed)
        let body = decodeBody(rest, framing: framing, limits: .fuzz, splits: nil)
        let bodyInPieces = decodeBody(rest, framing: framing, limits: .fuzz, splits: SplitSizes(rest))
        invariant(body == bodyInPieces, "body decoded whole as \(body) but in pieces as \(bodyInPieces)")
        guard body.ended else { return 0 }
        offset += consumed + body.consumed
    }
    return 0
}

/// Decodes one head from `input`, all at once or growing by `splits`, as `ClientConnection` does: each call gets
/// every unread byte of the connection so far.
func decodeHead(_ input: ArraySlice<UInt8>, splits: SplitSizes?) -> HeadOutcome {
    var splits = splits
    var decoder = HTTPRequestHeadDecoder(limits: .fuzz)
    var end = input.startIndex
    repeat {
        end = splits == nil ? input.endIndex : min(input.endIndex, end + splits!.next())
        do {
            if let result = try decoder.decode(input[input.startIndex..<end]) {
                invariant(result.consumed <= end - input.startIndex, "head consumed more than it was given")
                return .head(result.head, result.framing, consumed: result.consumed)
            }
        } catch {
            checkError(error)
            return .error(error)
        }
    } while end < input.endIndex
    return .needMore
}

/// A decoded head, written out again, decodes to the same head and framing and takes exactly its own bytes.
func checkRoundTrip(_ head: HTTPRequestHead, _ framing: HTTPBodyFraming) {
    var bytes: [UInt8] = []
    head.serialize(into: &bytes)
    var decoder = HTTPRequestHeadDecoder()
    let again: (head: HTTPRequestHead, framing: HTTPBodyFraming, consumed: Int)?
    do {
        again = try decoder.decode(bytes[...])
    } catch {
        fatalError("invariant violated: a serialised head was refused: \(error.code)")
    }
    invariant(again?.head == head, "serialised head decoded as \(String(describing: again?.head)), not \(head)")
    invariant(again?.framing == framing, "serialised head has framing \(String(describing: again?.framing))")
    invariant(again?.consumed == bytes.count, "serialised head consumed \(String(describing: again?.consumed))")
}
