import Dispatch
import Glibc

/// A connected, non-blocking stream socket (TCP or unix-domain) whose readiness is reported by
/// Dispatch sources. Reads and writes try the socket first and only wait when it would block.
///
/// One task uses a channel at a time; `close()` must be called by that owner once it is done
/// (`shutdownBoth()` may be called from anywhere to wake a blocked reader).
// @unchecked Sendable: every mutable property is read and written only on `queue`; the descriptor
// itself is immutable and is closed only by the sources' cancel handlers (or at once when no source exists).
public final class SocketChannel: ByteStream, ReadinessWaiting, @unchecked Sendable {
    private struct Waiter {
        var continuation: CheckedContinuation<Void, any Error>
        var deadline: DispatchTime
    }

    private enum Direction { case read, write }

    public let fileDescriptor: Int32
    private let queue: DispatchQueue
    private var readSource: DispatchSourceRead?
    private var writeSource: DispatchSourceWrite?
    private var readArmed = false
    private var writeArmed = false
    private var readWaiter: Waiter?
    private var writeWaiter: Waiter?
    private var timer: DispatchSourceTimer?
    private var closed = false

    /// The shared concurrent queue that all channel queues target: no thread per connection.
    static let ioQueue = DispatchQueue(label: "mico.io", attributes: .concurrent)

    /// Takes ownership of a connected, non-blocking socket.
    public init(adopting fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
        self.queue = DispatchQueue(label: "mico.channel", target: SocketChannel.ioQueue)
    }

    deinit {
        // Reached only when the owner never called close(): release the descriptor anyway.
        if !closed { cancelSourcesAndClose() }
    }

    // MARK: ByteStream

    public func read(maxBytes: Int, deadline: DispatchTime) async throws -> [UInt8] {
        while true {
            var outcome: IOResult<Int> = .wouldBlock
            let bytes = try [UInt8](unsafeUninitializedCapacity: maxBytes) { buffer, count in
                outcome = try syscall("recv") { recv(fileDescriptor, buffer.baseAddress, maxBytes, 0) }
                if case .done(let n) = outcome { count = n } else { count = 0 }
            }
            if case .done = outcome { return bytes }
            try await waitUntilReadable(deadline: deadline)
        }
    }

    public func write(_ bytes: ArraySlice<UInt8>, deadline: DispatchTime) async throws {
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
    }

    public func close() {
        queue.async { self.closeOnQueue() }
    }

    /// Shuts the socket down both ways (`shutdown(2)`): a blocked reader sees end of stream.
    /// Safe from any thread; the owner still calls `close()`.
    public func shutdownBoth() {
        _ = Glibc.shutdown(fileDescriptor, Int32(SHUT_RDWR))
    }

    /// Whether the peer has closed or reset the connection, without consuming data (a pooled
    /// connection is checked with this before reuse). Unread data also counts as "not usable".
    public func isUsableWhileIdle() -> Bool {
        var byte: UInt8 = 0
        let n = recv(fileDescriptor, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        if n < 0 { return errno == EAGAIN || errno == EWOULDBLOCK }
        return false  // 0: peer closed; > 0: stray bytes from the peer
    }

    // MARK: ReadinessWaiting

    public func waitUntilReadable(deadline: DispatchTime) async throws {
        try await wait(.read, deadline: deadline)
    }

    public func waitUntilWritable(deadline: DispatchTime) async throws {
        try await wait(.write, deadline: deadline)
    }

    private func wait(_ direction: Direction, deadline: DispatchTime) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            queue.async { self.arm(direction, Waiter(continuation: continuation, deadline: deadline)) }
        }
    }

    // MARK: On `queue`

    private func arm(_ direction: Direction, _ waiter: Waiter) {
        guard !closed else {
            waiter.continuation.resume(throwing: IOError(.closed, call: direction == .read ? "read" : "write"))
            return
        }
        switch direction {
        case .read:
            precondition(readWaiter == nil, "two concurrent reads on one channel")
            readWaiter = waiter
            let source = readSource ?? makeReadSource()
            if !readArmed {
                readArmed = true
                source.resume()
            }
        case .write:
            precondition(writeWaiter == nil, "two concurrent writes on one channel")
            writeWaiter = waiter
            let source = writeSource ?? makeWriteSource()
            if !writeArmed {
                writeArmed = true
                source.resume()
            }
        }
        if waiter.deadline != .distantFuture { rescheduleTimer() }
    }

    private func makeReadSource() -> DispatchSourceRead {
        let source = DispatchSource.makeReadSource(fileDescriptor: fileDescriptor, queue: queue)
        source.setEventHandler { [weak self] in self?.ready(.read) }
        readSource = source
        return source
    }

    private func makeWriteSource() -> DispatchSourceWrite {
        let source = DispatchSource.makeWriteSource(fileDescriptor: fileDescriptor, queue: queue)
        source.setEventHandler { [weak self] in self?.ready(.write) }
        writeSource = source
        return source
    }

    private func ready(_ direction: Direction) {
        disarm(direction)?.continuation.resume()
    }

    /// Suspends the direction's source and takes its waiter.
    private func disarm(_ direction: Direction) -> Waiter? {
        switch direction {
        case .read:
            if readArmed {
                readArmed = false
                readSource?.suspend()
            }
            defer { readWaiter = nil }
            return readWaiter
        case .write:
            if writeArmed {
                writeArmed = false
                writeSource?.suspend()
            }
            defer { writeWaiter = nil }
            return writeWaiter
        }
    }

    private func rescheduleTimer() {
        let deadlines = [readWaiter?.deadline, writeWaiter?.deadline].compactMap { $0 }.filter { $0 != .distantFuture }
        guard let earliest = deadlines.min() else {
            timer?.schedule(deadline: .distantFuture)
            return
        }
        let timer = self.timer ?? makeTimer()
        timer.schedule(deadline: earliest, leeway: .milliseconds(5))
    }

    private func makeTimer() -> DispatchSourceTimer {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.setEventHandler { [weak self] in self?.timerFired() }
        timer.schedule(deadline: .distantFuture)
        timer.resume()
        self.timer = timer
        return timer
    }

    private func timerFired() {
        let now = DispatchTime.now()
        if let waiter = readWaiter, waiter.deadline <= now {
            _ = disarm(.read)
            waiter.continuation.resume(throwing: IOError(.timedOut, call: "read"))
        }
        if let waiter = writeWaiter, waiter.deadline <= now {
            _ = disarm(.write)
            waiter.continuation.resume(throwing: IOError(.timedOut, call: "write"))
        }
        rescheduleTimer()
    }

    private func closeOnQueue() {
        guard !closed else { return }
        closed = true
        let waiters = [disarm(.read), disarm(.write)].compactMap { $0 }
        cancelSourcesAndClose()
        for waiter in waiters {
            waiter.continuation.resume(throwing: IOError(.closed, call: "wait"))
        }
    }

    /// Cancels the sources (resuming suspended ones: a suspended source never delivers its cancel
    /// handler) and closes the descriptor once the last one is cancelled, as Dispatch requires.
    private func cancelSourcesAndClose() {
        closed = true
        timer?.cancel()
        timer = nil
        let fd = fileDescriptor
        var sources: [(source: any DispatchSourceProtocol, armed: Bool)] = []
        if let readSource { sources.append((readSource, readArmed)) }
        if let writeSource { sources.append((writeSource, writeArmed)) }
        readSource = nil
        writeSource = nil
        readArmed = false
        writeArmed = false
        guard !sources.isEmpty else {
            closeDescriptor(fd)
            return
        }
        let remaining = CancelCountdown(count: sources.count)
        for (source, armed) in sources {
            source.setCancelHandler {
                if remaining.decrement() { closeDescriptor(fd) }
            }
            if !armed { source.resume() }
            source.cancel()
        }
    }
}

/// Counts cancel handlers down; the last one closes the descriptor.
// @unchecked Sendable: `count` is changed only from cancel handlers, which all run on the owning channel's
// serial queue.
private final class CancelCountdown: @unchecked Sendable {
    private var count: Int
    init(count: Int) { self.count = count }
    func decrement() -> Bool {
        count -= 1
        return count == 0
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
    public static func connect(to address: SocketAddress, deadline: DispatchTime) async throws -> SocketChannel {
        let fd = try blockingSyscall("socket") {
            socket(
                address.family,
                Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
                    | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        let channel = SocketChannel(adopting: fd)
        do {
            if address.family != AF_UNIX {
                try setSocketOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
            }
            let outcome = try address.withSockAddr { pointer, length throws(IOError) in
                try syscall("connect") { Glibc.connect(fd, pointer, length) }
            }
            if case .wouldBlock = outcome {
                try await channel.waitUntilWritable(deadline: deadline)
                var code: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                _ = try blockingSyscall("getsockopt") { getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) }
                if code != 0 { throw IOError.fromErrno(code, call: "connect \(address)") }
            }
            return channel
        } catch var error as IOError {
            channel.close()
            if error.call == "connect" { error.call = "connect \(address)" }
            if error.kind == .timedOut { error.call = "connect \(address)" }
            throw error
        } catch {
            channel.close()
            throw error
        }
    }
}
