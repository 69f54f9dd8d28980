import Glibc
import Testing

@testable import MicoAuthProxy

/// A unique directory under /tmp for one test's files, removed by `remove()`.
final class ConfigurationTempDirectory {
    let path: String
    private var files: [String] = []

    init() throws {
        var template = Array("/tmp/mico-config-tests.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        try #require(made != nil, "mkdtemp failed: \(String(cString: strerror(errno)))")
        path = String(cString: made!)
    }

    /// Writes `text` to `name` in this directory with permission bits `mode`; returns the full path.
    @discardableResult
    func write(_ name: String, _ text: String, mode: mode_t = 0o600) throws -> String {
        let full = path + "/" + name
        let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        try #require(fd >= 0, "open \(full): \(String(cString: strerror(errno)))")
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        try #require(written == bytes.count)
        try #require(fchmod(fd, mode) == 0)  // the umask may have cleared bits
        files.append(full)
        return full
    }

    /// Makes a subdirectory; returns its full path.
    func makeDirectory(_ name: String) throws -> String {
        let full = path + "/" + name
        try #require(mkdir(full, 0o700) == 0)
        files.append(full)
        return full
    }

    func remove() {
        for file in files.reversed() where unlink(file) != 0 { rmdir(file) }
        rmdir(path)
    }
}

/// A distinctive secret that must never show up in any output.
let configurationTestSecret = "S3cr3t-Z9q!xK7#unlikely-anywhere"

/// Loads from `json` written to a temp config file, with `environment`.
func loadTestConfiguration(
    _ json: String,
    environment: [String: String] = ["MICOVOICE_CLIENT_SECRET": configurationTestSecret],
    in directory: ConfigurationTempDirectory
) throws -> ProxyConfiguration {
    let path = try directory.write("config.json", json)
    return try ProxyConfiguration.load(configPath: path, environment: environment)
}

/// The error from loading `json`, or nil when it loads.
func configurationLoadError(
    _ json: String,
    environment: [String: String] = ["MICOVOICE_CLIENT_SECRET": configurationTestSecret]
) throws -> ConfigurationError? {
    let directory = try ConfigurationTempDirectory()
    defer { directory.remove() }
    let path = try directory.write("config.json", json)
    do {
        _ = try ProxyConfiguration.load(configPath: path, environment: environment)
        return nil
    } catch {
        return error
    }
}

/// An in-memory file reader for tests that need no disk.
func inMemoryConfigurationReader(_ files: [String: (text: String, mode: UInt32)]) -> ConfigurationFileReader {
    ConfigurationFileReader { path, limit in
        guard let file = files[path] else { return .failure(.init(errno: ENOENT, reason: "No such file or directory")) }
        let bytes = Array(file.text.utf8)
        guard bytes.count <= limit else { return .failure(.init(errno: EFBIG, reason: "larger than \(limit) bytes")) }
        return .success(.init(bytes: bytes, mode: file.mode))
    }
}
