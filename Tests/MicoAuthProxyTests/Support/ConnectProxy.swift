import Dispatch
import MicoIO
import Synchronization

/// A small HTTP CONNECT proxy on loopback, standing in for a corporate egress proxy: it checks
/// `Proxy-Authorization` when told to, records what it was asked, and pipes bytes both ways.
final class ConnectProxy: Sendable {
    struct Seen: Sendable {
        var target: String
        var proxyAuthorization: String?
    }

    let listener: Listener
    private let expectedAuthorization: String?
    private let seenRequests = Mutex<[Seen]>([])

    var port: UInt16 { listener.address.port }
    var seen: [Seen] { seenRequests.withLock { $0 } }

    init(expectedAuthorization: String? = nil) throws {
        listener = try Listener(bind: SocketAddress(ipLiteral: "127.0.0.1", port: 0)!)
        self.expectedAuthorization = expectedAuthorization
        listener.start { [self] client in Task { await self.serve(client) } }
    }

    func stop() { listener.close() }

    private func serve(_ client: SocketChannel) async {
        var received: [UInt8] = []
        let deadline = DispatchTime.now() + 10
        while !String(decoding: received, as: UTF8.self).contains("\r\n\r\n") {
            guard let bytes = try? await client.read(maxBytes: 4096, deadline: deadline), !bytes.isEmpty else {
                client.close()
                return
            }
            received += bytes
        }
        let head = String(decoding: received, as: UTF8.self).components(separatedBy: "\r\n\r\n")[0]
        let lines = head.components(separatedBy: "\r\n")
        let words = lines[0].split(separator: " ")
        let authorization = lines.dropFirst().first { $0.lowercased().hasPrefix("proxy-authorization:") }
            .map { String($0.dropFirst("proxy-authorization:".count)).trimmingCharacters(in: " ") }
        seenRequests.withLock {
            $0.append(Seen(target: words.count > 1 ? String(words[1]) : "", proxyAuthorization: authorization))
        }
        guard words.count == 3, words[0] == "CONNECT" else {
            try? await client.write(Array("HTTP/1.1 405 Method Not Allowed\r\n\r\n".utf8), deadline: deadline)
            client.close()
            return
        }
        if let expectedAuthorization, authorization != expectedAuthorization {
            try? await client.write(
                Array("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n".utf8),
                deadline: deadline)
            client.close()
            return
        }
        let target = words[1].split(separator: ":")
        guard target.count == 2, let port = UInt16(target[1]),
            let upstream = try? await SocketChannel.connect(host: String(target[0]), port: port, deadline: deadline)
        else {
            try? await client.write(Array("HTTP/1.1 502 Bad Gateway\r\n\r\n".utf8), deadline: deadline)
            client.close()
            return
        }
        try? await client.write(Array("HTTP/1.1 200 Connection Established\r\n\r\n".utf8), deadline: deadline)
        async let up: Void = Self.pipe(from: client, to: upstream)
        async let down: Void = Self.pipe(from: upstream, to: client)
        _ = await (up, down)
        client.close()
        upstream.close()
    }

    private static func pipe(from source: SocketChannel, to destination: SocketChannel) async {
        while let bytes = try? await source.read(maxBytes: 65536, deadline: .now() + 30), !bytes.isEmpty {
            guard (try? await destination.write(bytes, deadline: .now() + 30)) != nil else { break }
        }
        destination.shutdownBoth()
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
