import CMicoSystem
import Glibc

/// The user and group of the process on the other end of a unix-domain socket, as the kernel recorded them
/// when it connected (`SO_PEERCRED`, unix(7)); they cannot be forged by the peer.
public struct PeerCredentials: Sendable, Equatable {
    public var uid: uid_t
    public var gid: gid_t
}

extension SocketChannel {
    /// The peer's credentials; nil for sockets that have none (TCP).
    public func peerCredentials() -> PeerCredentials? {
        var uid: uid_t = 0
        var gid: gid_t = 0
        guard CMicoSystem_peer_credentials(fileDescriptor, &uid, &gid) == 0 else { return nil }
        return PeerCredentials(uid: uid, gid: gid)
    }
}
