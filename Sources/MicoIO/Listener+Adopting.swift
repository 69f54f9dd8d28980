import Glibc

extension Listener {
    /// Takes over a socket another process bound and put in the listening state (systemd socket activation).
    ///
    /// The socket must be a listening stream socket (TCP or unix-domain); it is made non-blocking and close-on-exec
    /// and its address is read with getsockname(2). `close()` closes it but never unlinks a unix socket file:
    /// the file belongs to whoever created it (systemd.socket(5): the daemon "must not unlink the socket").
    /// On failure the descriptor is left open and still belongs to the caller.
    public convenience init(adopting fd: Int32) throws(IOError) {
        var info = stat()
        _ = try blockingSyscall("fstat fd \(fd)") { fstat(fd, &info) }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw IOError(.system, call: "adopt fd \(fd)", errno: ENOTSOCK, detail: "not a socket")
        }
        guard try Self.intOption(fd, SO_TYPE) == Int32(SOCK_STREAM.rawValue) else {
            throw IOError(.system, call: "adopt fd \(fd)", errno: EPROTOTYPE, detail: "not a stream socket")
        }
        guard try Self.intOption(fd, SO_ACCEPTCONN) == 1 else {
            throw IOError(
                .system, call: "adopt fd \(fd)", errno: EINVAL,
                detail: "not listening (a socket unit with Accept=yes passes connections, not listeners)")
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { pointer throws(IOError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(IOError) in
                try blockingSyscall("getsockname fd \(fd)") { getsockname(fd, address, &length) }
            }
        }
        let address = SocketAddress(storage: storage, length: length)
        guard [AF_INET, AF_INET6, AF_UNIX].contains(address.family) else {
            throw IOError(
                .system, call: "adopt fd \(fd)", errno: EAFNOSUPPORT, detail: "address family \(address.family)")
        }
        try setNonBlocking(fd)
        self.init(listening: fd, address: address, unlinkOnClose: nil)
    }

    private static func intOption(_ fd: Int32, _ option: Int32) throws(IOError) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = try blockingSyscall("getsockopt fd \(fd)") { getsockopt(fd, SOL_SOCKET, option, &value, &length) }
        return value
    }
}
