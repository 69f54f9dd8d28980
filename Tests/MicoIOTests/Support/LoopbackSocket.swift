import Dispatch
import Glibc
import MicoIO
import MicoTestSupport
import Synchronization

/// Test-only transport: a non-blocking TCP socket on 127.0.0.1 whose readiness waits are
/// one-shot `DispatchSource`s. Stands in for the product's `Socket` in the TLS tests.
final class LoopbackSocket: ReadinessWaiting, ByteStream {
    let fileDescriptor: Int32
    private let queue = DispatchQueue(label: "LoopbackSocket")
    /// Entered per registered source, left in its cancel handler: the fd closes after the last.
    private let sources = DispatchGroup()
    private let state = Mutex(State())

    private struct State {
        var closed = false
        var nextID = 0
        var waits: [Int: PendingWait] = [:]
    }

    // @unchecked Sendable: stored in and taken out of `state` (a Mutex); DispatchSource is
    // thread-safe and the continuation is resumed exactly once by whoever removes the entry.
    private struct PendingWait: @unchecked Sendable {
        var source: any DispatchSourceProtocol
        var continuation: CheckedContinuation<Void, any Error>
    }

    init(adopting fileDescriptor: Int32) {
        _ = TestProcess.ignoresSIGPIPE
        self.fileDescriptor = fileDescriptor
        // Small kernel buffers, so that multi-MiB writes surely fill them (WANT_WRITE paths).
        var size: Int32 = 64 * 1024
        setsockopt(fileDescriptor, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fileDescriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit {
        if !state.withLock({ $0.closed }) {
            Glibc.close(fileDescriptor)
        }
    }

    /// Connects to 127.0.0.1:`port` without blocking.
    static func connect(port: UInt16, deadline: DispatchTime) async throws -> LoopbackSocket {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw IOError.fromErrno(errno, call: "socket") }
        let socket = LoopbackSocket(adopting: fd)
        var address = sockaddr_in.loopback(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if result != 0 {
            guard errno == EINPROGRESS else { throw IOError.fromErrno(errno, call: "connect") }
            try await socket.waitUntilWritable(deadline: deadline)
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error != 0 { throw IOError.fromErrno(error, call: "connect") }
        }
        return socket
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    /// One-shot sources remember nothing between waits: always worth a try.
    func beginReadAttempt() -> Bool { true }

    func waitUntilReadable(deadline: DispatchTime) async throws {
        try await wait(readable: true, deadline: deadline)
    }

    func waitUntilWritable(deadline: DispatchTime) async throws {
        try await wait(readable: false, deadline: deadline)
    }

    func read(maxBytes: Int, deadline: DispatchTime) async throws -> [UInt8] {
        while true {
            if state.withLock({ $0.closed }) { throw IOError(.closed, call: "recv") }
            var buffer = [UInt8](repeating: 0, count: maxBytes)
            let count = recv(fileDescriptor, &buffer, maxBytes, 0)
            if count >= 0 { return Array(buffer.prefix(count)) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: try await waitUntilReadable(deadline: deadline)
            case let code: throw IOError.fromErrno(code, call: "recv")
            }
        }
    }

    func write(_ bytes: ArraySlice<UInt8>, deadline: DispatchTime) async throws {
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            if state.withLock({ $0.closed }) { throw IOError(.closed, call: "send") }
            let count = bytes[offset...].withUnsafeBytes {
                send(fileDescriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if count >= 0 {
                offset += count
                continue
            }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: try await waitUntilWritable(deadline: deadline)
            case let code: throw IOError.fromErrno(code, call: "send")
            }
        }
    }

    /// Fails pending waits with `IOError.closed`; closes the fd once their sources are cancelled.
    func close() {
        let pending: [PendingWait]? = state.withLock { state in
            if state.closed { return nil }
            state.closed = true
            defer { state.waits = [:] }
            return Array(state.waits.values)
        }
        guard let pending else { return }
        for wait in pending {
            wait.source.cancel()
            wait.continuation.resume(throwing: IOError(.closed, call: "wait"))
        }
        sources.notify(queue: queue) { [fileDescriptor] in
            Glibc.close(fileDescriptor)
        }
    }

    private func wait(readable: Bool, deadline: DispatchTime) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let source: any DispatchSourceProtocol =
                readable
                ? DispatchSource.makeReadSource(fileDescriptor: fileDescriptor, queue: queue)
                : DispatchSource.makeWriteSource(fileDescriptor: fileDescriptor, queue: queue)
            let id: Int? = state.withLock { state in
                if state.closed { return nil }
                let id = state.nextID
                state.nextID += 1
                state.waits[id] = PendingWait(source: source, continuation: continuation)
                sources.enter()
                return id
            }
            guard let id else {
                continuation.resume(throwing: IOError(.closed, call: "wait"))
                return
            }
            source.setEventHandler { [self] in finish(id, with: nil) }
            source.setCancelHandler { [sources] in sources.leave() }
            queue.asyncAfter(deadline: deadline) { [self] in
                finish(id, with: IOError(.timedOut, call: readable ? "waitUntilReadable" : "waitUntilWritable"))
            }
            source.resume()
        }
    }

    private func finish(_ id: Int, with error: IOError?) {
        guard let wait = state.withLock({ $0.waits.removeValue(forKey: id) }) else { return }
        wait.source.cancel()
        if let error {
            wait.continuation.resume(throwing: error)
        } else {
            wait.continuation.resume()
        }
    }
}

/// Process-wide settings the tests need once.
enum TestProcess {
    /// OpenSSL's socket BIO writes with write(2), not send(MSG_NOSIGNAL): a write to a reset peer
    /// raises SIGPIPE. The product's main must ignore it too (see the TLS report).
    static let ignoresSIGPIPE: Bool = {
        signal(SIGPIPE, SIG_IGN)
        return true
    }()
}
