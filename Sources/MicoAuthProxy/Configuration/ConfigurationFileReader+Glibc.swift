import Glibc

extension ConfigurationFileReader {
    /// Reads real files with blocking Glibc calls; meant for start-up, not for the request path.
    public static let system = ConfigurationFileReader(read: readRegularFile)
}

// MicoIO's `syscall` wrapper is internal to MicoIO (and this target does not depend on it for
// plain blocking start-up reads), so this file keeps its own: errno captured at once, EINTR retried.
private func retrying(_ body: () -> Int) -> Result<Int, ConfigurationFileReader.Failure> {
    while true {
        let result = body()
        if result >= 0 { return .success(result) }
        let code = errno
        if code != EINTR { return .failure(failure(code)) }
    }
}

private func failure(_ code: Int32) -> ConfigurationFileReader.Failure {
    ConfigurationFileReader.Failure(errno: code, reason: String(cString: strerror(code)))
}

@Sendable
private func readRegularFile(
    _ path: String,
    byteLimit: Int
) -> Result<ConfigurationFileReader.Contents, ConfigurationFileReader.Failure> {
    // O_NONBLOCK so that opening a FIFO cannot hang start-up; it is refused below anyway.
    let opened = retrying { Int(open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) }
    let fd: Int32
    switch opened {
    case .success(let value): fd = Int32(value)
    case .failure(let error): return .failure(error)
    }
    // EINTR is not retried on close: Linux releases the descriptor even when close is interrupted.
    defer { _ = close(fd) }

    var status = stat()
    if case .failure(let error) = retrying({ Int(fstat(fd, &status)) }) { return .failure(error) }
    let fileType = status.st_mode & 0o170000
    if fileType == 0o040000 { return .failure(failure(EISDIR)) }
    guard fileType == 0o100000 else {
        return .failure(ConfigurationFileReader.Failure(errno: EINVAL, reason: "not a regular file"))
    }

    var bytes: [UInt8] = []
    bytes.reserveCapacity(min(Int(status.st_size), byteLimit))
    var chunk = [UInt8](repeating: 0, count: 16 * 1024)
    while true {
        let count = chunk.withUnsafeMutableBytes { buffer in
            retrying { Glibc.read(fd, buffer.baseAddress, buffer.count) }
        }
        switch count {
        case .failure(let error): return .failure(error)
        case .success(0):
            return .success(ConfigurationFileReader.Contents(bytes: bytes, mode: UInt32(status.st_mode & 0o7777)))
        case .success(let n):
            bytes.append(contentsOf: chunk[0..<n])
            if bytes.count > byteLimit {
                return .failure(ConfigurationFileReader.Failure(errno: EFBIG, reason: "larger than \(byteLimit) bytes"))
            }
        }
    }
}
