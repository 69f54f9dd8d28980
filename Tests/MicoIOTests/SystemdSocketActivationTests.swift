import Dispatch
import Glibc
import MicoIO
import MicoTestSupport
import Synchronization
import Testing

@Suite("Socket activation: LISTEN_FDS and adopted listeners")
struct SystemdSocketActivationTests {
    typealias Passed = SystemdSocketActivation.PassedDescriptor

    @Test("LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are read as sd_listen_fds_with_names(3) reads them")
    func parsing() throws {
        let pid: pid_t = 777
        #expect(
            try SystemdSocketActivation.passedDescriptors(
                environment: ["LISTEN_PID": "777", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "tcp:unix"], pid: pid)
                == [Passed(fileDescriptor: 3, name: "tcp"), Passed(fileDescriptor: 4, name: "unix")])
        #expect(
            try SystemdSocketActivation.passedDescriptors(
                environment: ["LISTEN_PID": "777", "LISTEN_FDS": "1"], pid: pid)
                == [Passed(fileDescriptor: 3, name: "unknown")])
        let notForUs: [[String: String]] = [
            [:], ["LISTEN_FDS": "1"], ["LISTEN_PID": "777"], ["LISTEN_PID": "778", "LISTEN_FDS": "1"],
            ["LISTEN_PID": "777", "LISTEN_FDS": "0"],
        ]
        for environment in notForUs {
            #expect(try SystemdSocketActivation.passedDescriptors(environment: environment, pid: pid) == nil)
        }
        let invalid: [[String: String]] = [
            ["LISTEN_PID": "x", "LISTEN_FDS": "1"], ["LISTEN_PID": "777", "LISTEN_FDS": "-1"],
            ["LISTEN_PID": "777", "LISTEN_FDS": "two"],
            ["LISTEN_PID": "777", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "only-one"],
        ]
        for environment in invalid {
            #expect(throws: IOError.self, "\(environment)") {
                try SystemdSocketActivation.passedDescriptors(environment: environment, pid: pid)
            }
        }
    }

    @Test("sockets meant for another process are not taken, and the LISTEN_ variables are removed")
    func otherProcessAndUnset() throws {
        setenv("LISTEN_PID", "\(getpid() + 1)", 1)
        setenv("LISTEN_FDS", "1", 1)
        setenv("LISTEN_FDNAMES", "proxy", 1)
        #expect(try SystemdSocketActivation.takeListeners() == nil)
        for key in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
            #expect(getenv(key) == nil, "\(key)")
        }
    }

    @Test("an adopted TCP socket is made non-blocking and close-on-exec, knows its port and accepts")
    func adoptTCP() async throws {
        let (fd, port) = try Self.listeningTCPSocket()
        let listener = try Listener(adopting: fd)
        defer { listener.close() }
        #expect(listener.address.port == port)
        #expect(listener.address.host == "127.0.0.1")
        #expect(fcntl(fd, F_GETFL) & O_NONBLOCK != 0)
        #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
        let accepted = Mutex(0)
        listener.start { channel in
            accepted.withLock { $0 += 1 }
            channel.close()
        }
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        var address = sockaddr_in.loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        #expect(connected == 0)
        for _ in 0..<250 where accepted.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(accepted.withLock { $0 } == 1)
    }

    @Test("closing an adopted unix socket leaves its file alone: it belongs to whoever created it")
    func adoptUnixKeepsFile() throws {
        let directory = try TemporaryDirectory.make("adopt")
        defer { rmdirRecursively(directory) }
        let path = directory + "/proxy.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        #expect(bound == 0 && listen(fd, 8) == 0)
        let listener = try Listener(adopting: fd)
        #expect(listener.address.family == AF_UNIX)
        #expect(listener.address.host == path)
        listener.close()
        #expect(access(path, F_OK) == 0)
    }

    @Test("descriptors that are not listening stream sockets are refused")
    func refusesOtherDescriptors() throws {
        var pipeEnds: [Int32] = [0, 0]
        #expect(pipe(&pipeEnds) == 0)
        defer { pipeEnds.forEach { close($0) } }
        #expect(throws: IOError.self) { try Listener(adopting: pipeEnds[0]) }
        let datagram = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(datagram) }
        #expect(throws: IOError.self) { try Listener(adopting: datagram) }
        let notListening = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(notListening) }
        #expect(throws: IOError.self) { try Listener(adopting: notListening) }
        // A refused descriptor stays open for the caller.
        #expect(fcntl(notListening, F_GETFD) >= 0)
    }

    private static func listeningTCPSocket() throws -> (Int32, UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in.loopback()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { throw IOError.fromErrno(errno, call: "bind/listen") }
        return (fd, UInt16(bigEndian: address.sin_port))
    }
}

private func rmdirRecursively(_ directory: String) {
    if let entries = opendir(directory) {
        while let entry = readdir(entries) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { unlink(directory + "/" + name) }
        }
        closedir(entries)
    }
    rmdir(directory)
}
