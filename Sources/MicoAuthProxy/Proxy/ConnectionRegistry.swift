import MicoIO
import Synchronization

/// The open client connections, whether each is in the middle of a request, and whether the server is draining
/// (stopping gracefully: requests already received are answered, then their connections close).
///
/// A connection marks its requests through its own `Membership`, with atomics rather than the registry's lock:
/// that is twice per request, where the lock and a dictionary lookup cost as much as parsing a head.
final class ConnectionRegistry: Sendable {
    /// One admitted connection's place in the registry.
    final class Membership: Sendable {
        fileprivate let channel: SocketChannel
        fileprivate let busy = Atomic<Bool>(false)
        private let registry: ConnectionRegistry

        fileprivate init(channel: SocketChannel, registry: ConnectionRegistry) {
            self.channel = channel
            self.registry = registry
        }

        /// A request's head arrived: it is answered even if draining starts meanwhile.
        func begin() {
            busy.store(true, ordering: .sequentiallyConsistent)
        }

        /// The request is answered; returns whether the connection may wait for another (not while draining).
        // With `startDraining`, which sets `draining` and then reads `busy`: of a request ending and a drain
        // starting, at least one sees what the other did (sequentially consistent), so an idle connection is
        // either shut down by the drain or closed here.
        func end() -> Bool {
            busy.store(false, ordering: .sequentiallyConsistent)
            return !registry.draining.load(ordering: .sequentiallyConsistent)
        }

        /// Leaves the registry once the connection is closed.
        func remove() {
            _ = registry.members.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
        }
    }

    private let members = Mutex<[ObjectIdentifier: Membership]>([:])
    private let draining = Atomic<Bool>(false)

    /// Adds a connection unless `limit` are open already or the server is draining.
    func admit(_ channel: SocketChannel, limit: Int) -> Membership? {
        members.withLock { members in
            guard !draining.load(ordering: .sequentiallyConsistent), members.count < limit else { return nil }
            let membership = Membership(channel: channel, registry: self)
            members[ObjectIdentifier(channel)] = membership
            return membership
        }
    }

    var count: Int { members.withLock { $0.count } }

    /// Starts draining; returns the connections that are idle now (waiting for a request), to be closed.
    func startDraining() -> [SocketChannel] {
        members.withLock { members in
            draining.store(true, ordering: .sequentiallyConsistent)
            return members.values.filter { !$0.busy.load(ordering: .sequentiallyConsistent) }.map(\.channel)
        }
    }

    /// Every open connection.
    var all: [SocketChannel] { members.withLock { $0.values.map(\.channel) } }
}
