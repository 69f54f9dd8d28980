import Dispatch
import Glibc
import MicoIO
import Synchronization
import Testing

/// Each `IOLoop` runs on one thread of its own: its tasks always run there, a job from another thread wakes it
/// while it blocks in `epoll_wait`, and the thread blocks the signals the process takes through Dispatch (checked
/// to fail when `pthread_sigmask` is left out, and the first test when loops run on Dispatch's threads).
@Suite("IOLoop threads")
struct IOLoopThreadTests {
    /// The thread running the caller, as the kernel sees it.
    struct ThreadInfo: Sendable {
        /// `PID/task/TID`.
        var id = ""
        var name = ""
        /// The `SigBlk` mask of `/proc/.../status`: bit n - 1 is signal n.
        var blockedSignals: UInt64?
    }

    static func currentThread() -> ThreadInfo {
        var info = ThreadInfo()
        var link = [CChar](repeating: 0, count: 256)
        let length = readlink("/proc/thread-self", &link, link.count - 1)
        if length > 0 { info.id = String(decoding: link[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        info.name = threadSelfFile("comm").split(separator: "\n").first.map(String.init) ?? ""
        let status = threadSelfFile("status").split(separator: "\n")
        if let line = status.first(where: { $0.hasPrefix("SigBlk:") }),
            let mask = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).last
        {
            info.blockedSignals = UInt64(mask, radix: 16)
        }
        return info
    }

    /// The thread that runs a task spawned on `loop`.
    static func threadRunning(on loop: IOLoop) async -> ThreadInfo {
        let info = Mutex(ThreadInfo())
        await loop.spawn {
            let current = IOLoopThreadTests.currentThread()
            info.withLock { $0 = current }
        }.value
        return info.withLock { $0 }
    }

    @Test("a loop's tasks run on one thread, named after the loop, whether or not the loop blocked between them")
    func tasksRunOnTheLoopsOwnThread() async throws {
        var firstThreads: Set<String> = []
        for (index, loop) in IOLoop.all.enumerated() {
            var ids: Set<String> = []
            for _ in 0..<5 {
                let thread = await Self.threadRunning(on: loop)
                #expect(thread.name == "mico-loop-\(index)")
                ids.insert(thread.id)
                // Long enough for the loop to run out of work and block in epoll_wait.
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(ids.count == 1, "loop \(index) ran its tasks on threads \(ids)")
            firstThreads.formUnion(ids)
        }
        #expect(firstThreads.count == IOLoop.all.count, "two loops share a thread")
    }

    @Test("a task resumed from another thread while its loop blocks runs on the loop")
    func resumeFromAnotherThreadWakesTheLoop() async throws {
        let loop = IOLoop.all[0]
        let ran = Mutex<ThreadInfo?>(nil)
        let task = loop.spawn {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // The loop has nothing else to do meanwhile, so it blocks until the eventfd wakes it.
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(100)) { continuation.resume() }
            }
            let thread = IOLoopThreadTests.currentThread()
            ran.withLock { $0 = thread }
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while ran.withLock({ $0 }) == nil && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(ran.withLock { $0?.name } == "mico-loop-0", "the resumed task did not run on its loop within 10 s")
        await task.value
    }

    @Test("a loop's thread blocks the signals the process handles through Dispatch")
    func loopThreadsBlockSignals() async {
        for loop in IOLoop.all {
            let thread = await Self.threadRunning(on: loop)
            #expect(thread.blockedSignals != nil, "no SigBlk line for \(thread.id)")
            for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGUSR1, SIGQUIT] {
                let bit = UInt64(1) << UInt64(signal - 1)
                #expect((thread.blockedSignals ?? 0) & bit != 0, "signal \(signal) is not blocked on \(thread.id)")
            }
        }
    }
}
