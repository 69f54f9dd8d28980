import Glibc

extension sockaddr_in {
    /// 127.0.0.1:`port`; port 0 lets `bind` pick a free one.
    public static func loopback(port: UInt16 = 0) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        return address
    }
}
