import Glibc

/// An IPv4, IPv6 or unix-domain socket address.
public struct SocketAddress: Sendable, CustomStringConvertible {
    var storage: sockaddr_storage
    var length: socklen_t

    init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    /// The address family (`AF_INET`, `AF_INET6`, `AF_UNIX`).
    public var family: Int32 { Int32(storage.ss_family) }

    /// An IP literal and port; nil when `host` is not an IPv4 or IPv6 literal (brackets not included).
    public init?(ipLiteral host: String, port: UInt16) {
        var storage = sockaddr_storage()
        if host.contains(":") {
            var address = sockaddr_in6()
            guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else { return nil }
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &storage) { raw in
                withUnsafeBytes(of: address) { raw.copyMemory(from: $0) }
            }
            self.init(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in6>.size))
        } else {
            var address = sockaddr_in()
            guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return nil }
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &storage) { raw in
                withUnsafeBytes(of: address) { raw.copyMemory(from: $0) }
            }
            self.init(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }

    /// A unix-domain address; nil when the path does not fit `sun_path`.
    public init?(unixPath path: String) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { raw in
            withUnsafeBytes(of: address) { raw.copyMemory(from: $0) }
        }
        self.init(storage: storage, length: socklen_t(MemoryLayout<sockaddr_un>.size))
    }

    /// The port of an IP address, 0 for unix-domain addresses.
    public var port: UInt16 {
        withUnsafeBytes(of: storage) { raw in
            switch family {
            case AF_INET: return UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port)
            case AF_INET6: return UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port)
            default: return 0
            }
        }
    }

    /// The numeric host (`127.0.0.1`, `::1`) or the unix path.
    public var host: String {
        withUnsafeBytes(of: storage) { raw in
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
            switch family {
            case AF_INET:
                var address = raw.load(as: sockaddr_in.self).sin_addr
                inet_ntop(AF_INET, &address, &text, socklen_t(text.count))
            case AF_INET6:
                var address = raw.load(as: sockaddr_in6.self).sin6_addr
                inet_ntop(AF_INET6, &address, &text, socklen_t(text.count))
            case AF_UNIX:
                let offset = MemoryLayout<sa_family_t>.size
                let pathBytes = raw[offset..<Int(length)].prefix { $0 != 0 }
                return String(decoding: pathBytes, as: UTF8.self)
            default:
                return "?"
            }
            return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    public var description: String {
        switch family {
        case AF_INET6: return "[\(host)]:\(port)"
        case AF_UNIX: return "unix:\(host)"
        default: return "\(host):\(port)"
        }
    }

    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(IOError) -> R) throws(IOError) -> R {
        var storage = self.storage
        let length = self.length
        return try withUnsafePointer(to: &storage) { pointer throws(IOError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(IOError) in
                try body(address, length)
            }
        }
    }

    /// Resolves `host` (a name or an IP literal) to TCP addresses. Blocks in `getaddrinfo`: call it off the
    /// cooperative pool (see `SocketChannel.connect`).
    static func resolve(host: String, port: UInt16) throws(IOError) -> [SocketAddress] {
        if let literal = SocketAddress(ipLiteral: host, port: port) { return [literal] }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            let detail = status == 0 ? "no address" : String(cString: gai_strerror(status))
            throw IOError(.nameResolution, call: "getaddrinfo \(host)", detail: detail)
        }
        defer { freeaddrinfo(list) }
        var result: [SocketAddress] = []
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            if let address = current.pointee.ai_addr {
                var storage = sockaddr_storage()
                let length = Int(current.pointee.ai_addrlen)
                withUnsafeMutableBytes(of: &storage) { raw in
                    raw.copyMemory(from: UnsafeRawBufferPointer(start: address, count: length))
                }
                result.append(SocketAddress(storage: storage, length: socklen_t(length)))
            }
            entry = current.pointee.ai_next
        }
        return result
    }
}
