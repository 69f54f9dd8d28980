/// Why a message was refused by a decoder.
///
/// `status` is the HTTP status the proxy should answer a client with (400, 414, 431, 501 or 505; never 413, which
/// is a policy decision). When the refused message is an upstream response the proxy answers 502 instead, and
/// `status` only classifies the fault. `code` is a short snake_case word for machines, `message` a sentence for
/// people. Neither ever contains a field value, which may be a credential.
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Kind: Sendable, Equatable {
        case bareCR, bareLF, tooManyLeadingEmptyLines
        case requestLineTooLong, statusLineTooLong, headTooLarge, tooManyFields
        case invalidRequestLine, invalidMethod, invalidTarget, invalidVersion, unsupportedVersion, invalidStatusLine
        case obsFold, whitespaceBeforeColon, emptyFieldName, invalidFieldName, missingColon, invalidFieldValue
        case missingHost, repeatedHost, invalidHost
        case contentLengthWithTransferEncoding, repeatedContentLength, invalidContentLength
        case transferEncodingOnHTTP10, invalidTransferEncoding, unsupportedTransferCoding
        case invalidChunkSize, invalidChunkFraming, invalidChunkExtension, chunkExtensionsTooLarge
        case invalidTrailer, trailersTooLarge, truncatedBody
    }

    private let kind: Kind

    private init(_ kind: Kind) {
        self.kind = kind
    }

    /// A CR not followed by LF (RFC 9112 §2.2).
    public static let bareCR = HTTPParseError(.bareCR)
    /// A line ended by LF without CR (RFC 9112 §2.2).
    public static let bareLF = HTTPParseError(.bareLF)
    /// More empty lines before the start line than `HTTPParserLimits.maxLeadingEmptyLines`.
    public static let tooManyLeadingEmptyLines = HTTPParseError(.tooManyLeadingEmptyLines)
    /// The request line is longer than `HTTPParserLimits.maxRequestLineBytes` (414).
    public static let requestLineTooLong = HTTPParseError(.requestLineTooLong)
    /// The status line is longer than `HTTPParserLimits.maxRequestLineBytes`.
    public static let statusLineTooLong = HTTPParseError(.statusLineTooLong)
    /// The head is larger than `HTTPParserLimits.maxHeaderBytes` (431).
    public static let headTooLarge = HTTPParseError(.headTooLarge)
    /// The head has more field lines than `HTTPParserLimits.maxHeaderCount` (431).
    public static let tooManyFields = HTTPParseError(.tooManyFields)
    /// The request line is not `method SP target SP version`.
    public static let invalidRequestLine = HTTPParseError(.invalidRequestLine)
    /// The method is not a token.
    public static let invalidMethod = HTTPParseError(.invalidMethod)
    /// The request target contains a control byte, space or DEL.
    public static let invalidTarget = HTTPParseError(.invalidTarget)
    /// The version is not of the form `HTTP/DIGIT.DIGIT`.
    public static let invalidVersion = HTTPParseError(.invalidVersion)
    /// A well-formed version other than HTTP/1.0 and HTTP/1.1 (505).
    public static let unsupportedVersion = HTTPParseError(.unsupportedVersion)
    /// The status line is not `HTTP/1.x SP 3DIGIT SP reason`.
    public static let invalidStatusLine = HTTPParseError(.invalidStatusLine)
    /// A field line starts with whitespace (obsolete line folding).
    public static let obsFold = HTTPParseError(.obsFold)
    /// Whitespace between a field name and its colon.
    public static let whitespaceBeforeColon = HTTPParseError(.whitespaceBeforeColon)
    /// A field line starts with a colon.
    public static let emptyFieldName = HTTPParseError(.emptyFieldName)
    /// A field name contains a byte that is not a token character.
    public static let invalidFieldName = HTTPParseError(.invalidFieldName)
    /// A field line has no colon.
    public static let missingColon = HTTPParseError(.missingColon)
    /// A field value contains a control byte or DEL.
    public static let invalidFieldValue = HTTPParseError(.invalidFieldValue)
    /// An HTTP/1.1 request without a Host field.
    public static let missingHost = HTTPParseError(.missingHost)
    /// A request with more than one Host field.
    public static let repeatedHost = HTTPParseError(.repeatedHost)
    /// A Host value that is empty or not `host[:port]`.
    public static let invalidHost = HTTPParseError(.invalidHost)
    /// Both Content-Length and Transfer-Encoding.
    public static let contentLengthWithTransferEncoding = HTTPParseError(.contentLengthWithTransferEncoding)
    /// More than one Content-Length field, or a list of lengths.
    public static let repeatedContentLength = HTTPParseError(.repeatedContentLength)
    /// A Content-Length that is not only decimal digits or does not fit 64 bits.
    public static let invalidContentLength = HTTPParseError(.invalidContentLength)
    /// Transfer-Encoding in an HTTP/1.0 message.
    public static let transferEncodingOnHTTP10 = HTTPParseError(.transferEncodingOnHTTP10)
    /// A Transfer-Encoding that is malformed, repeated, or not a single final `chunked`.
    public static let invalidTransferEncoding = HTTPParseError(.invalidTransferEncoding)
    /// A Transfer-Encoding naming a coding other than `chunked` (501).
    public static let unsupportedTransferCoding = HTTPParseError(.unsupportedTransferCoding)
    /// A chunk size that is not 1 to 16 hex digits.
    public static let invalidChunkSize = HTTPParseError(.invalidChunkSize)
    /// Chunk data not followed by CRLF.
    public static let invalidChunkFraming = HTTPParseError(.invalidChunkFraming)
    /// A chunk extension containing a control byte.
    public static let invalidChunkExtension = HTTPParseError(.invalidChunkExtension)
    /// Chunk extensions larger in total than `HTTPParserLimits.maxChunkExtensionBytes`.
    public static let chunkExtensionsTooLarge = HTTPParseError(.chunkExtensionsTooLarge)
    /// A malformed trailer field line.
    public static let invalidTrailer = HTTPParseError(.invalidTrailer)
    /// A trailer section larger than `HTTPParserLimits.maxTrailerBytes` (431).
    public static let trailersTooLarge = HTTPParseError(.trailersTooLarge)
    /// The input ended before the body was complete.
    public static let truncatedBody = HTTPParseError(.truncatedBody)

    /// The status the proxy should answer a client with.
    public var status: Int {
        switch kind {
        case .requestLineTooLong: 414
        case .headTooLarge, .tooManyFields, .trailersTooLarge: 431
        case .unsupportedTransferCoding: 501
        case .unsupportedVersion: 505
        default: 400
        }
    }

    /// A short snake_case word naming the fault.
    public var code: String {
        switch kind {
        case .bareCR: "bare_cr"
        case .bareLF: "bare_lf"
        case .tooManyLeadingEmptyLines: "too_many_empty_lines"
        case .requestLineTooLong: "request_line_too_long"
        case .statusLineTooLong: "status_line_too_long"
        case .headTooLarge: "head_too_large"
        case .tooManyFields: "too_many_fields"
        case .invalidRequestLine: "invalid_request_line"
        case .invalidMethod: "invalid_method"
        case .invalidTarget: "invalid_target"
        case .invalidVersion: "invalid_version"
        case .unsupportedVersion: "unsupported_version"
        case .invalidStatusLine: "invalid_status_line"
        case .obsFold: "obs_fold"
        case .whitespaceBeforeColon: "whitespace_before_colon"
        case .emptyFieldName: "empty_field_name"
        case .invalidFieldName: "invalid_field_name"
        case .missingColon: "missing_colon"
        case .invalidFieldValue: "invalid_field_value"
        case .missingHost: "missing_host"
        case .repeatedHost: "repeated_host"
        case .invalidHost: "invalid_host"
        case .contentLengthWithTransferEncoding: "content_length_with_transfer_encoding"
        case .repeatedContentLength: "repeated_content_length"
        case .invalidContentLength: "invalid_content_length"
        case .transferEncodingOnHTTP10: "transfer_encoding_http10"
        case .invalidTransferEncoding: "invalid_transfer_encoding"
        case .unsupportedTransferCoding: "unsupported_transfer_coding"
        case .invalidChunkSize: "invalid_chunk_size"
        case .invalidChunkFraming: "invalid_chunk_framing"
        case .invalidChunkExtension: "invalid_chunk_extension"
        case .chunkExtensionsTooLarge: "chunk_extensions_too_large"
        case .invalidTrailer: "invalid_trailer"
        case .trailersTooLarge: "trailers_too_large"
        case .truncatedBody: "truncated_body"
        }
    }

    /// A sentence saying what was wrong with the message.
    public var message: String {
        switch kind {
        case .bareCR: "A CR byte was not followed by LF; lines must end with CRLF."
        case .bareLF: "A line ended with LF alone; lines must end with CRLF."
        case .tooManyLeadingEmptyLines: "Too many empty lines came before the start line."
        case .requestLineTooLong: "The request line is longer than the limit; shorten the target."
        case .statusLineTooLong: "The status line is longer than the limit."
        case .headTooLarge: "The header section is larger than the limit."
        case .tooManyFields: "The header section has more fields than the limit."
        case .invalidRequestLine: "The request line must be 'method SP target SP version' with single spaces."
        case .invalidMethod: "The method must be a token."
        case .invalidTarget: "The request target contains a space, control byte or DEL."
        case .invalidVersion: "The HTTP version must be of the form 'HTTP/1.1'."
        case .unsupportedVersion: "Only HTTP/1.0 and HTTP/1.1 are supported."
        case .invalidStatusLine: "The status line must be 'HTTP/1.x SP 3DIGIT SP reason'."
        case .obsFold: "A field line starts with whitespace (obsolete line folding is not accepted)."
        case .whitespaceBeforeColon: "A field name is followed by whitespace before its colon."
        case .emptyFieldName: "A field line has an empty name."
        case .invalidFieldName: "A field name contains a character that is not allowed in a token."
        case .missingColon: "A field line has no colon."
        case .invalidFieldValue: "A field value contains a control byte."
        case .missingHost: "An HTTP/1.1 request must have a Host field."
        case .repeatedHost: "A request must have only one Host field."
        case .invalidHost: "The Host field must be 'host' or 'host:port'."
        case .contentLengthWithTransferEncoding: "A message must not have both Content-Length and Transfer-Encoding."
        case .repeatedContentLength: "A message must have at most one Content-Length field holding one length."
        case .invalidContentLength: "Content-Length must be decimal digits only and fit in 64 bits."
        case .transferEncodingOnHTTP10: "Transfer-Encoding is not allowed in an HTTP/1.0 message."
        case .invalidTransferEncoding: "Transfer-Encoding must be a single field whose only coding is 'chunked'."
        case .unsupportedTransferCoding: "Transfer-Encoding names a coding other than 'chunked'."
        case .invalidChunkSize: "A chunk size must be 1 to 16 hex digits followed by ';' or CRLF."
        case .invalidChunkFraming: "Chunk data must be followed by CRLF."
        case .invalidChunkExtension: "A chunk extension contains a control byte."
        case .chunkExtensionsTooLarge: "The chunk extensions of the body are larger than the limit."
        case .invalidTrailer: "A trailer field line is malformed."
        case .trailersTooLarge: "The trailer section is larger than the limit."
        case .truncatedBody: "The connection ended before the body was complete."
        }
    }

    /// `code: message (status)`.
    public var description: String { "\(code): \(message) (\(status))" }
}
