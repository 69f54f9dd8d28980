import Foundation

/// Runs external programs (curl, openssl, the built binary) without blocking the cooperative thread pool:
/// the in-process proxy under test needs those threads.
public struct ExternalProcess {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: Data
        public var stderr: String
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// Runs `executable` to completion. Output goes through temp files, so a large output cannot dead-lock a pipe.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        timeout: Double = 120
    ) async throws -> Result {
        let directory = try TemporaryDirectory.make("proc")
        let outURL = URL(fileURLWithPath: directory + "/stdout")
        let errURL = URL(fileURLWithPath: directory + "/stderr")
        for url in [outURL, errURL] where !FileManager.default.createFile(atPath: url.path, contents: nil) {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
                return
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [process] in
                if process.isRunning { process.terminate() }
            }
        }
        let stdout = (try? Data(contentsOf: outURL)) ?? Data()
        let stderr = String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self)
        try? FileManager.default.removeItem(atPath: directory)
        RunLog.append(stderr)
        if stdout.count <= 1 << 20 { RunLog.append(String(decoding: stdout, as: UTF8.self)) }
        return Result(status: status, stdout: stdout, stderr: stderr)
    }
}

public enum TemporaryDirectory {
    /// A new private directory under the system temp dir.
    public static func make(_ label: String) throws -> String {
        var template = Array((NSTemporaryDirectory() + "/mico-\(label)-XXXXXX").utf8CString)
        guard let path = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CocoaError(.fileWriteUnknown)
        }
        return String(cString: path)
    }
}
