import COpenSSL
import Glibc

/// An OpenSSL BIO over a socket, as `SSL_set_fd`'s socket BIO, that also records whether its last read emptied the
/// socket: a read that returned fewer bytes than OpenSSL asked for (or none) took everything there was.
///
/// With that, and the channel's input flag (an input event since the read began), a TLS read knows without a system
/// call that nothing is waiting, and a pooled connection's idle check needs no `recv(MSG_PEEK)`: OpenSSL reads the
/// socket itself, so without it neither could tell whether OpenSSL stopped with bytes left behind. (A BIO callback
/// on the socket BIO would tell too, but OpenSSL calls it around every control call as well, which cost more than
/// the system calls it saved; see the README's Performance item 12.)
///
/// Reads, writes, retry flags, end of stream and `BIO_CTRL_EOF` behave as OpenSSL 3's socket BIO (`bss_sock.c`);
/// writes use `send` with `MSG_NOSIGNAL`. The descriptor is never closed by the BIO.
enum SocketBIO {
    /// What one BIO knows; owned by the `SSLConnection` whose BIO it is, and freed after the `SSL`.
    struct State {
        let fileDescriptor: Int32
        /// The last read returned fewer bytes than asked for, or end of stream, or an error: the socket was empty.
        var lastReadEmptied = false
        /// Reads so far: tells whether an OpenSSL call read the socket at all.
        var reads: UInt64 = 0
    }

    private static let retryFlags = Int32(
        BIO_FLAGS_READ | BIO_FLAGS_WRITE | BIO_FLAGS_IO_SPECIAL | BIO_FLAGS_SHOULD_RETRY)

    /// The method, made once (OpenSSL keeps a pointer to it in every BIO).
    // nonisolated(unsafe): written once, by the lazy initialiser (which Swift runs once, under its own lock); OpenSSL
    // only reads the method afterwards.
    nonisolated(unsafe) private static let method: OpaquePointer = {
        guard let method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "mico socket")
        else { fatalError("BIO_meth_new failed") }
        BIO_meth_set_read(method) { bio, buffer, length in
            guard let bio, let buffer, length > 0 else { return 0 }
            let state = SocketBIO.state(bio)
            state.pointee.reads &+= 1
            errno = 0
            let count = recv(state.pointee.fileDescriptor, buffer, Int(length), 0)
            BIO_clear_flags(bio, SocketBIO.retryFlags)
            if count <= 0 {
                state.pointee.lastReadEmptied = true
                if count < 0 && BIO_sock_non_fatal_error(errno) != 0 {
                    BIO_set_flags(bio, Int32(BIO_FLAGS_READ | BIO_FLAGS_SHOULD_RETRY))
                } else if count == 0 {
                    BIO_set_flags(bio, Int32(BIO_FLAGS_IN_EOF))
                }
            } else {
                state.pointee.lastReadEmptied = count < Int(length)
            }
            return Int32(truncatingIfNeeded: count)
        }
        BIO_meth_set_write(method) { bio, buffer, length in
            guard let bio, let buffer, length > 0 else { return 0 }
            errno = 0
            let count = send(SocketBIO.state(bio).pointee.fileDescriptor, buffer, Int(length), Int32(MSG_NOSIGNAL))
            BIO_clear_flags(bio, SocketBIO.retryFlags)
            if count < 0 && BIO_sock_non_fatal_error(errno) != 0 {
                BIO_set_flags(bio, Int32(BIO_FLAGS_WRITE | BIO_FLAGS_SHOULD_RETRY))
            }
            return Int32(truncatingIfNeeded: count)
        }
        BIO_meth_set_ctrl(method) { bio, command, _, _ in
            switch command {
            case BIO_CTRL_FLUSH, BIO_CTRL_DUP: return 1
            case BIO_CTRL_EOF:
                guard let bio else { return 0 }
                return BIO_test_flags(bio, Int32(BIO_FLAGS_IN_EOF)) != 0 ? 1 : 0
            default: return 0
            }
        }
        BIO_meth_set_create(method) { bio in
            BIO_set_init(bio, 1)
            return 1
        }
        return method
    }()

    private static func state(_ bio: OpaquePointer) -> UnsafeMutablePointer<State> {
        BIO_get_data(bio).assumingMemoryBound(to: State.self)
    }

    /// A BIO over `state`'s descriptor that records what it saw in `state` (which must outlive it), or nil when
    /// OpenSSL cannot allocate one.
    static func make(over state: UnsafeMutablePointer<State>) -> OpaquePointer? {
        guard let bio = BIO_new(method) else { return nil }
        BIO_set_data(bio, state)
        return bio
    }
}
