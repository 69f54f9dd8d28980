/// Formats durations for log lines and status text.
enum TokenDuration {
    /// Whole seconds, rounded up so a short remainder never reads as zero: `3599s`.
    static func seconds(_ value: Double) -> String {
        guard value.isFinite else { return "∞" }
        return "\(Int(max(0, value).rounded(.up)))s"
    }

    /// A compact form for people: `23h41m`, `9m59s`, `8s`.
    static func human(_ value: Double) -> String {
        guard value.isFinite else { return "∞" }
        let total = Int(max(0, value).rounded(.down))
        let hours = total / 3600
        let minutes = (total % 3600) / 60
        let seconds = total % 60
        if hours > 0 { return "\(hours)h\(minutes)m" }
        if minutes > 0 { return "\(minutes)m\(seconds)s" }
        return "\(Int(max(0, value).rounded(.up)))s"
    }
}
