/// Size limits the decoders enforce, each decided as soon as it is exceeded rather than after the whole
/// message has arrived.
public struct HTTPParserLimits: Sendable {
    /// Most bytes in a request line or status line, without its CRLF. Default 8192. A longer request line is
    /// refused with 414.
    public var maxRequestLineBytes = 8192
    /// Most bytes in a whole head: start line, field lines and the CRLFs, without leading empty lines.
    /// Default 32768. A larger head is refused with 431.
    public var maxHeaderBytes = 32768
    /// Most field lines in a head. Default 100. More are refused with 431.
    public var maxHeaderCount = 100
    /// Most bytes of chunk extensions (from each `;` to its line's CRLF) in one chunked body, summed over its
    /// chunks. Default 4096. More are refused with 400.
    public var maxChunkExtensionBytes = 4096
    /// Most bytes in a chunked body's trailer section, including its final CRLF. Default 32768. More are refused
    /// with 431.
    public var maxTrailerBytes = 32768
    /// Most empty lines (CRLF) accepted before a request or status line (RFC 9112 §2.2). Default 8.
    public var maxLeadingEmptyLines = 8

    /// The defaults above.
    public init() {}
}
