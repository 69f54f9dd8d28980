import MicoHTTP
import Testing

@testable import MicoAuthProxy

/// `ReplayBody`: what it keeps, how it gives it back, and that large parts are shared, not copied.
@Suite("Replay body")
struct ReplayBodyTests {
    private static func bytes(_ count: Int, from start: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: start + $0 &* 7) }
    }

    /// Parts of every kind (large and dense, large in a mostly empty storage, small) come back in order.
    @Test func keepsEveryPartInOrder() {
        var body = ReplayBody(limit: 1 << 20, hasBody: true)
        var sparse = [UInt8]()
        sparse.reserveCapacity(200_000)
        sparse += Self.bytes(20_000, from: 3)
        let parts = [
            Self.bytes(40_000, from: 0), Self.bytes(10, from: 1), Self.bytes(3, from: 2), sparse,
            Self.bytes(16_384, from: 4), Self.bytes(1, from: 5),
        ]
        for part in parts { body.keep(part) }
        var raw: [UInt8] = []
        body.append(to: &raw, framing: .contentLength(UInt64(parts.map(\.count).reduce(0, +))))
        #expect(raw == parts.flatMap { $0 })
        #expect(body.bytesRead == UInt64(raw.count))
        #expect(body.isKeeping)
    }

    @Test func largeDensePartsShareTheirStorage() {
        var body = ReplayBody(limit: 1 << 20, hasBody: true)
        let part = Self.bytes(64 * 1024, from: 9)
        body.keep(part)
        let kept = body.parts.last!.withUnsafeBufferPointer { $0.baseAddress }
        #expect(kept == part.withUnsafeBufferPointer { $0.baseAddress })
    }

    /// A client sending a byte at a time makes one growing buffer, not a part (and an allocation) per byte.
    @Test func smallPartsShareOneBuffer() {
        var body = ReplayBody(limit: 1 << 20, hasBody: true)
        for index in 0..<5000 { body.keep([UInt8(truncatingIfNeeded: index)]) }
        #expect(body.parts.count == 1)
        #expect(body.parts[0].count == 5000)
        #expect(body.parts[0].capacity < 2 * 5000 + 1024)
    }

    /// A large part in a mostly empty storage is copied, so it does not keep that storage alive.
    @Test func sparsePartsAreCopied() {
        var body = ReplayBody(limit: 1 << 20, hasBody: true)
        var sparse = [UInt8]()
        sparse.reserveCapacity(1 << 20)
        sparse += Self.bytes(20_000, from: 0)
        body.keep(sparse)
        #expect(body.parts.count == 1)
        #expect(body.parts[0] == sparse)
        #expect(body.parts[0].capacity < 2 * 20_000)
    }

    @Test func chunkedFramingReencodesTheKeptParts() throws {
        var body = ReplayBody(limit: 1 << 20, hasBody: true)
        let parts = [Self.bytes(20_000, from: 0), Self.bytes(5, from: 1), Self.bytes(17_000, from: 2)]
        for part in parts { body.keep(part) }
        var encoded: [UInt8] = []
        body.append(to: &encoded, framing: .chunked)
        var decoder = HTTPBodyDecoder(framing: .chunked)
        var input = ByteBuffer(encoded)
        var decoded: [UInt8] = []
        decoding: while true {
            switch try decoder.next(from: &input) {
            case .data(let bytes): decoded += bytes
            case .end: break decoding
            case .needMore: Issue.record("the encoded body ended early"); break decoding
            }
        }
        #expect(decoded == parts.flatMap { $0 })
        #expect(input.readableBytes == 0)
    }

    @Test func outgrowingTheLimitDropsEverything() {
        var body = ReplayBody(limit: 50_000, hasBody: true)
        body.keep(Self.bytes(40_000, from: 0))
        body.keep(Self.bytes(20_000, from: 1))
        body.complete = true
        #expect(!body.isKeeping)
        #expect(!body.isReplayable)
        #expect(body.parts.isEmpty)
        #expect(body.bytesRead == 60_000)
        body.keep(Self.bytes(10, from: 2))
        #expect(body.parts.isEmpty)
        #expect(body.bytesRead == 60_010)
    }
}
