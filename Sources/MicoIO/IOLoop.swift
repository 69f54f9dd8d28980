import CMicoSystem
import Dispatch
import Glibc
import Synchronization

/// A serial Dispatch queue that runs the tasks serving connections and delivers their sockets' readiness.
///
/// Each loop owns an epoll instance in which its sockets are registered once, edge-triggered, when they are made.
/// One Dispatch read source watches that epoll descriptor; when it fires, the loop takes every ready event in one
/// `epoll_wait` and resumes the tasks waiting for them. A connection's task prefers its loop as executor
/// (`Task(executorPreference:)`, see `spawn`), so the task resumes on the same queue, on the thread that took the
/// events.
///
/// Why not a Dispatch source per socket: a profile of the proxy under load showed that on Linux every source event
/// goes through Dispatch's manager thread twice (the event, then re-arming the source), and the resumed task then
/// waited for a thread of the cooperative pool: thread wake-ups were the largest single cost. Here the cost of the
/// one source is shared by all the events a wake-up finds, and a socket costs no `epoll_ctl` per wait.
///
/// There is one loop per core the process may run on; new connections are spread over them in turn.
public final class IOLoop: TaskExecutor, Sendable {
    /// A registered socket, by the token its epoll events carry.
    private struct Registration {
        weak var channel: SocketChannel?
    }

    /// The queue that runs this loop's jobs and delivers its events.
    public let queue: DispatchQueue
    private let epollDescriptor: Int32
    private let registrations = Mutex<[UInt64: Registration]>([:])
    private let nextToken = Atomic<UInt64>(1)
    private let harvester: Harvester

    private init(index: Int) {
        queue = DispatchQueue(label: "mico.loop.\(index)")
        epollDescriptor = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epollDescriptor >= 0, "epoll_create1 failed: errno \(errno)")
        harvester = Harvester(epollDescriptor: epollDescriptor, queue: queue)
        harvester.start(loop: self)
    }

    // MARK: TaskExecutor

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
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
                output: events & (hangUp | EPOLLOUT.rawValue) != 0)
        }
    }
}

/// Takes the ready events of a loop's epoll instance whenever Dispatch says it is readable.
// @unchecked Sendable: `events` (the buffer epoll_wait fills) is touched only by the source's event handler, which
// runs on the loop's serial queue; `source` is set once in `start`, before the source is resumed.
private final class Harvester: @unchecked Sendable {
    private static let batch = 128
    private let epollDescriptor: Int32
    private let queue: DispatchQueue
    private var source: (any DispatchSourceRead)?
    private let events = UnsafeMutableBufferPointer<epoll_event>.allocate(capacity: Harvester.batch)

    init(epollDescriptor: Int32, queue: DispatchQueue) {
        self.epollDescriptor = epollDescriptor
        self.queue = queue
    }

    /// The loops live as long as the process; so does their harvester.
    func start(loop: IOLoop) {
        let source = DispatchSource.makeReadSource(fileDescriptor: epollDescriptor, queue: queue)
        source.setEventHandler { [unowned loop] in self.harvest(loop) }
        self.source = source
        source.resume()
    }

    private func harvest(_ loop: IOLoop) {
        while true {
            let count = epoll_wait(epollDescriptor, events.baseAddress, Int32(Harvester.batch), 0)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            loop.deliver(UnsafeBufferPointer(rebasing: events[0..<Int(count)]))
            guard count == Harvester.batch else { return }
        }
    }
}
