import Dispatch
import Glibc
import MicoIO

/// Test-only listening socket on 127.0.0.1, port chosen by the kernel.
final class LoopbackListener: Sendable {
    /// The port the kernel picked.
    let port: UInt16
    private let socket: LoopbackSocket

    init() throws {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw IOError.fromErrno(errno, call: "socket") }
        socket = LoopbackSocket(adopting: fd)
        var address = sockaddr_in.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw IOError.fromErrno(errno, call: "bind/listen") }
        port = UInt16(bigEndian: address.sin_port)
    }

    /// Accepts one connection as a non-blocking socket.
    func accept(deadline: DispatchTime) async throws -> LoopbackSocket {
        while true {
            // accept4 needs _GNU_SOURCE, which Glibc's Swift overlay does not define.
            let fd = Glibc.accept(socket.fileDescriptor, nil, nil)
            if fd >= 0 {
                let accepted = LoopbackSocket(adopting: fd)
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                guard fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0 else {
                    throw IOError.fromErrno(errno, call: "fcntl")
                }
                return accepted
            }
            switch errno {
            case EINTR, ECONNABORTED: continue
            case EAGAIN, EWOULDBLOCK: try await socket.waitUntilReadable(deadline: deadline)
            case let code: throw IOError.fromErrno(code, call: "accept")
            }
        }
    }

    func close() {
        socket.close()
    }
}
