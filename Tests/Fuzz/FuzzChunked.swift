// libFuzzer target `chunked`: the input is a chunked request body and whatever follows it on the connection. It is
// decoded once from all bytes and once fed piece by piece; both must agree, and a body that ends must survive a
// round trip through HTTPChunkedEncoder. Built by run.sh with Sources/MicoHTTP/*.swift.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChunked(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    let whole = decodeBody(input[...], framing: .chunked, limits: .fuzz, splits: nil)
    let pieces = decodeBody(input[...], framing: .chunked, limits: .fuzz, splits: SplitSizes(input))
    invariant(whole == pieces, "body decoded whole as \(whole) but in pieces as \(pieces)")
    // Chunk framing takes at least 5 bytes ("0" CRLF CRLF) besides the data.
    invariant(!whole.ended || whole.data.count + 5 <= whole.consumed, "\(whole.data.count) data bytes too many")
    guard whole.ended else { return 0 }

    var encoded: [UInt8] = []
    var splits = SplitSizes(whole.data)
    var start = 0
    while start < whole.data.count {
        let end = min(whole.data.count, start + splits.next())
        HTTPChunkedEncoder.encodeChunk(whole.data[start..<end], into: &encoded)
        start = end
    }
    encoded += HTTPChunkedEncoder.lastChunk
    let again = decodeBody(encoded[...], framing: .chunked, limits: .init(), splits: nil)
    invariant(again.ended && again.data == whole.data, "re-encoded body decoded as \(again)")
    invariant(again.consumed == encoded.count, "re-encoded body consumed \(again.consumed) of \(encoded.count)")
    return 0
}
