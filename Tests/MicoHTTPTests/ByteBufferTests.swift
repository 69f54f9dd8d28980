import MicoHTTP
import Testing

struct ByteBufferTests {
    @Test func writesReadsAndMoves() {
        var buffer = ByteBuffer(bytes("abc"))
        buffer.write(bytes("def")[...])
        buffer.write("gh".utf8)
        #expect(buffer.readableBytes == 8)
        #expect(buffer.readBytes(2) == bytes("ab"))
        buffer.moveReaderIndex(forwardBy: 1)
        #expect(Array(buffer.readableView) == bytes("defgh"))
        #expect(buffer.readBytes(100) == bytes("defgh"))
        #expect(buffer.readableBytes == 0)
        #expect(buffer.readBytes(1) == [])
    }

    @Test func keepsContentsAcrossCompactions() {
        var buffer = ByteBuffer()
        var expected: [UInt8] = []
        var next: UInt8 = 0
        for round in 0..<200 {
            let chunk = (0..<(round % 7 + 1) * 300).map { _ in
                next &+= 1
                return next
            }
            buffer.write(chunk)
            expected += chunk
            let take = (round * 389) % (buffer.readableBytes + 1)
            let read = buffer.readBytes(take)
            #expect(read.elementsEqual(expected[..<take]), "read in round \(round)")
            expected.removeFirst(take)
            #expect(buffer.readableView.elementsEqual(expected), "unread in round \(round)")
        }
    }
}
