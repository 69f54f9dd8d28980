import CMicoSystem
import Glibc

/// The outcome of a non-blocking system call.
public enum IOResult<Value> {
    /// The call completed with this value.
    case done(Value)
    /// The call would have blocked (`EAGAIN` / `EWOULDBLOCK` / `EINPROGRESS`); wait for readiness.
    case wouldBlock
}

/// Runs one system call: captures `errno` at once, retries on `EINTR`, maps "would block" to
/// `.wouldBlock` and throws a classified `IOError` otherwise.
@inline(__always)
func syscall<Value: FixedWidthInteger>(
    _ name: String,
    _ body: () -> Value
) throws(IOError) -> IOResult<Value> {
    while true {
        let result = body()
        if result >= 0 { return .done(result) }
        let code = errno
        switch code {
        case EINTR: continue
        case EAGAIN, EWOULDBLOCK, EINPROGRESS: return .wouldBlock
        default: throw IOError.fromErrno(code, call: name)
        }
    }
}

/// Like `syscall(_:_:)` for calls that never block (bind, listen, setsockopt): "would block" is an error.
@inline(__always)
func blockingSyscall<Value: FixedWidthInteger>(_ name: String, _ body: () -> Value) throws(IOError) -> Value {
    switch try syscall(name, body) {
    case .done(let value): return value
    case .wouldBlock: throw IOError.fromErrno(EAGAIN, call: name)
    }
}

/// Closes a descriptor. `EINTR` is not retried: on Linux the descriptor is released even when
/// `close` is interrupted, and retrying could close a descriptor another thread just opened.
func closeDescriptor(_ fd: Int32) {
    _ = Glibc.close(fd)
}

/// Makes `fd` non-blocking and close-on-exec.
func setNonBlocking(_ fd: Int32) throws(IOError) {
    let flags = try blockingSyscall("fcntl") { fcntl(fd, F_GETFL) }
    _ = try blockingSyscall("fcntl") { fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    let fdFlags = try blockingSyscall("fcntl") { fcntl(fd, F_GETFD) }
    _ = try blockingSyscall("fcntl") { fcntl(fd, F_SETFD, fdFlags | FD_CLOEXEC) }
}

/// Sets an integer socket option.
func setSocketOption(_ fd: Int32, _ level: Int32, _ option: Int32, _ value: Int32) throws(IOError) {
    var value = value
    _ = try blockingSyscall("setsockopt") {
        setsockopt(fd, level, option, &value, socklen_t(MemoryLayout<Int32>.size))
    }
}

/// Reads at most `maxBytes` through `read`, which fills the buffer it is given and returns how many bytes it wrote,
/// and returns them as an array of exactly that size.
///
/// A read of up to 8 KiB goes through the thread's own buffer and is copied out: a small message costs a small
/// allocation (glibc serves one under 1 KiB from its per-thread cache), and an attempt that finds nothing costs
/// none. A larger read, made for bulk data, fills its array directly, without the copy. (`read` must not suspend or
/// read again on this thread: it is synchronous, and the buffer is copied before anything else runs.)
func readIntoArray<E: Error>(maxBytes: Int, _ read: (UnsafeMutableBufferPointer<UInt8>) throws(E) -> Int)
    throws(E) -> [UInt8]
{
    guard maxBytes > Int(CMICO_THREAD_READ_BUFFER_SIZE) else {
        let buffer = UnsafeMutableBufferPointer(start: CMicoSystem_thread_read_buffer(), count: maxBytes)
        let count = try read(buffer)
        return count > 0 ? Array(UnsafeBufferPointer(rebasing: buffer[..<count])) : []
    }
    return try [UInt8](unsafeUninitializedCapacity: maxBytes) { buffer, count throws(E) in
        count = try read(buffer)
    }
}
