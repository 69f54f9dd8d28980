/// An HTTP version as written in a request or status line (`HTTP/major.minor`).
public struct HTTPVersion: Sendable, Hashable, CustomStringConvertible {
    /// The major version digit.
    public var major: Int
    /// The minor version digit.
    public var minor: Int

    /// A version; the decoders only ever produce 1.0 and 1.1.
    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// HTTP/1.0.
    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    /// HTTP/1.1.
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    /// The wire form, e.g. `HTTP/1.1`.
    public var description: String { "HTTP/\(major).\(minor)" }

    func serialize(into bytes: inout [UInt8]) {
        bytes.append(contentsOf: "HTTP/".utf8)
        bytes.append(contentsOf: String(major).utf8)
        bytes.append(UInt8(ascii: "."))
        bytes.append(contentsOf: String(minor).utf8)
    }
}
