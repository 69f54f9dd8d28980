import Glibc

/// The text of `/proc/thread-self/<name>`: the calling thread's own entry ("" when it cannot be read).
func threadSelfFile(_ name: String) -> String {
    guard let handle = fopen("/proc/thread-self/\(name)", "r") else { return "" }
    defer { fclose(handle) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1024)
    while true {
        let count = fread(&chunk, 1, chunk.count, handle)
        if count == 0 { break }
        bytes += chunk[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}
