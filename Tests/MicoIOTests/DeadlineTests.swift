import Dispatch
import MicoIO
import Testing

/// `DispatchTime.deadline(in:)` and `coarseNow()` read the coarse clock: on Dispatch's clock, at most a tick (a few ms)
/// early. `preciseNow()` reads the clock `now()` reads.
struct DeadlineTests {
    @Test func isOnDispatchsClockAtMostATickEarly() {
        let before = DispatchTime.now().uptimeNanoseconds
        let deadline = DispatchTime.deadline(in: 2).uptimeNanoseconds
        let after = DispatchTime.now().uptimeNanoseconds
        #expect(deadline <= after + 2_000_000_000)
        // Linux ticks at 100-1000 Hz: the coarse clock lags by at most 10 ms.
        #expect(deadline + 10_000_000 >= before + 2_000_000_000)
    }

    @Test func preciseNowIsDispatchsNow() {
        for _ in 0..<1000 {
            let before = DispatchTime.now()
            let precise = DispatchTime.preciseNow()
            let after = DispatchTime.now()
            #expect(before <= precise && precise <= after)
        }
    }

    @Test func coarseNowIsAtMostATickBehind() {
        let before = DispatchTime.now().uptimeNanoseconds
        let coarse = DispatchTime.coarseNow().uptimeNanoseconds
        let after = DispatchTime.now().uptimeNanoseconds
        #expect(coarse <= after)
        #expect(coarse + 10_000_000 >= before)
    }

    @Test func farAwayOrNotANumberIsNever() {
        #expect(DispatchTime.deadline(in: .infinity) == .distantFuture)
        #expect(DispatchTime.deadline(in: .nan) == .distantFuture)
        #expect(DispatchTime.deadline(in: 1e12) == .distantFuture)
    }

    @Test func aNegativeTimeoutIsNow() {
        #expect(DispatchTime.deadline(in: -5) <= DispatchTime.now())
    }

    @Test func secondsBetweenTwoTimes() {
        let earlier = DispatchTime(uptimeNanoseconds: 1_500_000_000)
        let later = DispatchTime(uptimeNanoseconds: 4_000_000_001)
        #expect(abs(earlier.seconds(to: later) - 2.500_000_001) < 1e-12)
        #expect(later.seconds(to: earlier) == 0)
        #expect(earlier.seconds(to: earlier) == 0)
    }
}
