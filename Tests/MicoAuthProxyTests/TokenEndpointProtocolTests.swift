import MicoAuthProxy
import Testing

@Suite("Token endpoint protocol")
struct TokenEndpointProtocolTests {
    private func body(_ text: String) -> [UInt8] { Array(text.utf8) }

    private func parseError(status: Int = 200, _ text: String) -> TokenError? {
        do {
            _ = try TokenEndpointProtocol.parseResponse(status: status, body: body(text))
            return nil
        } catch {
            return error
        }
    }

    // MARK: Form encoding

    @Test func encodesReservedAndNonASCIICharacters() {
        let form = TokenEndpointProtocol.requestBody(
            clientID: "id&x=1", clientSecret: "p+q r%s/é", scope: "campaigns:read outbound_calls:write")
        #expect(
            String(decoding: form, as: UTF8.self)
                == "grant_type=client_credentials&client_id=id%26x%3D1&client_secret=p%2Bq%20r%25s%2F%C3%A9"
                + "&scope=campaigns%3Aread%20outbound_calls%3Awrite")
    }

    @Test func keepsOnlyUnreservedCharactersLiteral() {
        let form = TokenEndpointProtocol.requestBody(
            clientID: "AZaz09-._~", clientSecret: "!*'();@$,?#[]\n\u{7F}", scope: "")
        #expect(
            String(decoding: form, as: UTF8.self)
                == "grant_type=client_credentials&client_id=AZaz09-._~"
                + "&client_secret=%21%2A%27%28%29%3B%40%24%2C%3F%23%5B%5D%0A%7F")
    }

    @Test func omitsEmptyScope() {
        let form = String(
            decoding: TokenEndpointProtocol.requestBody(clientID: "a", clientSecret: "b", scope: ""), as: UTF8.self)
        #expect(form == "grant_type=client_credentials&client_id=a&client_secret=b")
        #expect(!form.contains("scope"))
    }

    // MARK: Good responses

    @Test func parsesTheVendorExample() throws {
        let grant = try TokenEndpointProtocol.parseResponse(
            status: 200,
            body: body(#"{"access_token": "nzoPXvZ.LrE-Gu_X~", "expires_in": 86399, "token_type": "bearer"}"#))
        #expect(grant.accessToken == "nzoPXvZ.LrE-Gu_X~")
        #expect(grant.expiresIn == 86399)
        #expect(grant.tokenType == "bearer")
    }

    @Test(arguments: ["Bearer", "BEARER", "bEaReR"])
    func acceptsAnyCaseOfBearer(_ type: String) throws {
        let grant = try TokenEndpointProtocol.parseResponse(
            status: 200, body: body(#"{"access_token":"t","expires_in":60,"token_type":"\#(type)"}"#))
        #expect(grant.tokenType == type)
    }

    @Test(arguments: [(#""3600""#, 3600.0), (#"" 42 ""#, 42.0), ("59.5", 59.5), (#""0.25""#, 0.25), ("1e3", 1000.0)])
    func acceptsNumericAndStringExpiresIn(_ json: String, _ expected: Double) throws {
        let grant = try TokenEndpointProtocol.parseResponse(
            status: 201, body: body(#"{"access_token":"t","expires_in":\#(json),"token_type":"bearer"}"#))
        #expect(grant.expiresIn == expected)
    }

    @Test func takesAMissingTokenTypeAsBearer() throws {
        let grant = try TokenEndpointProtocol.parseResponse(
            status: 200, body: body(#"{"access_token":"t","expires_in":5}"#))
        #expect(grant.tokenType == "bearer")
    }

    // MARK: Bad responses

    @Test func missingAccessToken() {
        let error = parseError(#"{"expires_in":60,"token_type":"bearer"}"#)
        #expect(error?.code == .malformedResponse)
        #expect(error?.message == "token endpoint response (HTTP 200) has no access_token")
    }

    @Test func accessTokenOfWrongType() {
        #expect(
            parseError(#"{"access_token":12345,"expires_in":60}"#)?.message.contains(
                "access_token that is not a string") == true)
        #expect(parseError(#"{"access_token":{"v":"x"},"expires_in":60}"#)?.message.contains("not a string") == true)
        #expect(parseError(#"{"access_token":"","expires_in":60}"#)?.message.contains("empty access_token") == true)
    }

    @Test func missingOrBadExpiresIn() {
        #expect(parseError(#"{"access_token":"t"}"#)?.message.contains("has no expires_in") == true)
        #expect(parseError(#"{"access_token":"t","expires_in":null}"#)?.message.contains("has no expires_in") == true)
        #expect(
            parseError(#"{"access_token":"t","expires_in":true}"#)?.message.contains("expires_in that is not a number")
                == true)
        #expect(parseError(#"{"access_token":"t","expires_in":"soon"}"#)?.message.contains("not a number") == true)
        #expect(parseError(#"{"access_token":"t","expires_in":0}"#)?.message.contains("not a positive number") == true)
        #expect(parseError(#"{"access_token":"t","expires_in":-5}"#)?.message.contains("not a positive number") == true)
        #expect(
            parseError(#"{"access_token":"t","expires_in":"nan"}"#)?.message.contains("not a positive number") == true)
    }

    @Test func rejectsOtherTokenTypes() {
        let error = parseError(#"{"access_token":"t","expires_in":60,"token_type":"mac"}"#)
        #expect(error?.code == .unusableToken)
        #expect(error?.message.contains(#"token_type "mac""#) == true)
    }

    @Test func rejectsTokensThatCouldSplitAHeader() {
        let error = parseError(#"{"access_token":"abc\r\nX-Evil: 1","expires_in":60}"#)
        #expect(error?.code == .unusableToken)
        #expect(error?.message.contains("X-Evil") == false)
        #expect(parseError(#"{"access_token":"a b","expires_in":60}"#)?.code == .unusableToken)
    }

    @Test(arguments: [400, 401, 200])
    func reportsOAuthErrorTextWhateverTheStatus(_ status: Int) {
        let error = parseError(
            status: status, #"{"error":"invalid_client","error_description":"Client authentication failed"}"#)
        #expect(error?.code == .oauthError)
        #expect(error?.status == status)
        #expect(error?.oauthError == "invalid_client")
        #expect(
            error?.message == "token endpoint refused the request (HTTP \(status)): invalid_client: "
                + "Client authentication failed; check the client id and client secret")
    }

    @Test func truncatesAndCleansOAuthErrorFields() {
        let long = String(repeating: "x", count: 500)
        let error = parseError(status: 400, #"{"error":"bad\nline","error_description":"\#(long)"}"#)
        let message = error?.message ?? ""
        #expect(!message.contains("\n"))
        #expect(message.contains("bad line"))
        #expect(message.contains(String(repeating: "x", count: 200) + "…"))
        #expect(!message.contains(String(repeating: "x", count: 201)))
    }

    @Test func nonSuccessStatusWithoutOAuthError() {
        let error = parseError(status: 503, "<html>Service Unavailable</html>")
        #expect(error?.code == .httpStatus)
        #expect(error?.status == 503)
        #expect(error?.message.contains("HTTP 503") == true)
        #expect(error?.message.contains("html") == false)
    }

    @Test func nonSuccessStatusNeverEchoesATokenInTheBody() {
        let error = parseError(status: 500, #"{"access_token":"LEAKED-TOKEN-123","expires_in":60}"#)
        #expect(error?.code == .httpStatus)
        #expect(error.map { "\($0)" }?.contains("LEAKED-TOKEN-123") == false)
    }

    @Test(arguments: ["not json", "", "[1,2]", "\"text\"", #"{"access_token":"#])
    func nonJSONOrNonObjectBody(_ text: String) {
        let error = parseError(text)
        #expect(error?.code == .malformedResponse)
        #expect(error?.message == "token endpoint response (HTTP 200) is not a JSON object")
    }

    @Test func transportErrorsAreSanitized() {
        let error = TokenError.transport("connect: refused\r\nforged line")
        #expect(error.code == .transport)
        #expect(error.message == "token endpoint unreachable: connect: refused  forged line")
    }
}
