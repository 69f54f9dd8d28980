import CMicoSystem
import Dispatch
import Glibc

/// A listening socket (TCP or unix-domain) that accepts connections as they arrive, from a Dispatch read
/// source, until `close()`.
// @unchecked Sendable: `source`, `handler` and `closed` are touched only on `queue`; the rest is immutable.
public final class Listener: @unchecked Sendable, CustomStringConvertible {
    /// The bound address; for TCP port 0 this holds the port the kernel chose.
    public let address: SocketAddress
    private let fileDescriptor: Int32
    private let unixPath: String?
    private let queue = DispatchQueue(label: "mico.listener")
    private var source: DispatchSourceRead?
    private var closed = false

    /// Binds and listens. For unix-domain addresses a stale socket file is replaced, a live one (another
    /// process accepts on it) or a non-socket file is an error; the socket file gets `unixSocketMode`.
    public init(bind requested: SocketAddress, unixSocketMode: mode_t = 0o660, backlog: Int32 = 1024) throws {
        let unixPath = requested.family == AF_UNIX ? requested.host : nil
        if let unixPath { try Listener.removeStaleSocket(at: unixPath) }
        let fd = try blockingSyscall("socket") {
            socket(
                requested.family,
                Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
                    | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        do {
            if requested.family != AF_UNIX {
                try setSocketOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            }
            if requested.family == AF_INET6 {
                try setSocketOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1)
            }
            _ = try requested.withSockAddr { pointer, length throws(IOError) in
                try blockingSyscall("bind \(requested)") { Glibc.bind(fd, pointer, length) }
            }
            if let unixPath {
                // Before listen(): nobody can connect yet, so the mode is in force before the first client.
                _ = try blockingSyscall("chmod \(unixPath)") { chmod(unixPath, unixSocketMode) }
            }
            _ = try blockingSyscall("listen \(requested)") { Glibc.listen(fd, backlog) }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            _ = try withUnsafeMutablePointer(to: &storage) { pointer throws(IOError) in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(IOError) in
                    try blockingSyscall("getsockname") { getsockname(fd, address, &length) }
                }
            }
            self.address = unixPath == nil ? SocketAddress(storage: storage, length: length) : requested
        } catch {
            closeDescriptor(fd)
            throw error
        }
        self.fileDescriptor = fd
        self.unixPath = unixPath
    }

    /// Wraps a socket that is already bound and listening (see `init(adopting:)`). `unlinkOnClose` is the socket
    /// file `close()` removes: only one this process created, never one a service manager passed in.
    init(listening fd: Int32, address: SocketAddress, unlinkOnClose unixPath: String?) {
        self.fileDescriptor = fd
        self.address = address
        self.unixPath = unixPath
    }

    deinit {
        if !closed {
            if let source {
                let fd = fileDescriptor
                source.setCancelHandler { closeDescriptor(fd) }
                source.cancel()
            } else {
                closeDescriptor(fileDescriptor)
            }
        }
    }

    public var description: String { address.description }

    /// Starts accepting; `onAccept` runs on the listener's queue for each new connection and must return quickly.
    public func start(onAccept: @escaping @Sendable (SocketChannel) -> Void) {
        queue.async {
            guard !self.closed, self.source == nil else { return }
            let source = DispatchSource.makeReadSource(fileDescriptor: self.fileDescriptor, queue: self.queue)
            source.setEventHandler { [weak self] in self?.acceptAll(onAccept) }
            self.source = source
            source.resume()
        }
    }

    /// Stops accepting, closes the socket and removes a unix socket file. Connections already accepted go on.
    public func close() {
        queue.sync {
            guard !closed else { return }
            closed = true
            let fd = fileDescriptor
            if let source {
                source.setCancelHandler { closeDescriptor(fd) }
                source.cancel()
                self.source = nil
            } else {
                closeDescriptor(fd)
            }
            if let unixPath { unlink(unixPath) }
        }
    }

    private func acceptAll(_ onAccept: @Sendable (SocketChannel) -> Void) {
        while !closed {
            let fd = CMicoSystem_accept_nonblocking(fileDescriptor)
            if fd >= 0 {
                if address.family != AF_UNIX { try? setSocketOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1) }
                // Registration fails only when the kernel is out of memory; the descriptor is closed then.
                if let channel = try? SocketChannel(adopting: fd, loop: .next()) { onAccept(channel) }
                continue
            }
            switch errno {
            case EINTR, ECONNABORTED, EPROTO:
                continue
            case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                // Out of descriptors or memory: leave the connection in the backlog and look again shortly
                // instead of spinning on a source that stays readable.
                source?.suspend()
                queue.asyncAfter(deadline: .now() + .milliseconds(100)) { [weak self] in
                    guard let self, !self.closed else { return }
                    self.source?.resume()
                }
                return
            default:
                return  // EAGAIN: drained.
            }
        }
    }

    private static func removeStaleSocket(at path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw IOError(.system, call: "bind unix:\(path)", errno: EEXIST, detail: "exists and is not a socket")
        }
        guard let address = SocketAddress(unixPath: path) else { return }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { return }
        defer { closeDescriptor(probe) }
        let live =
            (try? address.withSockAddr { pointer, length throws(IOError) in
                Glibc.connect(probe, pointer, length) == 0
            }) ?? false
        if live {
            throw IOError(.system, call: "bind unix:\(path)", errno: EADDRINUSE, detail: "another process is listening")
        }
        unlink(path)
    }
}
