import Glibc

/// Tells the service manager how the daemon is doing, as sd_notify(3) does, without libsystemd: each message is one
/// datagram of newline-separated `KEY=VALUE` assignments sent to the unix socket named by `$NOTIFY_SOCKET`, a path or,
/// starting with `@`, a name in Linux's abstract namespace. Without `$NOTIFY_SOCKET` every call does nothing.
// @unchecked Sendable: every stored property is immutable; sendto(2) on one datagram socket is safe from any thread.
public final class SystemdNotifier: @unchecked Sendable {
    /// `$NOTIFY_SOCKET` as given; nil when the notifier does nothing.
    public let destination: String?
    private let address: SocketAddress?
    private let fileDescriptor: Int32

    /// A notifier for `$NOTIFY_SOCKET` in `environment`; one that does nothing when it is unset or empty.
    /// Throws when it is set but names no socket this process can address (a relative path, too long, `vsock:`).
    public convenience init(environment: [String: String]) throws(IOError) {
        try self.init(socket: environment["NOTIFY_SOCKET"])
    }

    /// A notifier for `socket` (`/path` or `@abstract-name`); one that does nothing for nil or "".
    public init(socket: String?) throws(IOError) {
        guard let socket, !socket.isEmpty else {
            destination = nil
            address = nil
            fileDescriptor = -1
            return
        }
        guard let address = Self.address(for: socket) else {
            throw IOError(
                .system, call: "NOTIFY_SOCKET", errno: EINVAL,
                detail: "\(socket) is neither an absolute unix socket path nor @abstract-name of at most 107 bytes")
        }
        let fd = try blockingSyscall("socket") {
            Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        self.destination = socket
        self.address = address
        self.fileDescriptor = fd
    }

    /// A notifier that never sends anything.
    public static let disabled = try! SystemdNotifier(socket: nil)

    deinit {
        if fileDescriptor >= 0 { closeDescriptor(fileDescriptor) }
    }

    /// Whether messages go anywhere.
    public var isEnabled: Bool { address != nil }

    /// Sends `assignments` as one message; does nothing when disabled. Never blocks: a full queue at the receiver
    /// is an error, not a wait, so a stuck service manager cannot stall the caller.
    public func notify(_ assignments: [String]) throws(IOError) {
        guard let address else { return }
        let message = Array(assignments.joined(separator: "\n").utf8)
        let call = "sendto NOTIFY_SOCKET=\(destination ?? "")"
        let outcome = try address.withSockAddr { pointer, length throws(IOError) in
            try syscall(call) {
                message.withUnsafeBytes { bytes in
                    sendto(
                        fileDescriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT), pointer,
                        length)
                }
            }
        }
        if case .wouldBlock = outcome { throw IOError.fromErrno(EAGAIN, call: call) }
    }

    /// `READY=1`: start-up is finished, with a first `STATUS=` line if one is given.
    public func ready(status: String? = nil) throws(IOError) {
        try notify(["READY=1"] + (status.map { [Self.statusAssignment($0)] } ?? []))
    }

    /// `STATUS=…`: one line for people, shown by `systemctl status`. Line breaks become spaces.
    public func status(_ text: String) throws(IOError) {
        try notify([Self.statusAssignment(text)])
    }

    /// `WATCHDOG=1`: the daemon is alive (see ``SystemdWatchdog``).
    public func watchdog() throws(IOError) {
        try notify(["WATCHDOG=1"])
    }

    /// `STOPPING=1`: shutdown has begun.
    public func stopping() throws(IOError) {
        try notify(["STOPPING=1"])
    }

    /// `RELOADING=1` with `MONOTONIC_USEC=` (`CLOCK_MONOTONIC` now), which systemd 253 and later require for
    /// `Type=notify-reload` and older ones ignore. Send `READY=1` when the reload is done.
    public func reloading() throws(IOError) {
        try notify(["RELOADING=1", "MONOTONIC_USEC=\(Self.monotonicMicroseconds())"])
    }

    /// How often the manager wants `WATCHDOG=1`, in microseconds, as sd_watchdog_enabled(3) reads it: `WATCHDOG_USEC`
    /// when it is a positive integer and `WATCHDOG_PID` is unset or names `pid`; nil otherwise. Ping at half of it.
    public static func watchdogMicroseconds(environment: [String: String], pid: pid_t = getpid()) -> UInt64? {
        guard let text = environment["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0 else { return nil }
        if let owner = environment["WATCHDOG_PID"] {
            guard let ownerPID = pid_t(owner), ownerPID == pid else { return nil }
        }
        return usec
    }

    /// `CLOCK_MONOTONIC` in microseconds, the clock `MONOTONIC_USEC=` is read on.
    public static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
    }

    private static func statusAssignment(_ text: String) -> String {
        "STATUS=" + String(text.map { $0.isNewline ? " " : $0 })
    }

    /// sd_notify(3): a leading `@` names an abstract socket, whose address is a NUL byte and the name, with the
    /// length saying where it ends; anything else must be an absolute path.
    private static func address(for socket: String) -> SocketAddress? {
        if socket.hasPrefix("/") { return SocketAddress(unixPath: socket) }
        guard socket.hasPrefix("@") else { return nil }
        let name = Array(socket.utf8.dropFirst())
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        guard !name.isEmpty, name.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.baseAddress!.advanced(by: 1).copyMemory(from: name, byteCount: name.count)
        }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { raw in
            withUnsafeBytes(of: address) { raw.copyMemory(from: $0) }
        }
        let length = MemoryLayout<sa_family_t>.size + 1 + name.count
        return SocketAddress(storage: storage, length: socklen_t(length))
    }
}
