import Glibc

/// Listening sockets handed over by the service manager (socket activation), read as sd_listen_fds(3) reads them,
/// without libsystemd: when `LISTEN_PID` is this process and `LISTEN_FDS` is n, descriptors 3 … 3+n-1 are the
/// sockets, in the order the `.socket` unit lists them, named by the colon-separated `LISTEN_FDNAMES`.
public enum SystemdSocketActivation {
    /// The first passed descriptor (`SD_LISTEN_FDS_START`).
    public static let firstDescriptor: Int32 = 3

    /// One passed descriptor.
    public struct PassedDescriptor: Sendable, Equatable {
        /// The descriptor number, from 3 up.
        public var fileDescriptor: Int32
        /// Its `FileDescriptorName=` (default: the socket unit's name), or `unknown` without `LISTEN_FDNAMES`.
        public var name: String

        public init(fileDescriptor: Int32, name: String) {
            self.fileDescriptor = fileDescriptor
            self.name = name
        }
    }

    /// A passed socket, adopted as a listener.
    public struct AdoptedListener: Sendable {
        /// Its `FileDescriptorName=`.
        public let name: String
        /// The listener; closing it never unlinks a unix socket file.
        public let listener: Listener
    }

    /// The descriptors `environment` passes to process `pid`; nil when it passes none to it (no `LISTEN_PID`,
    /// another process's, no `LISTEN_FDS`, or 0). Throws on values sd_listen_fds(3) would reject with `-EINVAL`.
    public static func passedDescriptors(
        environment: [String: String], pid: pid_t
    ) throws(IOError) -> [PassedDescriptor]? {
        guard let pidText = environment["LISTEN_PID"], let countText = environment["LISTEN_FDS"] else { return nil }
        guard let listenPID = pid_t(pidText), listenPID > 0 else {
            throw invalid("LISTEN_PID=\(pidText) is not a process id")
        }
        guard listenPID == pid else { return nil }
        guard let count = Int32(countText), count >= 0, count <= Int32.max - firstDescriptor else {
            throw invalid("LISTEN_FDS=\(countText) is not a descriptor count")
        }
        guard count > 0 else { return nil }
        var names = Array(repeating: "unknown", count: Int(count))
        if let namesText = environment["LISTEN_FDNAMES"] {
            let given = namesText.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard given.count == Int(count) else {
                throw invalid("LISTEN_FDNAMES has \(given.count) names for LISTEN_FDS=\(count) descriptors")
            }
            names = given
        }
        return (0..<count).map { PassedDescriptor(fileDescriptor: firstDescriptor + $0, name: names[Int($0)]) }
    }

    /// Reads the passed sockets from the process environment, removes `LISTEN_PID`, `LISTEN_FDS` and
    /// `LISTEN_FDNAMES` from it (so no child inherits them, as sd_listen_fds(3) with `unset_environment` does) and
    /// adopts each socket as a ``Listener``. Returns nil when systemd passed nothing to this process. Every passed
    /// socket must be a listening stream socket; otherwise this throws and closes the ones already adopted.
    public static func takeListeners() throws(IOError) -> [AdoptedListener]? {
        var environment: [String: String] = [:]
        for key in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
            if let value = getenv(key) { environment[key] = String(cString: value) }
            unsetenv(key)
        }
        guard let passed = try passedDescriptors(environment: environment, pid: getpid()) else { return nil }
        var adopted: [AdoptedListener] = []
        for descriptor in passed {
            do {
                adopted.append(
                    AdoptedListener(name: descriptor.name, listener: try Listener(adopting: descriptor.fileDescriptor)))
            } catch {
                for done in adopted { done.listener.close() }
                throw IOError(
                    error.kind, call: "socket activation: fd \(descriptor.fileDescriptor) (\(descriptor.name))",
                    errno: error.errno, detail: error.detail)
            }
        }
        return adopted
    }

    private static func invalid(_ detail: String) -> IOError {
        IOError(.system, call: "socket activation", errno: EINVAL, detail: detail)
    }
}
