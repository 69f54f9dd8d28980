import MicoHTTP
import Testing

struct HTTPChunkedEncoderTests {
    @Test(arguments: [(1, "1"), (5, "5"), (15, "f"), (16, "10"), (255, "ff"), (4096, "1000"), (65537, "10001")])
    func writesLowercaseHexSize(count: Int, hex: String) {
        let data = [UInt8](repeating: 0x61, count: count)
        var out = bytes("prefix")
        HTTPChunkedEncoder.encodeChunk(data[...], into: &out)
        #expect(out == bytes("prefix") + bytes(hex + "\r\n") + data + bytes("\r\n"))
    }

    @Test func emptyDataWritesNothing() {
        var out = bytes("x")
        HTTPChunkedEncoder.encodeChunk([][...], into: &out)
        #expect(out == bytes("x"))
    }

    @Test func lastChunkIsZeroCRLFCRLF() {
        #expect(HTTPChunkedEncoder.lastChunk == bytes("0\r\n\r\n"))
    }
}
