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
/// `dispatch_async`. So under load, most requests cost no Dispatch wake-up at all.
///
/// Why not a Dispatch source per socket: a profile of the proxy under load showed that on Linux every source event
/// goes through Dispatch's manager thread twice (the event, then re-arming the source), and the resumed task then
/// waited for a thread of the cooperative pool: thread switches were the largest single cost.
///
/// There is one loop per core the process may run on; new connections are spread over them in turn.
public final class IOLoop: TaskExecutor, Sendable {
    /// A registered socket, by the token its epoll events carry.
    private struct Registration {
        weak var channel: SocketChannel?
    }

    private struct Jobs {
        var pending: [UnownedJob] = []
        /// A drain runs or is scheduled on the queue: it picks up new jobs and events.
        var draining = false
    }

    /// The queue that runs this loop's jobs and delivers its events.
    public let queue: DispatchQueue
    private let epollDescriptor: Int32
    private let registrations = Mutex<[UInt64: Registration]>([:])
    private let nextToken = Atomic<UInt64>(1)
    private let jobs = Mutex(Jobs())
    private let drainer: Drainer

    private init(index: Int) {
        queue = DispatchQueue(label: "mico.loop.\(index)")
        epollDescriptor = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epollDescriptor >= 0, "epoll_create1 failed: errno \(errno)")
        drainer = Drainer(epollDescriptor: epollDescriptor)
        drainer.start(self)
    }

    // MARK: TaskExecutor

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let startDrain = jobs.withLock { jobs -> Bool in
            jobs.pending.append(job)
            defer { jobs.draining = true }
            return !jobs.draining
        }
        if startDrain { queue.async { self.drainer.drain(self) } }
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

    /// A token for `register`, unique in this process.
    func makeToken() -> UInt64 {
        nextToken.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// Watches `channel`'s descriptor for input, output and hang-up, edge-triggered; its events carry `token`.
    func register(_ channel: SocketChannel, token: UInt64) throws(IOError) {
        registrations.withLock { $0[token] = Registration(channel: channel) }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue
        event.data.u64 = token
        if epoll_ctl(epollDescriptor, EPOLL_CTL_ADD, channel.fileDescriptor, &event) != 0 {
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

    /// Delivers a batch of events (on `queue`).
    fileprivate func deliver(_ events: UnsafeBufferPointer<epoll_event>) {
        var channels: [(SocketChannel, UInt32)] = []
        channels.reserveCapacity(events.count)
        registrations.withLock { registrations in
            for event in events {
                if let channel = registrations[event.data.u64]?.channel {
                    channels.append((channel, event.events))
                }
            }
        }
        let hangUp = EPOLLHUP.rawValue | EPOLLERR.rawValue
        for (channel, events) in channels {
            channel.deliver(
                input: events & (hangUp | EPOLLIN.rawValue | EPOLLRDHUP.rawValue) != 0,
                output: events & (hangUp | EPOLLOUT.rawValue) != 0,
                ended: events & (hangUp | EPOLLRDHUP.rawValue) != 0)
        }
    }
}

/// Runs a loop's drains (see ``IOLoop``).
// @unchecked Sendable: `events` (the buffer epoll_wait fills), `spare` and `source` are touched only on the loop's
// serial queue (`source` is set in `start`, before the source is resumed).
private final class Drainer: @unchecked Sendable {
    private static let batch = 128
    /// Rounds in one go before other work on the queue (the sockets' timers) gets a turn.
    private static let roundsPerTurn = 64
    private let epollDescriptor: Int32
    private var source: (any DispatchSourceRead)?
    private let events = UnsafeMutableBufferPointer<epoll_event>.allocate(capacity: Drainer.batch)
    private var spare: [UnownedJob] = []

    init(epollDescriptor: Int32) {
        self.epollDescriptor = epollDescriptor
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
        for _ in 0..<Self.roundsPerTurn {
            let delivered = poll(loop)
            var batch: [UnownedJob] = []
            swap(&batch, &spare)
            loop.takeJobs(&batch)
            for job in batch {
                job.runSynchronously(on: executor)
            }
            if delivered == 0 && batch.isEmpty && loop.endDrain() { return }
            batch.removeAll(keepingCapacity: true)
            spare = batch
        }
        loop.queue.async { self.drain(loop) }
    }

    /// Takes the ready events without waiting and delivers them; returns how many.
    private func poll(_ loop: IOLoop) -> Int {
        var delivered = 0
        while true {
            let count = epoll_wait(epollDescriptor, events.baseAddress, Int32(Drainer.batch), 0)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return delivered }
            loop.deliver(UnsafeBufferPointer(rebasing: events[0..<Int(count)]))
            delivered += Int(count)
            guard count == Drainer.batch else { return delivered }
        }
    }
}
