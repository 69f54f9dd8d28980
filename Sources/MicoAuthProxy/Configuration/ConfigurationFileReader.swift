/// How configuration loading reads files: the config file, the client secret and the CA bundle.
///
/// `system` reads with Glibc; tests may pass a reader over an in-memory table.
public struct ConfigurationFileReader: Sendable {
    /// A file's bytes and permission bits.
    public struct Contents: Sendable, Equatable {
        /// The whole file.
        public var bytes: [UInt8]
        /// The permission bits (`st_mode & 0o7777`), e.g. `0o600`.
        public var mode: UInt32

        /// Creates contents; `mode` defaults to owner read/write only.
        public init(bytes: [UInt8], mode: UInt32 = 0o600) {
            self.bytes = bytes
            self.mode = mode
        }
    }

    /// Why a file could not be read.
    public struct Failure: Error, Sendable, Equatable {
        /// The `errno` of the failing call (`ENOENT`, `EACCES`, `EFBIG` for "too large", …).
        public var errno: Int32
        /// Words for people, e.g. `"No such file or directory"`.
        public var reason: String

        /// Creates a failure.
        public init(errno: Int32, reason: String) {
            self.errno = errno
            self.reason = reason
        }
    }

    /// Reads the whole regular file at `path`; more than `byteLimit` bytes is a failure.
    public var read: @Sendable (_ path: String, _ byteLimit: Int) -> Result<Contents, Failure>

    /// Creates a reader from a read function.
    public init(read: @escaping @Sendable (_ path: String, _ byteLimit: Int) -> Result<Contents, Failure>) {
        self.read = read
    }
}
