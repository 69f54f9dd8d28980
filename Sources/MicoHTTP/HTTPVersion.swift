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
        Self.appendDecimal(major, to: &bytes)
        bytes.append(UInt8(ascii: "."))
        Self.appendDecimal(minor, to: &bytes)
    }

    /// Appends `number` in decimal; a single digit without formatting a String, as every real version is.
    private static func appendDecimal(_ number: Int, to bytes: inout [UInt8]) {
        if (0...9).contains(number) {
            bytes.append(UInt8(ascii: "0") + UInt8(number))
        } else {
            bytes.append(contentsOf: String(number).utf8)
        }
    }
}
