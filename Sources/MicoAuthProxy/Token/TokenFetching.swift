/// Obtains a fresh token from the token endpoint (one HTTP exchange per call).
///
/// The production conformer POSTs ``TokenEndpointProtocol/requestBody(clientID:clientSecret:scope:)``
/// and parses with ``TokenEndpointProtocol/parseResponse(status:body:)``. Errors it throws are shown in
/// logs and status pages, so they must not contain the secret or the token; ``TokenError`` is the
/// preferred error type.
public protocol TokenFetching: Sendable {
    /// Requests one token. Called by ``TokenCache`` at most once at a time.
    func fetchToken() async throws -> TokenGrant
}
