import Dispatch
import Synchronization

/// A bidirectional, ordered byte stream: a plain socket or a TLS session over one.
///
/// Every call may suspend; none blocks a thread. A stream is used by one task at a time
/// (one reader and one writer may overlap), and `close()` may be called from anywhere.
public protocol ByteStream: AnyObject, Sendable {
    /// Reads at most `maxBytes` bytes, waiting until at least one is available.
    /// Returns an empty array at end of stream. Throws `IOError.timedOut` past `deadline`.
    func read(maxBytes: Int, deadline: DispatchTime) async throws -> [UInt8]

    /// Writes all of `bytes`, waiting for the peer to take them (that wait is the backpressure).
    /// Throws `IOError.timedOut` past `deadline`.
    func write(_ bytes: ArraySlice<UInt8>, deadline: DispatchTime) async throws

    /// Closes the stream; pending and later reads and writes fail with `IOError.closed`.
    func close()
}

extension ByteStream {
    /// Writes all of `bytes`; see `write(_:deadline:)`.
    public func write(_ bytes: [UInt8], deadline: DispatchTime) async throws {
        try await write(bytes[...], deadline: deadline)
    }
}

/// A non-blocking file descriptor whose readiness can be awaited.
///
/// TLS sessions drive their socket through this: OpenSSL's `WANT_READ` / `WANT_WRITE`
/// become `waitUntilReadable` / `waitUntilWritable`.
public protocol ReadinessWaiting: AnyObject, Sendable {
    /// The non-blocking descriptor. Valid until the owner is closed.
    var fileDescriptor: Int32 { get }

    /// Whether the owner has been closed. From then on the descriptor number may already be another file's (the
    /// kernel hands out the lowest free number): nothing may read, write or shut it down any more.
    var isClosed: Bool { get }

    /// Call before each attempt to read the descriptor. Returns whether input may be waiting (an input event came
    /// since the previous call, or the descriptor is new); false means the last attempt emptied the descriptor and
    /// nothing came since, so the caller may wait without trying. Only the reading task calls it.
    func beginReadAttempt() -> Bool

    /// Suspends until the descriptor is readable (or at EOF / error), or at once when an input event came since the
    /// last `beginReadAttempt()`. Throws `IOError.timedOut`
    /// past `deadline` and `IOError.closed` when the owner is closed meanwhile.
    func waitUntilReadable(deadline: DispatchTime) async throws

    /// Suspends until the descriptor is writable. Same errors as `waitUntilReadable`.
    func waitUntilWritable(deadline: DispatchTime) async throws
}

/// Makes a task that reads and writes without ever waiting give way now and then.
///
/// A connection's task runs on its loop with the loop's other connections; a transfer whose socket is always
/// readable and writable never suspends by itself, and would hold the loop for as long as it lasts (seconds for a
/// large response), stalling the other connections' requests and deadlines. Every `interval`-th operation completed
/// since the stream last ran out of input or buffer space yields. A stream that waits (a keep-alive connection
/// between small requests) has given way by then, and is not put behind the loop's other work for nothing.
struct FairnessCounter: ~Copyable, Sendable {
    static let interval = 16
    private let count = Atomic<Int>(0)

    /// Counts one completed operation; yields the loop every `interval`-th. Returns whether it yielded.
    @discardableResult
    func completed() async -> Bool {
        guard count.wrappingAdd(1, ordering: .relaxed).newValue % Self.interval == 0 else { return false }
        await Task.yield()
        return true
    }

    /// The stream ran out of input or buffer space and waits for readiness: the count starts again.
    func waited() {
        count.store(0, ordering: .relaxed)
    }
}

/// A ``ByteStream`` whose calls go straight to ``SocketChannel`` or ``TLSStream``, not through the protocol.
///
/// After an async call through a protocol requirement (a witness) or a closure, Swift hops back to the caller's
/// executor (`swift_task_switch`), and for a connection's task that means looking up its executor preference under
/// the task's status lock; after a direct call to a method of a final class it does not. The proxy's streams are
/// one of those two classes, several calls each per request. Any other stream (a test's) is called through the
/// protocol.
public enum DirectStream: Sendable {
    case socket(SocketChannel)
    case tls(TLSStream)
    case other(any ByteStream)

    public init(_ stream: any ByteStream) {
        switch stream {
        case let socket as SocketChannel: self = .socket(socket)
        case let tls as TLSStream: self = .tls(tls)
        default: self = .other(stream)
        }
    }

    /// The stream, as the protocol.
    public var stream: any ByteStream {
        switch self {
        case .socket(let socket): socket
        case .tls(let tls): tls
        case .other(let stream): stream
        }
    }

    /// See ``ByteStream/read(maxBytes:deadline:)``. Inlinable, like `write`: inlined, the switch costs the caller no
    /// async frame of its own.
    @inlinable
    public func read(maxBytes: Int, deadline: DispatchTime) async throws -> [UInt8] {
        switch self {
        case .socket(let socket): try await socket.read(maxBytes: maxBytes, deadline: deadline)
        case .tls(let tls): try await tls.read(maxBytes: maxBytes, deadline: deadline)
        case .other(let stream): try await stream.read(maxBytes: maxBytes, deadline: deadline)
        }
    }

    /// See ``ByteStream/write(_:deadline:)``.
    @inlinable
    public func write(_ bytes: ArraySlice<UInt8>, deadline: DispatchTime) async throws {
        switch self {
        case .socket(let socket): try await socket.write(bytes, deadline: deadline)
        case .tls(let tls): try await tls.write(bytes, deadline: deadline)
        case .other(let stream): try await stream.write(bytes, deadline: deadline)
        }
    }

    /// Writes all of `bytes`; see ``ByteStream/write(_:deadline:)``.
    @inlinable
    public func write(_ bytes: [UInt8], deadline: DispatchTime) async throws {
        try await write(bytes[...], deadline: deadline)
    }

    /// See ``ByteStream/close()``.
    public func close() {
        stream.close()
    }
}
