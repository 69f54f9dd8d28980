/// A log level as written in the config file; the same names and order as swift-log's `Logger.Level`.
public enum LogLevelName: String, Sendable, Hashable, CaseIterable, Comparable {
    case trace, debug, info, notice, warning, error, critical

    /// Orders by severity: `trace` is the least severe, `critical` the most.
    public static func < (lhs: LogLevelName, rhs: LogLevelName) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// `trace, debug, info, notice, warning, error, critical`, for messages.
    static let namesForMessages = allCases.map(\.rawValue).joined(separator: ", ")
}
