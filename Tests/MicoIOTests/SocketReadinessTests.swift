import Dispatch
import Testing

@testable import MicoIO

/// A channel's `SocketReadiness` is held by the loop's registration and by its deadline timer's handler, and holds
/// the timer: a cycle that `close()` and the channel's deinit must break, or every connection would leak it.
@Suite("SocketReadiness is freed with its channel")
struct SocketReadinessTests {
    /// Waits up to 10 s for `isGone` (Dispatch lets go of a cancelled timer's handler on the timer's queue); other
    /// suites use it to wait for any condition.
    static func eventually(_ isGone: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while !isGone() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        return isGone()
    }

    /// A pair whose server side waited with a deadline (so its timer exists), and weak references to both sides'
    /// readiness.
    static func pairWithTimer() async throws -> (SocketChannelTests.Pair, WeakBox, WeakBox) {
        let pair = try await SocketChannelTests.connectedPair()
        await #expect(throws: IOError.self) { _ = try await pair.server.read(maxBytes: 16, deadline: .now() + 0.05) }
        #expect(pair.server.readiness.state.withLock { $0.timer != nil }, "the timed-out read set no timer")
        return (pair, WeakBox(pair.server.readiness), WeakBox(pair.client.readiness))
    }

    final class WeakBox: Sendable {
        nonisolated(unsafe) weak var object: SocketReadiness?
        init(_ object: SocketReadiness) { self.object = object }
    }

    @Test("closed, then dropped: the readiness goes, timer and all")
    func freedAfterClose() async throws {
        var (pair, server, client): (SocketChannelTests.Pair?, WeakBox, WeakBox) = try await Self.pairWithTimer()
        pair?.close()
        pair = nil
        #expect(try await Self.eventually { server.object == nil }, "the server's readiness (with a timer) leaked")
        #expect(try await Self.eventually { client.object == nil }, "the client's readiness leaked")
    }

    @Test("dropped without close(): the channel's deinit frees it too")
    func freedAfterDeinit() async throws {
        var (pair, server, _): (SocketChannelTests.Pair?, WeakBox, WeakBox) = try await Self.pairWithTimer()
        let client = pair!.client
        pair = nil
        defer { client.close() }
        #expect(try await Self.eventually { server.object == nil }, "the server's readiness (with a timer) leaked")
    }
}
