import Synchronization

/// The client credentials the token client sends, replaceable while the proxy runs (SIGHUP reload).
final class TokenCredentials: Sendable {
    struct Values: Sendable, Equatable {
        var clientID: String
        var clientSecret: Secret
        var scope: String
        /// Where the secret came from, for messages.
        var source: String
    }

    private let values: Mutex<Values>

    init(_ values: Values) {
        self.values = Mutex(values)
    }

    var current: Values { values.withLock { $0 } }

    /// Replaces the credentials; returns whether anything the endpoint sees changed.
    func replace(with new: Values) -> Bool {
        values.withLock { values in
            let changed =
                values.clientID != new.clientID || values.clientSecret != new.clientSecret || values.scope != new.scope
            values = new
            return changed
        }
    }
}
