import Dispatch
import Glibc
import Synchronization

/// A connected, non-blocking stream socket (TCP or unix-domain) registered with an ``IOLoop``. Reads and writes try
/// the socket first and only wait when it would block; the loop's epoll events wake the waiter.
///
/// One task reads and one task writes a channel at a time; `close()` must be called by that owner once it is done
/// (it closes the descriptor at once). `shutdownBoth()` may be called from anywhere to wake a blocked reader. A
/// read or write after `close()` fails with `IOError.closed` without a system call: the descriptor's number may
/// belong to another socket by then.
///
/// The socket is registered once, edge-triggered. Input is tracked as a flag that every input event sets and every
/// read attempt clears before its `recv`: a wait returns at once while the flag is set, and a read that finds it
/// clear after a `recv` that emptied the socket waits without another `recv` (one system call less per request on
/// a keep-alive connection; it also tells a pooled connection that nothing came while it was idle). An output event
/// that finds nobody waiting is remembered the same way, for the next write wait. A waiting read or
/// write has a deadline, kept by one Dispatch timer that is moved only when a wait's deadline is earlier than the
/// one it is set for; when it fires it expires what is due and re-arms for the rest, so deadlines that move
/// forward with each request cost no timer call.
public final class SocketChannel: ByteStream, ReadinessWaiting, Sendable {
    public let fileDescriptor: Int32
    /// The loop that delivers this socket's events; tasks serving it run best there too.
    public let loop: IOLoop
    private let token: UInt64
    /// What the socket's events said and who waits for them. The loop's registration and the deadline timer hold it,
    /// not the channel: a weak reference to the channel would give it a side table, and every retain and release of
    /// a channel (several per request) would then take the runtime's slow path. Internal for tests, which check that
    /// it is freed with the channel.
    let readiness: SocketReadiness
    private let fairness = FairnessCounter()

    /// Takes ownership of a connected (or connecting), non-blocking socket and registers it with `loop`. On failure
    /// the descriptor is closed. Not for a socket whose connect has not begun: epoll reports it as hung up.
    public init(adopting fileDescriptor: Int32, loop: IOLoop = IOLoop.current ?? .next()) throws(IOError) {
        self.fileDescriptor = fileDescriptor
        self.loop = loop
        self.token = loop.makeToken()
        self.readiness = SocketReadiness(timerQueue: loop.queue)
        do {
            try loop.register(readiness, fileDescriptor: fileDescriptor, token: token)
        } catch {
            readiness.state.withLock { $0.closed = true }
            closeDescriptor(fileDescriptor)
            throw error
        }
    }

    deinit {
        // Reached only when the owner never called close(): release the descriptor anyway.
        let open = readiness.state.withLock { state in
            defer { state.closed = true }
            // The timer's handler holds the readiness: cancelled and dropped, it lets go of it.
            state.timer?.cancel()
            state.timer = nil
            return !state.closed
        }
        if open {
            loop.deregister(fileDescriptor, token: token)
            closeDescriptor(fileDescriptor)
        }
    }

    // MARK: ByteStream

    public func read(maxBytes: Int, deadline: DispatchTime) async throws -> [UInt8] {
        while true {
            guard let mayHaveInput = beginAttempt(readingElsewhere: false) else {
                throw IOError(.closed, call: "read")
            }
            if mayHaveInput {
                var outcome: IOResult<Int> = .wouldBlock
                let bytes = try readIntoArray(maxBytes: maxBytes) { buffer throws(IOError) in
                    outcome = try syscall("recv") { recv(fileDescriptor, buffer.baseAddress, buffer.count, 0) }
                    if case .done(let n) = outcome { return n }
                    return 0
                }
                if case .done(let n) = outcome {
                    // A short read emptied the socket; a full one may have left more behind.
                    if n == maxBytes { readiness.state.withLock { $0.inputPending = true } }
                    await fairness.completed()
                    return bytes
                }
            }
            try await waitUntilReadable(deadline: deadline)
        }
    }

    public func write(_ bytes: ArraySlice<UInt8>, deadline: DispatchTime) async throws {
        // A wait below fails once the channel is closed; this covers the first attempt.
        if isClosed { throw IOError(.closed, call: "write") }
        var written = 0
        while written < bytes.count {
            let outcome = try bytes.withUnsafeBytes { raw throws(IOError) in
                try syscall("send") {
                    send(fileDescriptor, raw.baseAddress! + written, raw.count - written, Int32(MSG_NOSIGNAL))
                }
            }
            switch outcome {
            case .done(let n): written += n
            case .wouldBlock: try await waitUntilWritable(deadline: deadline)
            }
        }
        await fairness.completed()
    }

    /// Closes the socket; a pending read or write fails with `IOError.closed`. Idempotent, safe from any thread.
    public func close() {
        let waiters = readiness.state.withLock { state -> [SocketReadiness.Waiter]? in
            guard !state.closed else { return nil }
            state.closed = true
            state.timer?.cancel()
            state.timer = nil
            defer {
                state.readWaiter = nil
                state.writeWaiter = nil
            }
            return [state.readWaiter, state.writeWaiter].compactMap { $0 }
        }
        guard let waiters else { return }
        loop.deregister(fileDescriptor, token: token)
        closeDescriptor(fileDescriptor)
        for waiter in waiters {
            waiter.continuation.resume(throwing: IOError(.closed, call: "wait"))
        }
    }

    /// Shuts the socket down both ways (`shutdown(2)`): a blocked reader sees end of stream.
    /// Safe from any thread, before or after `close()`, which the owner still calls.
    public func shutdownBoth() {
        // Under the lock that `close()` marks the channel closed with before it closes the descriptor: once closed,
        // the number may already name another socket (a new connection), which must not be shut down.
        readiness.state.withLock { state in
            if !state.closed { _ = Glibc.shutdown(fileDescriptor, Int32(SHUT_RDWR)) }
        }
    }

    /// Whether the peer has closed or reset the connection, without consuming data (a pooled
    /// connection is checked with this before reuse). Unread data also counts as "not usable".
    ///
    /// `lastReadEmptiedSocket`: whoever reads the descriptor elsewhere (OpenSSL, see `SocketBIO`) knows that its last
    /// read took all there was; then, with no input event since, nothing came and no system call is needed.
    public func isUsableWhileIdle(lastReadEmptiedSocket: Bool = false) -> Bool {
        let (pending, ended, readElsewhere) = readiness.state.withLock {
            ($0.inputPending, $0.inputEnded, $0.readElsewhere)
        }
        if ended { return false }
        // No input event since the last read emptied the socket: nothing came, not even an end of stream. Known when
        // `read` does the reading, or when the reader elsewhere says its last read emptied the socket.
        if !pending && (!readElsewhere || lastReadEmptiedSocket) { return true }
        var byte: UInt8 = 0
        let n = recv(fileDescriptor, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        if n < 0 { return errno == EAGAIN || errno == EWOULDBLOCK }
        return false  // 0: peer closed; > 0: stray bytes from the peer
    }

    // MARK: ReadinessWaiting

    public var isClosed: Bool { readiness.state.withLock { $0.closed } }

    public func beginReadAttempt() -> Bool {
        // Closed: false, so the reader waits, and the wait fails with `IOError.closed`.
        beginAttempt(readingElsewhere: true) ?? false
    }

    /// Whether input may be waiting; nil once the channel is closed.
    private func beginAttempt(readingElsewhere: Bool) -> Bool? {
        readiness.state.withLock { state in
            guard !state.closed else { return nil }
            defer { state.inputPending = false }
            if readingElsewhere { state.readElsewhere = true }
            return state.inputPending || state.inputEnded
        }
    }

    public func waitUntilReadable(deadline: DispatchTime) async throws {
        try await wait(.read, deadline: deadline)
    }

    public func waitUntilWritable(deadline: DispatchTime) async throws {
        try await wait(.write, deadline: deadline)
    }

    private func wait(_ direction: SocketReadiness.Direction, deadline: DispatchTime) async throws {
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
            let waiter = SocketReadiness.Waiter(continuation: continuation, deadline: deadline)
            if let answer = readiness.arm(direction, waiter) {
                continuation.resume(with: answer)
            } else {
                fairness.waited()
            }
        }
    }
}

extension SocketChannel {
    /// Connects to `host:port` over TCP. Names are resolved off the cooperative thread pool; each address is
    /// tried in turn until one connects or `deadline` passes.
    public static func connect(host: String, port: UInt16, deadline: DispatchTime) async throws -> SocketChannel {
        let addresses = try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<[SocketAddress], any Error>) in
            DispatchQueue.global().async {
                continuation.resume(
                    with: Result { () throws(IOError) in try SocketAddress.resolve(host: host, port: port) })
            }
        }
        var lastError: any Error = IOError(.nameResolution, call: "getaddrinfo \(host)", detail: "no address")
        for address in addresses {
            do {
                return try await connect(to: address, deadline: deadline)
            } catch let error as IOError where error.kind == .timedOut {
                throw error
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// Connects to one address (TCP or unix-domain).
    ///
    /// The socket joins its loop only once the connect has begun: epoll reports a socket that is not yet connecting
    /// as hung up, which would read as the peer's end of stream.
    public static func connect(to address: SocketAddress, deadline: DispatchTime) async throws -> SocketChannel {
        let fd = try blockingSyscall("socket") {
            socket(
                address.family,
                Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
                    | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        let outcome: IOResult<Int32>
        do {
            if address.family != AF_UNIX {
                try setSocketOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
            }
            outcome = try address.withSockAddr { pointer, length throws(IOError) in
                try syscall("connect") { Glibc.connect(fd, pointer, length) }
            }
        } catch var error {
            closeDescriptor(fd)
            if error.call == "connect" { error.call = "connect \(address)" }
            throw error
        }
        let channel = try SocketChannel(adopting: fd)
        guard case .wouldBlock = outcome else { return channel }
        do {
            try await channel.waitUntilWritable(deadline: deadline)
            var code: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            _ = try blockingSyscall("getsockopt") { getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) }
            if code != 0 { throw IOError.fromErrno(code, call: "connect \(address)") }
            return channel
        } catch var error as IOError {
            channel.close()
            if error.kind == .timedOut { error.call = "connect \(address)" }
            throw error
        } catch {
            channel.close()
            throw error
        }
    }
}
