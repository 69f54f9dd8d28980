/// Requests the proxy answered since it started, for `/-/status`. Requests for `/-/metrics` and `/-/status` are not
/// counted.
public struct RequestCounts: Sendable, Equatable {
    /// Every request whose head was read, including those that got no response (the connection was cut first).
    public var total = 0
    public var status2xx = 0
    public var status3xx = 0
    public var status4xx = 0
    public var status5xx = 0
    /// Requests sent again with a new token after a 401.
    public var replays = 0

    mutating func add(status: Int, replayed: Bool) {
        total += 1
        switch status {
        case 200..<300: status2xx += 1
        case 300..<400: status3xx += 1
        case 400..<500: status4xx += 1
        case 500..<600: status5xx += 1
        default: break
        }
        if replayed { replays += 1 }
    }
}
