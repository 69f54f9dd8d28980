import Testing

@testable import MicoIO

/// A stream that never waits yields its loop every 16 operations; one that waits in between has given way already.
@Suite("Fairness of a task that never waits")
struct FairnessCounterTests {
    @Test func everySixteenthOperationWithoutAWaitYields() async {
        let counter = FairnessCounter()
        var yielded: [Int] = []
        for operation in 1...48 where await counter.completed() { yielded.append(operation) }
        #expect(yielded == [16, 32, 48])
    }

    @Test func aWaitStartsTheCountAgain() async {
        let counter = FairnessCounter()
        var yields = 0
        for _ in 0..<10 {
            for _ in 0..<15 where await counter.completed() { yields += 1 }
            counter.waited()
        }
        #expect(yields == 0)
        for _ in 0..<16 where await counter.completed() { yields += 1 }
        #expect(yields == 1)
    }
}
