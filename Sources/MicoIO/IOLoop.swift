import CMicoSystem
import Dispatch
import Glibc
import Synchronization

/// A serial Dispatch queue that runs the tasks serving connections and delivers their sockets' readiness.
///
/// Each loop owns an epoll instance in which its sockets are registered once, edge-triggered, when they are made,
/// and one Dispatch read source that watches that epoll descriptor. A connection's task prefers its loop as
/// executor (`Task(executorPreference:)`, see `spawn`), so a task resumed by a readiness event runs on the loop too.
///
/// The loop drains in rounds on its queue: take every ready event in one `epoll_wait` (resuming the tasks that
/// wait for them), run every job the tasks enqueued, and again, until a round finds nothing; only then does it go
/// back to Dispatch and wait for the source to fire. Jobs enqueued while a drain runs join it without a
/// `dispatch_async`. A drain that did work lingers up to a millisecond in `epoll_wait` when it runs out of it,
/// since under load the next event is that close: it then wakes the loop's thread directly, instead of Dispatch's
/// manager thread, which would wake a worker thread (two scheduler hops, each a chance to wait behind other
/// processes: the tail latency of a loaded machine). A job enqueued from another thread ends the linger through an
/// eventfd. So under load, most requests cost no Dispatch wake-up at all.
///
/// Why not a Dispatch source per socket: a profile of the proxy under load showed that on Linux every source event
/// goes through Dispatch's manager thread twice (the event, then re-arming the source), and the resumed task then
/// waited for a thread of the cooperative pool: thread switches were the largest single cost.
///
/// There is one loop per core the process may run on; new connections are spread over them in turn.
public final class IOLoop: TaskExecutor, Sendable {
    private struct Jobs {
        var pending: [UnownedJob] = []
        /// A drain runs or is scheduled on the queue: it picks up new jobs and events.
        var draining = false
        /// The drain waits in `epoll_wait`: a new job must wake it.
        var lingering = false
    }

    private enum EnqueueAction { case none, startDrain, wake }

    /// The epoll token of the loop's own eventfd (sockets get tokens from 1).
    fileprivate static let wakeToken: UInt64 = 0

    /// The queue that runs this loop's jobs and delivers its events.
    public let queue: DispatchQueue
    private let epollDescriptor: Int32
    /// An eventfd in the epoll set: written to end a drain's linger when a job comes from another thread.
    private let wakeDescriptor: Int32
    /// The registered sockets' readiness, by the token their epoll events carry.
    private let registrations = Mutex<[UInt64: SocketReadiness]>([:])
    private let nextToken = Atomic<UInt64>(1)
    private let jobs = Mutex(Jobs())
    private let drainer: Drainer

    private init(index: Int) {
        queue = DispatchQueue(label: "mico.loop.\(index)")
        epollDescriptor = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epollDescriptor >= 0, "epoll_create1 failed: errno \(errno)")
        wakeDescriptor = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        precondition(wakeDescriptor >= 0, "eventfd failed: errno \(errno)")
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = Self.wakeToken
        precondition(epoll_ctl(epollDescriptor, EPOLL_CTL_ADD, wakeDescriptor, &event) == 0, "epoll_ctl: \(errno)")
        drainer = Drainer(epollDescriptor: epollDescriptor)
        drainer.start(self)
    }

    // MARK: TaskExecutor

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let action = jobs.withLock { jobs -> EnqueueAction in
            jobs.pending.append(job)
            if !jobs.draining {
                jobs.draining = true
                return .startDrain
            }
            guard jobs.lingering else { return .none }
            jobs.lingering = false
            return .wake
        }
        switch action {
        case .none: break
        case .startDrain: queue.async { self.drainer.drain(self) }
        case .wake: _ = eventfd_write(wakeDescriptor, 1)
        }
    }

    /// Marks a drain as running unless one already runs or is scheduled (on the source's event).
    fileprivate func beginDrain() -> Bool {
        jobs.withLock { jobs in
            defer { jobs.draining = true }
            return !jobs.draining
        }
    }

    /// Swaps the pending jobs for `spare` (an empty array with capacity).
    fileprivate func takeJobs(_ spare: inout [UnownedJob]) {
        jobs.withLock { swap(&$0.pending, &spare) }
    }

    /// Marks the drain as lingering unless jobs came meanwhile.
    fileprivate func beginLinger() -> Bool {
        jobs.withLock { jobs in
            guard jobs.pending.isEmpty else { return false }
            jobs.lingering = true
            return true
        }
    }

    fileprivate func endLinger() {
        jobs.withLock { $0.lingering = false }
    }

    /// Ends a drain unless jobs came meanwhile.
    fileprivate func endDrain() -> Bool {
        jobs.withLock { jobs in
            guard jobs.pending.isEmpty else { return false }
            jobs.draining = false
            return true
        }
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

    /// Delivers a batch of events (on `queue`). `sockets` is scratch space, empty on entry and on return, kept by the
    /// caller so that a batch allocates nothing.
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

/// Runs a loop's drains (see ``IOLoop``).
// @unchecked Sendable: `events` (the buffer epoll_wait fills), `spare`, `ready` and `source` are touched only on the
// loop's serial queue (`source` is set in `start`, before the source is resumed).
private final class Drainer: @unchecked Sendable {
    private static let batch = 128
    /// Rounds in one go before other work on the queue (the sockets' timers) gets a turn.
    private static let roundsPerTurn = 64
    /// How long a drain that did work waits for more in `epoll_wait` before it gives the thread back, milliseconds.
    private static let lingerMilliseconds: Int32 = 1
    private let epollDescriptor: Int32
    private var source: (any DispatchSourceRead)?
    private let events = UnsafeMutableBufferPointer<epoll_event>.allocate(capacity: Drainer.batch)
    private var spare: [UnownedJob] = []
    /// The sockets of a batch of events, between taking them under the registrations lock and waking their waiters.
    private var ready: [(SocketReadiness, UInt32)] = []

    init(epollDescriptor: Int32) {
        self.epollDescriptor = epollDescriptor
        ready.reserveCapacity(Drainer.batch)
    }

    /// The loops live as long as the process; so does their drainer.
    func start(_ loop: IOLoop) {
        let source = DispatchSource.makeReadSource(fileDescriptor: epollDescriptor, queue: loop.queue)
        source.setEventHandler { [unowned loop] in
            if loop.beginDrain() { self.drain(loop) }
        }
        self.source = source
        source.resume()
    }

    /// Rounds of events and jobs until one finds neither (on the loop's queue, with the loop's drain begun).
    func drain(_ loop: IOLoop) {
        let executor = loop.asUnownedTaskExecutor()
        var busy = false
        for _ in 0..<Self.roundsPerTurn {
            var delivered = poll(loop, timeout: 0)
            var batch: [UnownedJob] = []
            swap(&batch, &spare)
            loop.takeJobs(&batch)
            for job in batch {
                job.runSynchronously(on: executor)
            }
            let idle = delivered == 0 && batch.isEmpty
            batch.removeAll(keepingCapacity: true)
            spare = batch
            guard idle else {
                busy = true
                continue
            }
            if busy, loop.beginLinger() {
                busy = false
                delivered = poll(loop, timeout: Self.lingerMilliseconds)
                loop.endLinger()
                if delivered > 0 { continue }
            }
            if loop.endDrain() { return }
        }
        loop.queue.async { self.drain(loop) }
    }

    /// Takes the ready events, waiting up to `timeout` milliseconds for the first, and delivers them; returns how
    /// many.
    private func poll(_ loop: IOLoop, timeout: Int32) -> Int {
        var delivered = 0
        var timeout = timeout
        while true {
            let count = epoll_wait(epollDescriptor, events.baseAddress, Int32(Drainer.batch), timeout)
            timeout = 0
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return delivered }
            loop.deliver(UnsafeBufferPointer(rebasing: events[0..<Int(count)]), using: &ready)
            delivered += Int(count)
            guard count == Drainer.batch else { return delivered }
        }
    }
}
