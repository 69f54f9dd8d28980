/// Schedules the ``TokenCache``'s wake-ups (refresh, retry, waiter deadlines).
///
/// Contract: neither `schedule` nor ``TokenTimerHandle/cancel()`` may run `action` synchronously or wait
/// for a running action, because the cache calls them while holding its lock.
public protocol TokenTimer: Sendable {
    /// Runs `action` once, about `seconds` from now, unless the returned handle is cancelled first.
    func schedule(after seconds: Double, _ action: @escaping @Sendable () -> Void) -> any TokenTimerHandle
}

/// A scheduled wake-up that can be called off.
public protocol TokenTimerHandle: Sendable {
    /// Prevents the action from running if it has not started; idempotent.
    func cancel()
}
