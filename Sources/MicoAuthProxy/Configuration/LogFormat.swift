/// How each log line on standard error is written: the config key `log_format`.
public enum LogFormat: String, Sendable, Hashable, CaseIterable {
    /// `level=info msg="…" key=value`, one event per line (the default).
    case logfmt
    /// One JSON object per line: `{"level":"info","msg":"…","key":"value"}`.
    case json

    /// `"logfmt" or "json"`, for messages.
    static let namesForMessages = allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " or ")
}
