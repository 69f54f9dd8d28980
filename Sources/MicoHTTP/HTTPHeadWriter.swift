/// Writes a message head straight into bytes: the start line, then fields copied from a decoded head or added one
/// by one, then the empty line. A proxy forwards a head this way without building a second one first.
///
/// What it writes is what `HTTPRequestHead.serialize` and `HTTPResponseHead.serialize` write (they use it): bytes
/// that a method, target, reason or field may not hold are replaced rather than written, so no part can inject a
/// line or a field.
public struct HTTPHeadWriter: ~Copyable {
    private var bytes: [UInt8] = []

    /// Starts a request head: `method SP target SP version CRLF`. `capacity` is the head's expected size.
    public init(method: String, target: String, version: HTTPVersion, capacity: Int) {
        bytes.reserveCapacity(capacity)
        Latin1.append(method, rule: .token, to: &bytes)
        bytes.append(ByteClass.sp)
        Latin1.append(target, rule: .target, to: &bytes)
        bytes.append(ByteClass.sp)
        version.serialize(into: &bytes)
        bytes.append(ByteClass.cr)
        bytes.append(ByteClass.lf)
    }

    /// Starts a response head: `version SP status SP reason CRLF` (the second SP even for an empty reason, RFC 9112
    /// §4). A status outside 0...999 is clamped. `capacity`: the bytes to reserve, the head's expected size and what
    /// the caller appends to it.
    public init(version: HTTPVersion, status: Int, reason: String, capacity: Int) {
        bytes.reserveCapacity(capacity)
        version.serialize(into: &bytes)
        bytes.append(ByteClass.sp)
        let code = min(max(status, 0), 999)
        bytes.append(UInt8(ascii: "0") + UInt8(code / 100))
        bytes.append(UInt8(ascii: "0") + UInt8(code / 10 % 10))
        bytes.append(UInt8(ascii: "0") + UInt8(code % 10))
        bytes.append(ByteClass.sp)
        Latin1.append(reason, rule: .fieldValue, to: &bytes)
        bytes.append(ByteClass.cr)
        bytes.append(ByteClass.lf)
    }

    /// Copies the fields of `headers` for which `include(name)` is true, in order, as they are stored.
    public mutating func copyFields(
        of headers: HTTPHeaders, where include: (_ name: HTTPFieldName) -> Bool = { _ in true }
    ) {
        headers.serialize(into: &bytes, where: include)
    }

    /// Adds the field `name: value` CRLF, as `HTTPHeaders.add` would store it.
    public mutating func add(name: String, value: String) {
        HTTPHeaders.appendLine(name: name, value: value, to: &bytes)
    }

    /// Adds a field line made beforehand.
    public mutating func add(_ line: HTTPFieldLine) {
        bytes.append(contentsOf: line.bytes)
    }

    /// Adds `Content-Length: length` CRLF.
    public mutating func add(contentLength length: UInt64) {
        bytes.append(contentsOf: HTTPFieldLine.contentLengthPrefix)
        // At most 20 decimal digits, written from the last into 24 bytes on the stack.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            var index = buffer.count
            var rest = length
            repeat {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            bytes.append(contentsOf: buffer[index...])
        }
        bytes.append(ByteClass.cr)
        bytes.append(ByteClass.lf)
    }

    /// Ends the head with the empty line and returns its bytes.
    public consuming func finish() -> [UInt8] {
        bytes.append(ByteClass.cr)
        bytes.append(ByteClass.lf)
        return bytes
    }
}

/// One field line, `name: value` CRLF, made once and then added to many heads (a proxy's own `Host`, `Via` or
/// `Authorization`): the bytes a name or value may not hold are replaced as `HTTPHeaders.add` replaces them, once.
///
/// Its description names the field only: a line may carry a credential.
public struct HTTPFieldLine: Sendable, Hashable, CustomStringConvertible {
    let bytes: [UInt8]
    private let nameCount: Int

    public init(name: String, value: String) {
        var bytes: [UInt8] = []
        let field = HTTPHeaders.appendLine(name: name, value: value, to: &bytes)
        self.bytes = bytes
        nameCount = field.nameEnd
    }

    /// The line as written, CRLF included.
    public var wireBytes: [UInt8] { bytes }

    /// `Name: …`, without the value.
    public var description: String {
        bytes.withUnsafeBufferPointer { Latin1.string(UnsafeBufferPointer(rebasing: $0[0..<nameCount])) } + ": …"
    }

    static let contentLengthPrefix: [UInt8] = Array("Content-Length: ".utf8)
}
