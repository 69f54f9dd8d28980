import Foundation

/// A unix datagram socket that plays systemd's side of sd_notify(3): bound to a fresh path or abstract name, it
/// collects the messages a notifier sends. Reads never block a thread: waits poll with `Task.sleep`.
// @unchecked Sendable: `received` is guarded by `lock`; the descriptor is immutable until `deinit`.
public final class NotifySocket: @unchecked Sendable {
    /// The value for `NOTIFY_SOCKET`: a path, or `@name` for the abstract namespace.
    public let name: String
    private let fileDescriptor: Int32
    private let path: String?
    private let lock = NSLock()
    private var received: [String] = []

    /// Binds a new socket; `abstract` picks a random name in the abstract namespace instead of a file.
    public init(abstract: Bool) throws {
        let label = "mico-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let path = abstract ? nil : try TemporaryDirectory.make("notify") + "/notify.sock"
        let nameBytes = abstract ? [0] + Array(label.utf8) : Array(path!.utf8)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw NotifySocketError("socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: nameBytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + nameBytes.count + (abstract ? 0 : 1))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else {
            close(fd)
            throw NotifySocketError("bind \(label): errno \(errno)")
        }
        self.fileDescriptor = fd
        self.path = path
        self.name = abstract ? "@" + label : path!
    }

    deinit {
        close(fileDescriptor)
        if let path { unlink(path) }
    }

    /// Every message received so far, in order.
    public func messages() -> [String] {
        drain()
        return lock.withLock { received }
    }

    /// Waits until a received message satisfies `predicate` and returns it; throws after `timeout` seconds with
    /// everything that did arrive.
    @discardableResult
    public func waitFor(
        _ what: String, timeout: Double = 10, where predicate: (String) -> Bool
    ) async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let match = messages().first(where: predicate) { return match }
            guard Date() < deadline else {
                throw NotifySocketError("no \(what) within \(timeout) s; received: \(messages())")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Reads every datagram waiting on the socket, without blocking.
    private func drain() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fileDescriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            guard count >= 0 else { return }
            let text = String(decoding: buffer[0..<count], as: UTF8.self)
            lock.withLock { received.append(text) }
        }
    }
}

/// The notify socket could not be set up, or the expected message did not come.
public struct NotifySocketError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
