import Foundation
import Synchronization

/// Everything the test run prints or receives that could leak a secret (log lines, child process output,
/// response bodies), appended to `$MICO_TEST_LOG_DIR/<pid>.log` when that is set, so `.ci/run` can search the
/// whole run's output for the test secret's and the mock tokens' prefixes.
public enum RunLog {
    private static let file = Mutex<FileHandle?>(
        ProcessInfo.processInfo.environment["MICO_TEST_LOG_DIR"].flatMap { directory in
            let path = "\(directory)/\(getpid()).log"
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
        })

    /// Appends `text` and a newline.
    public static func append(_ text: String) {
        file.withLock { file in
            guard let file else { return }
            file.seekToEndOfFile()
            file.write(Data((text + "\n").utf8))
        }
    }
}
