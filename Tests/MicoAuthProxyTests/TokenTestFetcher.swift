import MicoAuthProxy
import Synchronization

/// A ``TokenFetching`` whose every call is held until the test answers it, and which counts calls.
final class TokenTestFetcher: TokenFetching {
    typealias Answer = Result<TokenGrant, any Error>

    private struct State {
        var calls = 0
        var pending: [CheckedContinuation<Answer, Never>] = []
    }

    private let state = Mutex(State())

    var calls: Int { state.withLock { $0.calls } }
    var pendingCount: Int { state.withLock { $0.pending.count } }

    func fetchToken() async throws -> TokenGrant {
        let answer = await withCheckedContinuation { (continuation: CheckedContinuation<Answer, Never>) in
            state.withLock { state in
                state.calls += 1
                state.pending.append(continuation)
            }
        }
        return try answer.get()
    }

    /// Answers the oldest held call; false if none is held.
    @discardableResult
    func answer(_ answer: Answer) -> Bool {
        let continuation = state.withLock { state in
            state.pending.isEmpty ? nil : state.pending.removeFirst()
        }
        continuation?.resume(returning: answer)
        return continuation != nil
    }

    @discardableResult
    func succeed(_ token: String, expiresIn: Double) -> Bool {
        answer(.success(TokenGrant(accessToken: token, expiresIn: expiresIn, tokenType: "bearer")))
    }

    @discardableResult
    func fail(_ message: String) -> Bool {
        answer(.failure(TokenError.transport(message)))
    }
}

/// Polls `condition` every millisecond for up to two seconds; true as soon as it holds.
func tokenEventually(_ condition: () -> Bool) async -> Bool {
    for _ in 0..<2000 {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return condition()
}
