import Glibc

/// An I/O failure, from a system call or from a wait that ran out of time.
public struct IOError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of failure this is; more kinds may be added.
    public struct Kind: Equatable, Hashable, Sendable {
        private let raw: UInt8
        private init(_ raw: UInt8) { self.raw = raw }

        /// A deadline passed before the operation completed.
        public static let timedOut = Kind(1)
        /// The stream or descriptor was closed by this process.
        public static let closed = Kind(2)
        /// The peer refused the connection (`ECONNREFUSED`).
        public static let connectionRefused = Kind(3)
        /// The peer reset the connection (`ECONNRESET`, `EPIPE`).
        public static let connectionReset = Kind(4)
        /// The host name did not resolve.
        public static let nameResolution = Kind(5)
        /// Any other system call failure; see `errno`.
        public static let system = Kind(6)
    }

    /// What kind of failure this is.
    public var kind: Kind
    /// The failing call, e.g. `"connect"`.
    public var call: String
    /// The `errno` captured right after the call, or 0.
    public var errno: Int32
    /// Extra words for people, e.g. the resolver's message.
    public var detail: String?

    public init(_ kind: Kind, call: String, errno: Int32 = 0, detail: String? = nil) {
        self.kind = kind
        self.call = call
        self.errno = errno
        self.detail = detail
    }

    /// Classifies a captured `errno` from `call`.
    public static func fromErrno(_ code: Int32, call: String) -> IOError {
        switch code {
        case ECONNREFUSED: return IOError(.connectionRefused, call: call, errno: code)
        case ECONNRESET, EPIPE: return IOError(.connectionReset, call: call, errno: code)
        case ETIMEDOUT: return IOError(.timedOut, call: call, errno: code)
        default: return IOError(.system, call: call, errno: code)
        }
    }

    public var description: String {
        var text: String
        switch kind {
        case .timedOut: text = "\(call): timed out"
        case .closed: text = "\(call): closed"
        default:
            if errno != 0, let message = strerror(errno) {
                text = "\(call): \(String(cString: message))"
            } else {
                text = "\(call): failed"
            }
        }
        if let detail { text += " (\(detail))" }
        return text
    }
}
