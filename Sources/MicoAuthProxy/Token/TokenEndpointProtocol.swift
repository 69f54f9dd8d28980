import FoundationEssentials

/// The OAuth 2.0 client-credentials exchange with the token endpoint (RFC 6749 §4.4), without I/O:
/// the request body to POST and the parsing of the answer.
public enum TokenEndpointProtocol {
    /// The `Content-Type` of ``requestBody(clientID:clientSecret:scope:)``.
    public static let contentType = "application/x-www-form-urlencoded"

    /// The form body `grant_type=client_credentials&client_id=…&client_secret=…&scope=…`.
    ///
    /// Each value is percent-encoded byte by byte over its UTF-8: only ALPHA, DIGIT and `-._~` stay as
    /// they are, a space becomes `%20` (never `+`, which some decoders would keep as a plus), and every
    /// other byte becomes `%XX` in upper case. `scope` is left out when empty.
    public static func requestBody(clientID: String, clientSecret: String, scope: String) -> [UInt8] {
        var fields = [("grant_type", "client_credentials"), ("client_id", clientID), ("client_secret", clientSecret)]
        if !scope.isEmpty { fields.append(("scope", scope)) }
        var body: [UInt8] = []
        for (index, (name, value)) in fields.enumerated() {
            if index > 0 { body.append(UInt8(ascii: "&")) }
            appendPercentEncoded(name, to: &body)
            body.append(UInt8(ascii: "="))
            appendPercentEncoded(value, to: &body)
        }
        return body
    }

    /// Interprets the token endpoint's answer.
    ///
    /// Accepts a 2xx JSON object with a string `access_token`, a positive `expires_in` (integer, float or
    /// numeric string) and a `token_type` that is some case of `bearer` (a missing `token_type` is taken
    /// as bearer). An OAuth error body (`error`, `error_description`; RFC 6749 §5.2) is reported with its
    /// text whatever the status. The thrown ``TokenError`` never holds the body or the token.
    public static func parseResponse(status: Int, body: [UInt8]) throws(TokenError) -> TokenGrant {
        let object = decodeObject(body)
        if let object, case .string(let code)? = object["error"] {
            throw oauthError(status: status, code: code, object: object)
        }
        guard (200...299).contains(status) else {
            throw TokenError(
                code: .httpStatus, status: status,
                message: "token endpoint answered HTTP \(status) without an OAuth error; "
                    + "check the token endpoint URL and the service's state")
        }
        guard let object else {
            throw malformed(status, "is not a JSON object")
        }
        let token: String
        switch object["access_token"] {
        case .string(let value)?: token = value
        case nil, .null?: throw malformed(status, "has no access_token")
        case _?: throw malformed(status, "has an access_token that is not a string")
        }
        guard !token.isEmpty else { throw malformed(status, "has an empty access_token") }
        // RFC 9110 §5.5: a header value must not carry CR, LF, NUL or other controls; the token goes
        // into `Authorization`, so anything outside visible ASCII could smuggle a header upstream.
        guard token.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw TokenError(
                code: .unusableToken, status: status,
                message: "token endpoint response (HTTP \(status)) has an access_token with characters "
                    + "not allowed in an HTTP header")
        }
        let expiresIn: Double
        switch object["expires_in"] {
        case .number(let value)?: expiresIn = value
        case .string(let text)?:
            guard let value = Double(text.trimmingASCIISpaces) else {
                throw malformed(status, "has an expires_in that is not a number")
            }
            expiresIn = value
        case nil, .null?: throw malformed(status, "has no expires_in")
        case _?: throw malformed(status, "has an expires_in that is not a number")
        }
        guard expiresIn.isFinite, expiresIn > 0 else {
            throw malformed(status, "has an expires_in that is not a positive number")
        }
        let tokenType: String
        switch object["token_type"] {
        case nil, .null?: tokenType = "bearer"
        case .string(let value)? where value.lowercased() == "bearer": tokenType = value
        case .string(let value)?:
            throw TokenError(
                code: .unusableToken, status: status,
                message: "token endpoint returned token_type \"\(TokenError.sanitized(value))\"; "
                    + "only bearer tokens are supported")
        case _?: throw malformed(status, "has a token_type that is not a string")
        }
        return TokenGrant(accessToken: token, expiresIn: expiresIn, tokenType: tokenType)
    }

    // MARK: - Form encoding

    private static func appendPercentEncoded(_ value: String, to body: inout [UInt8]) {
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                body.append(byte)
            default:
                body.append(UInt8(ascii: "%"))
                body.append(hex[Int(byte >> 4)])
                body.append(hex[Int(byte & 0x0F)])
            }
        }
    }

    // MARK: - Response parsing

    private static func decodeObject(_ body: [UInt8]) -> [String: Field]? {
        try? JSONDecoder().decode([String: Field].self, from: Data(body))
    }

    private static func oauthError(status: Int, code: String, object: [String: Field]) -> TokenError {
        let cleanCode = TokenError.sanitized(code)
        var message = "token endpoint refused the request (HTTP \(status)): \(cleanCode)"
        if case .string(let text)? = object["error_description"], !text.isEmpty {
            message += ": \(TokenError.sanitized(text))"
        }
        // RFC 6749 §5.2 error codes that point at a configuration key.
        switch code {
        case "invalid_client", "unauthorized_client": message += "; check the client id and client secret"
        case "invalid_scope": message += "; check the configured scope"
        default: break
        }
        return TokenError(code: .oauthError, status: status, oauthError: cleanCode, message: message)
    }

    private static func malformed(_ status: Int, _ what: String) -> TokenError {
        TokenError(
            code: .malformedResponse, status: status, message: "token endpoint response (HTTP \(status)) \(what)")
    }

    /// One top-level JSON member, reduced to what the token response needs.
    private enum Field: Decodable {
        case string(String)
        case number(Double)
        case null
        case other

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let value = try? container.decode(String.self) {
                self = .string(value)
            } else if (try? container.decode(Bool.self)) != nil {
                self = .other  // checked before Double so `true` can never read as 1
            } else if let value = try? container.decode(Double.self) {
                self = .number(value)
            } else {
                self = .other
            }
        }
    }
}

extension String {
    fileprivate var trimmingASCIISpaces: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return self[first...last]
    }
}
