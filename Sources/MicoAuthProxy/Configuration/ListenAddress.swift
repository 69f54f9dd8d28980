/// Where the proxy accepts plain HTTP from local tools: a TCP host and port, or a Unix socket.
///
/// Written in the config file as `127.0.0.1:8642`, `[::1]:8642`, `localhost:8642`,
/// `HOST:PORT` (IPv4 literal, bracketed IPv6 literal or host name) or `unix:/absolute/path`.
public enum ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// A TCP listener. `host` is an IP literal (IPv6 without brackets) or a name;
    /// port 0 asks the system for any free port.
    case tcp(host: String, port: UInt16)
    /// A Unix domain socket at an absolute path.
    case unix(path: String)

    /// The longest Unix socket path that fits `sockaddr_un.sun_path` with its terminating NUL.
    public static let maximumUnixPathLength = 107

    /// Whether only this machine can connect: a Unix socket, `localhost`, 127.0.0.0/8 or `::1`.
    public var isLoopback: Bool {
        switch self {
        case .tcp(let host, _): return HostSyntax.isLoopback(host)
        case .unix: return true
        }
    }

    /// The config-file form: `127.0.0.1:8642`, `[::1]:8642`, `unix:/run/x.sock`.
    public var description: String {
        switch self {
        case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): return "unix:\(path)"
        }
    }

    /// Parses one `listen` entry; errors name the key `listen` and quote the entry.
    public static func parse(_ text: String) throws(ConfigurationError) -> ListenAddress {
        func failure(_ why: String) -> ConfigurationError {
            ConfigurationError(key: "listen", message: "\"\(text)\": \(why)")
        }
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard path.hasPrefix("/") else { throw failure("a Unix socket path must be absolute") }
            guard !path.utf8.contains(0) else { throw failure("the path contains a NUL byte") }
            guard path.utf8.count <= maximumUnixPathLength else {
                throw failure("the path is longer than \(maximumUnixPathLength) bytes")
            }
            return .unix(path: path)
        }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw failure("missing \"]\" after the IPv6 address") }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw failure("missing \":PORT\" after \"]\", e.g. [::1]:8642") }
            portText = rest.dropFirst()
            guard HostSyntax.ipv6Bytes(String(host)) != nil else {
                throw failure("\(host) is not a valid IPv6 address")
            }
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw failure("missing \":PORT\", e.g. 127.0.0.1:8642") }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { throw failure("an IPv6 address needs brackets, e.g. [::1]:8642") }
            if case .failure(let error) = HostSyntax.classify(String(host)) { throw failure(error.message) }
        }
        guard let port = HostSyntax.port(portText) else {
            throw failure("the port must be a number from 0 to 65535 (0 = any free port)")
        }
        return .tcp(host: String(host), port: port)
    }
}
