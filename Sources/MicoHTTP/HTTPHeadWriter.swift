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
    /// §4). A status outside 0...999 is clamped. `capacity` is the head's expected size.
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
        of headers: HTTPHeaders, where include: (_ name: UnsafeBufferPointer<UInt8>) -> Bool = { _ in true }
    ) {
        headers.serialize(into: &bytes, where: include)
    }

    /// Adds the field `name: value` CRLF, as `HTTPHeaders.add` would store it.
    public mutating func add(name: String, value: String) {
        HTTPHeaders.appendLine(name: name, value: value, to: &bytes)
    }

    /// Ends the head with the empty line and returns its bytes.
    public consuming func finish() -> [UInt8] {
        bytes.append(ByteClass.cr)
        bytes.append(ByteClass.lf)
        return bytes
    }
}
