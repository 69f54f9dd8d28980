import Dispatch
import Glibc
import MicoIO
import Synchronization
import Testing

/// `SocketChannel` and `IOLoop` over real loopback TCP: the edge-triggered readiness, the read that skips a socket
/// it just emptied, the lazily moved deadline timer, and close from another task.
@Suite("SocketChannel and IOLoop over loopback TCP")
struct SocketChannelTests {
    /// A connected pair: `client` made with `SocketChannel.connect`, `server` accepted by a `Listener`.
    struct Pair {
        let client: SocketChannel
        let server: SocketChannel

        func close() {
            client.close()
            server.close()
        }
    }

    static func connectedPair() async throws -> Pair {
        let listener = try Listener(bind: SocketAddress(ipLiteral: "127.0.0.1", port: 0)!)
        defer { listener.close() }
        let accepted = AcceptedChannels()
        listener.start { accepted.add($0) }
        let client = try await SocketChannel.connect(to: listener.address, deadline: .now() + 5)
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let server = accepted.first() { return Pair(client: client, server: server) }
            try await Task.sleep(for: .milliseconds(5))
        }
        client.close()
        throw IOError(.timedOut, call: "accept")
    }

    final class AcceptedChannels: Sendable {
        private let channels = Mutex<[SocketChannel]>([])
        func add(_ channel: SocketChannel) { channels.withLock { $0.append(channel) } }
        func first() -> SocketChannel? { channels.withLock { $0.first } }
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test("data and the end of stream that arrive together are both read: the end is not lost after a short read")
    func dataThenEndOfStreamInOneGo() async throws {
        let pair = try await Self.connectedPair()
        defer { pair.close() }
        try await pair.client.write(Array("hello".utf8)[...], deadline: .now() + 5)
        _ = Glibc.shutdown(pair.client.fileDescriptor, Int32(SHUT_WR))
        // Let both arrive (one event for data and FIN) before the first read.
        try await Task.sleep(for: .milliseconds(100))
        var received: [UInt8] = []
        while true {
            let bytes = try await pair.server.read(maxBytes: 64 * 1024, deadline: .now() + 5)
            if bytes.isEmpty { break }
            received += bytes
        }
        #expect(Self.text(received) == "hello")
    }

    @Test("a read that emptied the socket waits for the next input, which wakes it")
    func readWaitsAfterEmptyingTheSocket() async throws {
        let pair = try await Self.connectedPair()
        defer { pair.close() }
        try await pair.client.write(Array("one".utf8)[...], deadline: .now() + 5)
        #expect(Self.text(try await pair.server.read(maxBytes: 1024, deadline: .now() + 5)) == "one")
        let writer = Task {
            try await Task.sleep(for: .milliseconds(200))
            try await pair.client.write(Array("two".utf8)[...], deadline: .now() + 5)
        }
        #expect(Self.text(try await pair.server.read(maxBytes: 1024, deadline: .now() + 10)) == "two")
        try await writer.value
    }

    @Test("a full read leaves the rest to the next read without waiting")
    func fullReadLeavesTheRest() async throws {
        let pair = try await Self.connectedPair()
        defer { pair.close() }
        try await pair.client.write(Array(repeating: UInt8(ascii: "x"), count: 3000)[...], deadline: .now() + 5)
        try await Task.sleep(for: .milliseconds(100))
        var total = 0
        while total < 3000 {
            // A deadline that has passed: only a read that does not wait can succeed.
            let bytes = try await pair.server.read(maxBytes: 1000, deadline: total == 0 ? .now() + 5 : .now())
            total += bytes.count
        }
        #expect(total == 3000)
    }

    @Test("deadlines: a short one times out, a later longer one still waits and succeeds")
    func deadlinesMoveTheTimer() async throws {
        let pair = try await Self.connectedPair()
        defer { pair.close() }
        // First a long deadline sets the timer far ahead; then a short one must bring it nearer.
        let longWait = Task { try await pair.server.read(maxBytes: 16, deadline: .now() + 60) }
        try await Task.sleep(for: .milliseconds(50))
        try await pair.client.write(Array("a".utf8)[...], deadline: .now() + 5)
        #expect(Self.text(try await longWait.value) == "a")
        let started = ContinuousClock.now
        do {
            _ = try await pair.server.read(maxBytes: 16, deadline: .now() + 0.2)
            Issue.record("the read returned before any input")
        } catch let error as IOError {
            #expect(error.kind == .timedOut)
        }
        #expect(started.duration(to: .now) < .seconds(5))
        let later = Task { try await pair.server.read(maxBytes: 16, deadline: .now() + 10) }
        try await Task.sleep(for: .milliseconds(300))
        try await pair.client.write(Array("b".utf8)[...], deadline: .now() + 5)
        #expect(Self.text(try await later.value) == "b")
    }

    @Test("an idle connection is usable until the peer closes it; then it is not")
    func idleUsability() async throws {
        let pair = try await Self.connectedPair()
        defer { pair.close() }
        try await pair.client.write(Array("ping".utf8)[...], deadline: .now() + 5)
        #expect(Self.text(try await pair.server.read(maxBytes: 1024, deadline: .now() + 5)) == "ping")
        #expect(pair.server.isUsableWhileIdle())
        pair.client.close()
        let deadline = ContinuousClock.now + .seconds(10)
        while pair.server.isUsableWhileIdle() && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(!pair.server.isUsableWhileIdle())
    }

    @Test("close() from another task fails a blocked read with IOError.closed")
    func closeWakesABlockedReader() async throws {
        let pair = try await Self.connectedPair()
        defer { pair.client.close() }
        let reader = Task { try await pair.server.read(maxBytes: 16, deadline: .now() + 60) }
        try await Task.sleep(for: .milliseconds(100))
        pair.server.close()
        do {
            _ = try await reader.value
            Issue.record("the read returned after close()")
        } catch let error as IOError {
            #expect(error.kind == .closed)
        }
    }

    @Test("after close(), read and write fail with IOError.closed and leave the descriptor number alone")
    func readAndWriteAfterCloseTouchNothing() async throws {
        let pair = try await Self.connectedPair()
        defer { pair.server.close() }
        let number = pair.client.fileDescriptor
        try await pair.server.write(Array("for the old socket".utf8), deadline: .now() + 5)
        pair.client.close()
        // The next descriptors the process opens take the lowest free numbers, the closed one among them.
        var fds: [Int32] = [-1, -1]
        var spares: [[Int32]] = []
        defer { for pair in spares { close(pair[0]); close(pair[1]) } }
        for _ in 0..<64 {
            #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds) == 0)
            spares.append(fds)
            if fds.contains(number) { break }
        }
        let reused = try #require(spares.last, "no socketpair")
        guard reused.contains(number) else { return }  // Another test took the number first: nothing to watch.
        let other = reused[0] == number ? reused[1] : reused[0]
        // Something for a stray read to take from the socket that now has the number.
        #expect(send(other, "x", 1, 0) == 1)

        await #expect(throws: IOError.self) { try await pair.client.read(maxBytes: 64, deadline: .now() + 1) }
        await #expect(throws: IOError.self) {
            try await pair.client.write(Array("stray".utf8), deadline: .now() + 1)
        }
        var byte: UInt8 = 0
        #expect(recv(number, &byte, 1, Int32(MSG_DONTWAIT)) == 1, "the closed channel read from the new socket")
        #expect(recv(other, &byte, 1, Int32(MSG_DONTWAIT)) == -1, "the closed channel wrote to the new socket")
    }

    @Test("a task spawned on a loop runs with IOLoop.current set, and its sockets register there")
    func spawnSetsTheCurrentLoop() async throws {
        let loop = IOLoop.all[IOLoop.all.count - 1]
        let listener = try Listener(bind: SocketAddress(ipLiteral: "127.0.0.1", port: 0)!)
        defer { listener.close() }
        let address = listener.address
        let sameLoop = Mutex<Bool?>(nil)
        await loop.spawn {
            let current = IOLoop.current
            let channel = try? await SocketChannel.connect(to: address, deadline: .now() + 5)
            sameLoop.withLock { $0 = current === loop && channel?.loop === loop }
            channel?.close()
        }.value
        #expect(sameLoop.withLock { $0 } == true)
        #expect(IOLoop.current == nil)
    }
}
