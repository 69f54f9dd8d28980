import COpenSSL

/// One entry of OpenSSL's per-thread error queue.
struct OpenSSLErrorEntry: Sendable {
    /// The packed error code (`ERR_GET_LIB` / `ERR_GET_REASON` take it apart).
    var code: UInt
    /// `ERR_error_string_n` text, plus the entry's extra data when OpenSSL attached some.
    var text: String

    /// True when this entry is libssl's "unexpected eof while reading" (OpenSSL 3.0 and later).
    var isUnexpectedEOF: Bool {
        ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING
    }
}

/// Access to OpenSSL's error queue.
///
/// The queue is per thread and Swift tasks hop threads, so every OpenSSL call that can fail is
/// bracketed: `clear()` right before it, `drain()` right after it, on the same thread
/// and with no suspension point in between.
enum OpenSSLErrorQueue {
    /// Empties this thread's queue. `ERR_clear_error` resets all of the queue's slots even when it is empty, as it
    /// nearly always is, and it runs around every `SSL_read`/`SSL_write`: callgrind counted 1,600 instructions of
    /// it per proxied request. Looking first costs a fraction of that; `SSL_get_error` looks the same way.
    static func clear() {
        if ERR_peek_error() != 0 { ERR_clear_error() }
    }

    /// Removes every entry from this thread's queue, oldest first.
    static func drain() -> [OpenSSLErrorEntry] {
        var entries: [OpenSSLErrorEntry] = []
        while true {
            var data: UnsafePointer<CChar>? = nil
            var flags: Int32 = 0
            let code = ERR_get_error_all(nil, nil, nil, &data, &flags)
            if code == 0 { break }
            var text = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { buffer in
                ERR_error_string_n(code, buffer.baseAddress, buffer.count)
                return String(cString: buffer.baseAddress!)
            }
            if flags & ERR_TXT_STRING != 0, let data, data.pointee != 0 {
                text += " (\(String(cString: data)))"
            }
            entries.append(OpenSSLErrorEntry(code: code, text: text))
        }
        return entries
    }

    /// Joins drained entries for an error message; `fallback` when the queue held nothing.
    static func describe(_ entries: [OpenSSLErrorEntry], fallback: String) -> String {
        entries.isEmpty ? fallback : entries.map(\.text).joined(separator: "; ")
    }
}
