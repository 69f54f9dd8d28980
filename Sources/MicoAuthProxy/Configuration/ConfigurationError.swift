/// A configuration that cannot be used, with words an operator can act on.
///
/// The text names the config file and key when there is one, says what is wrong, and never
/// contains the client secret: messages about the secret describe it ("is empty"), never quote it.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The config key at fault, e.g. `"token_wait_seconds"`; `nil` when no single key is.
    public var key: String?
    /// What is wrong and, where it helps, what to do.
    public var message: String
    /// The config file the faulty key came from; `nil` for defaults, the environment or code.
    public var file: String?

    /// Creates an error about `key` (if any) in `file` (if any).
    public init(key: String?, message: String, file: String? = nil) {
        self.key = key
        self.message = message
        self.file = file
    }

    /// `FILE: config key "KEY": MESSAGE`, leaving out the parts that are `nil`.
    public var description: String {
        var text = ""
        if let file { text += "\(file): " }
        if let key { text += "config key \"\(key)\": " }
        return text + message
    }

    /// The same error, attributed to `file` when its key was set there.
    func located(in file: String?, keysFromFile: Set<String>) -> ConfigurationError {
        guard let file, self.file == nil, let key, keysFromFile.contains(key) else { return self }
        var copy = self
        copy.file = file
        return copy
    }
}
