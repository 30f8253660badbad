import Foundation
@testable import SpoolExecutor
import Testing

@Suite("Runtime API peers")
struct RuntimePeersTests {
    /// A loopback TCP connection made with plain sockets: (listener, client, server port, client port).
    func connection() throws -> (listener: Int32, client: Int32, serverPort: Int, clientPort: Int) {
        func address(port: UInt16) -> sockaddr_in {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            return address
        }
        func port(of descriptor: Int32) -> Int {
            var bound = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
            return Int(UInt16(bigEndian: bound.sin_port))
        }
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var any = address(port: 0)
        let bound = withUnsafePointer(to: &any) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        try #require(bound == 0 && listen(listener, 4) == 0)
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var server = address(port: UInt16(port(of: listener)))
        let connected = withUnsafePointer(to: &server) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        try #require(connected == 0)
        return (listener, client, port(of: listener), port(of: client))
    }

    @Test("the kernel names the client socket of a loopback connection by its ports, as its descriptor's inode")
    func inodeByPorts() throws {
        let (listener, client, serverPort, clientPort) = try connection()
        defer { close(client); close(listener) }
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(client)")
        let inode = try #require(UInt64(link.dropFirst("socket:[".count).dropLast()))
        #expect(RuntimePeers.socketInode(clientPort: clientPort, serverPort: serverPort) == inode)
        #expect(RuntimePeers.diagnosticInode(clientPort: clientPort, serverPort: serverPort) == inode, "netlink answers")
        let table = try #require(RuntimePeers.readAll("/proc/net/tcp"))
        #expect(RuntimePeers.socketInode(in: table, localPort: clientPort, remotePort: serverPort) == inode, "/proc agrees")
        // This process holds the socket; a process tree without it does not.
        #expect(RuntimePeers.descriptors(of: getpid()).contains(link))
        #expect(RuntimePeers.tree(from: [getppid()]).contains(getpid()), "a child is in its parent's tree")
        #expect(RuntimePeers.socketInode(clientPort: clientPort, serverPort: serverPort == 65_535 ? 1 : serverPort + 1) == nil)
    }
}
