import CMicoSystem
import Dispatch
import Glibc
import Synchronization

/// An event loop on a thread of its own: it runs the tasks serving connections and delivers their sockets' readiness.
///
/// Each loop owns an epoll instance in which its sockets are registered once, edge-triggered, when they are made,
/// and one thread that waits in `epoll_wait` on it, as an nginx worker does. A connection's task prefers its loop
/// as executor (`Task(executorPreference:)`, see `spawn`), so a task resumed by a readiness event runs on the
/// loop's thread, right after the event.
///
/// The thread runs in rounds: run the jobs the tasks enqueued, then take every ready event in one `epoll_wait`
/// (resuming the tasks that wait for them), which blocks until an event comes when no job is pending. A job
/// enqueued from another thread (a deadline timer, the listener, another loop) while it blocks wakes it through an
/// eventfd in the epoll set.
///
/// Why not a Dispatch source per socket: a profile of the proxy under load showed that on Linux every source event
/// goes through Dispatch's manager thread twice (the event, then re-arming the source), and the resumed task then
/// waited for a thread of the cooperative pool: thread switches were the largest single cost. Why not one Dispatch
/// source on the epoll descriptor, drained on a serial queue (how the loops ran before): a drain that ran out of
/// work gave its thread back, and the next event came through Dispatch's manager thread to whichever worker thread
/// was free, so one loop ran on three or more threads in turn. A thread that stays costs less CPU per request (see
/// README, Performance, item 14).
///
/// The loop's `queue` (Dispatch) runs its sockets' deadline timers; they resume their tasks through `enqueue`.
///
/// There is one loop per core the process may run on; new connections are spread over them in turn.
public final class IOLoop: TaskExecutor, Sendable {
    private struct Jobs {
        var pending: [UnownedJob] = []
        /// The loop's thread blocks in `epoll_wait`: a new job must wake it.
        var waiting = false
    }

    /// The epoll token of the loop's own eventfd (sockets get tokens from 1).
    fileprivate static let wakeToken: UInt64 = 0

    /// The queue the deadline timers of this loop's sockets fire on.
    public let queue: DispatchQueue
    private let epollDescriptor: Int32
    /// An eventfd in the epoll set: written to wake the loop's thread when a job comes while it blocks.
    private let wakeDescriptor: Int32
    /// The registered sockets' readiness, by the token their epoll events carry.
    private let registrations = Mutex<[UInt64: SocketReadiness]>([:])
    private let nextToken = Atomic<UInt64>(1)
    private let jobs = Mutex(Jobs())

    private init(index: Int) {
        queue = DispatchQueue(label: "mico.loop.\(index).timers")
        epollDescriptor = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epollDescriptor >= 0, "epoll_create1 failed: errno \(errno)")
        wakeDescriptor = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        precondition(wakeDescriptor >= 0, "eventfd failed: errno \(errno)")
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = Self.wakeToken
        precondition(epoll_ctl(epollDescriptor, EPOLL_CTL_ADD, wakeDescriptor, &event) == 0, "epoll_ctl: \(errno)")
        LoopThread(loop: self, epollDescriptor: epollDescriptor, name: "mico-loop-\(index)").start()
    }

    // MARK: TaskExecutor

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let wake = jobs.withLock { jobs -> Bool in
            jobs.pending.append(job)
            guard jobs.waiting else { return false }
            jobs.waiting = false
            return true
        }
        if wake { _ = eventfd_write(wakeDescriptor, 1) }
    }

    /// Swaps the pending jobs for `spare` (an empty array with capacity).
    fileprivate func takeJobs(_ spare: inout [UnownedJob]) {
        jobs.withLock { swap(&$0.pending, &spare) }
    }

    /// Marks the loop's thread as about to block unless jobs came meanwhile.
    fileprivate func beginWait() -> Bool {
        jobs.withLock { jobs in
            guard jobs.pending.isEmpty else { return false }
            jobs.waiting = true
            return true
        }
    }

    fileprivate func endWait() {
        jobs.withLock { $0.waiting = false }
    }

    // MARK: Loops

    /// One loop per core this process may run on (its CPU affinity), at least one.
    public static let all: [IOLoop] = (0..<availableCores()).map { IOLoop(index: $0) }

    private static let nextIndex = Atomic<Int>(0)

    /// The loops in turn.
    public static func next() -> IOLoop {
        let index = nextIndex.wrappingAdd(1, ordering: .relaxed).oldValue
        return all[Int(UInt(bitPattern: index) % UInt(all.count))]
    }

    /// The loop the current task was started on with `spawn`, if any; sockets it opens register there.
    @TaskLocal public static var current: IOLoop?

    /// Starts a task that runs on this loop (and whose child tasks do), with `current` set to it.
    @discardableResult
    public func spawn(_ operation: sending @escaping @isolated(any) () async -> Void) -> Task<Void, Never> {
        Task(executorPreference: self) {
            await IOLoop.$current.withValue(self) { await operation() }
        }
    }

    /// The number of CPUs in this process's affinity mask (what `taskset` or systemd's `CPUAffinity=` allow).
    private static func availableCores() -> Int {
        let count = Int(CMicoSystem_affinity_cpu_count())
        return count > 0 ? count : max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    // MARK: Registration

    /// A token for `register`, unique among this loop's registrations.
    func makeToken() -> UInt64 {
        nextToken.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// Watches `fileDescriptor` for input, output and hang-up, edge-triggered; its events carry `token` and go to
    /// `readiness` until `deregister`.
    func register(_ readiness: SocketReadiness, fileDescriptor: Int32, token: UInt64) throws(IOError) {
        registrations.withLock { $0[token] = readiness }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue
        event.data.u64 = token
        if epoll_ctl(epollDescriptor, EPOLL_CTL_ADD, fileDescriptor, &event) != 0 {
            let code = errno
            registrations.withLock { _ = $0.removeValue(forKey: token) }
            throw IOError.fromErrno(code, call: "epoll_ctl")
        }
    }

    /// Stops watching a descriptor; call before closing it. Events already taken for it are dropped.
    func deregister(_ fileDescriptor: Int32, token: UInt64) {
        _ = epoll_ctl(epollDescriptor, EPOLL_CTL_DEL, fileDescriptor, nil)
        registrations.withLock { _ = $0.removeValue(forKey: token) }
    }

    /// Delivers a batch of events (on the loop's thread). `sockets` is scratch space, empty on entry and on return,
    /// kept by the caller so that a batch allocates nothing.
    fileprivate func deliver(
        _ events: UnsafeBufferPointer<epoll_event>, using sockets: inout [(SocketReadiness, UInt32)]
    ) {
        registrations.withLock { registrations in
            for event in events {
                if event.data.u64 == Self.wakeToken {
                    var count: eventfd_t = 0
                    _ = eventfd_read(wakeDescriptor, &count)
                    continue
                }
                if let readiness = registrations[event.data.u64] {
                    sockets.append((readiness, event.events))
                }
            }
        }
        let hangUp = EPOLLHUP.rawValue | EPOLLERR.rawValue
        for (readiness, events) in sockets {
            readiness.deliver(
                input: events & (hangUp | EPOLLIN.rawValue | EPOLLRDHUP.rawValue) != 0,
                output: events & (hangUp | EPOLLOUT.rawValue) != 0,
                ended: events & (hangUp | EPOLLRDHUP.rawValue) != 0)
        }
        sockets.removeAll(keepingCapacity: true)
    }
}

/// A loop's thread (see ``IOLoop``).
// @unchecked Sendable: once `start` has handed it over, only the loop's thread touches `events`, `spare` and `ready`
// (`loop`, `epollDescriptor` and `name` never change).
private final class LoopThread: @unchecked Sendable {
    private static let batch = 128
    private let loop: IOLoop
    private let epollDescriptor: Int32
    /// The thread's name, as `ps` and `/proc` show it.
    private let name: String
    private let events = UnsafeMutableBufferPointer<epoll_event>.allocate(capacity: LoopThread.batch)
    private var spare: [UnownedJob] = []
    /// The sockets of a batch of events, between taking them under the registrations lock and waking their waiters.
    private var ready: [(SocketReadiness, UInt32)] = []

    init(loop: IOLoop, epollDescriptor: Int32, name: String) {
        self.loop = loop
        self.epollDescriptor = epollDescriptor
        self.name = name
        ready.reserveCapacity(LoopThread.batch)
    }

    /// Starts the thread, detached, with every signal blocked. The process takes its signals through Dispatch signal
    /// sources (a signalfd that Dispatch's manager thread reads); one that lands on a thread not blocking it goes
    /// through Dispatch's handler, which blocks it there and sends it on to the manager thread. Blocked from the
    /// start, none lands here, and `epoll_wait` is never interrupted. The loops live as long as the process; so do
    /// their threads.
    func start() {
        let handover = Unmanaged.passRetained(self).toOpaque()
        var all = sigset_t()
        var previous = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_SETMASK, &all, &previous)
        var handle = pthread_t()
        let created = pthread_create(
            &handle, nil,
            { argument in
                let thread = Unmanaged<LoopThread>.fromOpaque(argument!).takeRetainedValue()
                _ = CMicoSystem_set_thread_name(thread.name)
                thread.run()
            }, handover)
        pthread_sigmask(SIG_SETMASK, &previous, nil)
        precondition(created == 0, "pthread_create failed: \(created)")
        pthread_detach(handle)
    }

    /// Rounds of jobs and events, one `epoll_wait` each: blocking when no job is pending (it returns at once when
    /// events are ready), only looking when one is, so that a busy loop's events and jobs take turns. Never returns.
    private func run() -> Never {
        let executor = loop.asUnownedTaskExecutor()
        while true {
            var batch: [UnownedJob] = []
            swap(&batch, &spare)
            loop.takeJobs(&batch)
            for job in batch {
                job.runSynchronously(on: executor)
            }
            batch.removeAll(keepingCapacity: true)
            spare = batch
            poll(blocking: loop.beginWait())
        }
    }

    /// Takes the ready events, waiting for the first when `blocking` (the loop's wait begun), and delivers them.
    private func poll(blocking: Bool) {
        var timeout: Int32 = blocking ? -1 : 0
        while true {
            let count = epoll_wait(epollDescriptor, events.baseAddress, Int32(LoopThread.batch), timeout)
            if timeout != 0 {
                // Before delivering: the jobs that delivering enqueues run next on this thread and need no wake-up
                // (with the wait still marked, each would write the eventfd, and the next round read it back).
                loop.endWait()
            }
            timeout = 0
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            loop.deliver(UnsafeBufferPointer(rebasing: events[0..<Int(count)]), using: &ready)
            guard count == LoopThread.batch else { return }
        }
    }
}
