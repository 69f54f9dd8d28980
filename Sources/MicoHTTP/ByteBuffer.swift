/// A growable byte buffer with a reader index, meant as a connection's input buffer.
///
/// Bytes are appended with `write` and consumed from the front with `moveReaderIndex(forwardBy:)` or
/// `readBytes(_:)`. Consumed bytes are discarded once they make up at least half of the storage (and all at once
/// when everything has been read), so the storage stays within about twice the unread bytes plus one write.
///
/// Streaming a body copies nothing here: an array written into an empty buffer becomes its storage, and reading
/// all of it hands that storage back. The storage is released once everything has been read (the next array
/// written becomes the storage anyway), so an idle keep-alive connection holds no buffer.
public struct ByteBuffer: Sendable {
    private static let compactionThreshold = 1024

    private var storage: [UInt8]
    private var readerIndex: Int

    /// An empty buffer.
    public init() {
        storage = []
        readerIndex = 0
    }

    /// A buffer whose unread bytes are `bytes`.
    public init(_ bytes: some Sequence<UInt8>) {
        storage = Array(bytes)
        readerIndex = 0
    }

    /// How many bytes have been written and not yet consumed.
    public var readableBytes: Int { storage.count - readerIndex }

    /// The unread bytes. The slice's indices are positions in the storage and do not start at zero; use
    /// `startIndex`, or offsets from it.
    public var readableView: ArraySlice<UInt8> { storage[readerIndex...] }

    /// Appends `bytes` after the unread bytes.
    public mutating func write(_ bytes: some Sequence<UInt8>) {
        compactIfWorthwhile()
        storage.append(contentsOf: bytes)
    }

    /// Appends `bytes` after the unread bytes.
    public mutating func write(_ bytes: [UInt8]) {
        if readableBytes == 0 {
            storage = bytes
            readerIndex = 0
            return
        }
        compactIfWorthwhile()
        storage.append(contentsOf: bytes)
    }

    /// Appends `bytes` after the unread bytes.
    public mutating func write(_ bytes: ArraySlice<UInt8>) {
        compactIfWorthwhile()
        storage.append(contentsOf: bytes)
    }

    /// Consumes `n` unread bytes. `n` must be between zero and `readableBytes`.
    public mutating func moveReaderIndex(forwardBy n: Int) {
        precondition(n >= 0 && n <= readableBytes, "moveReaderIndex(forwardBy: \(n)) with \(readableBytes) readable")
        readerIndex += n
        if readerIndex == storage.count {
            storage = []
            readerIndex = 0
        }
    }

    /// Consumes and returns the first `min(n, readableBytes)` unread bytes.
    public mutating func readBytes(_ n: Int) -> [UInt8] {
        let count = max(0, min(n, readableBytes))
        if readerIndex == 0 && count == storage.count {
            defer { storage = [] }
            return storage
        }
        let bytes = Array(storage[readerIndex..<readerIndex + count])
        moveReaderIndex(forwardBy: count)
        return bytes
    }

    private mutating func compactIfWorthwhile() {
        guard readerIndex >= Self.compactionThreshold, readerIndex * 2 >= storage.count else { return }
        storage.removeSubrange(0..<readerIndex)
        readerIndex = 0
    }
}
