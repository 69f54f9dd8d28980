import MicoIO
import Synchronization

/// The open client connections, whether each is in the middle of a request, and whether the server is draining
/// (stopping gracefully: requests already received are answered, then their connections close).
final class ConnectionRegistry: Sendable {
    private struct Entry {
        var channel: SocketChannel
        var busy = false
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var draining = false
    }

    private let state = Mutex(State())

    /// Adds a connection unless `limit` are open already or the server is draining.
    func admit(_ channel: SocketChannel, limit: Int) -> Bool {
        state.withLock { state in
            guard !state.draining, state.entries.count < limit else { return false }
            state.entries[ObjectIdentifier(channel)] = Entry(channel: channel)
            return true
        }
    }

    /// A request's head arrived on `channel`: it is answered even if draining starts meanwhile.
    func begin(_ channel: SocketChannel) {
        state.withLock { $0.entries[ObjectIdentifier(channel)]?.busy = true }
    }

    /// The request is answered; returns whether the connection may wait for another (not while draining).
    func end(_ channel: SocketChannel) -> Bool {
        state.withLock { state in
            state.entries[ObjectIdentifier(channel)]?.busy = false
            return !state.draining
        }
    }

    func remove(_ channel: SocketChannel) {
        _ = state.withLock { $0.entries.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    var count: Int { state.withLock { $0.entries.count } }

    /// Starts draining; returns the connections that are idle now (waiting for a request), to be closed.
    func startDraining() -> [SocketChannel] {
        state.withLock { state in
            state.draining = true
            return state.entries.values.filter { !$0.busy }.map(\.channel)
        }
    }

    /// Every open connection.
    var all: [SocketChannel] { state.withLock { $0.entries.values.map(\.channel) } }
}
