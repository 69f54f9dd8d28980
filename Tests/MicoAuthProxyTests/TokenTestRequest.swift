import MicoAuthProxy
import Synchronization

/// A `token(waitSeconds:)` call running in the background whose outcome a test can poll, so a cache
/// that never answers fails the test instead of hanging it.
final class TokenTestRequest: Sendable {
    typealias Outcome = Result<AccessToken, TokenUnavailable>

    private let outcome = Mutex<Outcome?>(nil)
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(cache: TokenCache, wait: Double) {
        let started = Task { [self] in
            let result: Outcome
            do throws(TokenUnavailable) {
                result = .success(try await cache.token(waitSeconds: wait))
            } catch {
                result = .failure(error)
            }
            outcome.withLock { $0 = result }
        }
        task.withLock { $0 = started }
    }

    var isDone: Bool { outcome.withLock { $0 != nil } }

    func cancel() {
        task.withLock { $0?.cancel() }
    }

    /// The outcome, or nil if the call has not returned within two seconds.
    func result() async -> Outcome? {
        guard await tokenEventually({ isDone }) else { return nil }
        return outcome.withLock { $0 }
    }
}
