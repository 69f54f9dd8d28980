/// Writes the chunked transfer coding (RFC 9112 §7.1).
public enum HTTPChunkedEncoder {
    /// Appends one chunk, `<hex size> CRLF <data> CRLF`. Empty data writes nothing, since a zero-size chunk would
    /// end the body.
    public static func encodeChunk(_ data: ArraySlice<UInt8>, into bytes: inout [UInt8]) {
        guard !data.isEmpty else { return }
        let size = UInt64(data.count)
        let hexDigits = (UInt64.bitWidth - size.leadingZeroBitCount + 3) / 4
        bytes.reserveCapacity(bytes.count + hexDigits + data.count + 4)
        for shift in stride(from: (hexDigits - 1) * 4, through: 0, by: -4) {
            let nibble = UInt8(truncatingIfNeeded: size >> UInt64(shift)) & 0xF
            bytes.append(nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10)
        }
        bytes.append(ByteClass.cr)
        bytes.append(ByteClass.lf)
        bytes.append(contentsOf: data)
        bytes.append(ByteClass.cr)
        bytes.append(ByteClass.lf)
    }

    /// The last chunk with an empty trailer section, `0 CRLF CRLF`, which ends a chunked body.
    public static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)
}
