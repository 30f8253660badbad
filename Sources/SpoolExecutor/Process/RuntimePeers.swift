import Foundation
import NIOCore
import SpoolSignals
import Synchronization

/// Who may speak to an environment's Runtime API: the processes of that environment (its runtime and extensions, and
/// their descendants), and nobody else on the machine.
///
/// A Runtime API client sends no credential (awslambdaric and `bootstrap` scripts know only `AWS_LAMBDA_RUNTIME_API`), so
/// the connection itself is identified: the kernel is asked for its client socket's inode by the connection's two
/// loopback ports (one `SOCK_DIAG_BY_FAMILY` lookup over netlink, the way `ss` asks; `/proc/net/tcp`, which takes
/// milliseconds to produce, only where netlink answers nothing), and the inode is looked for among the open descriptors
/// (`/proc/PID/fd`) of the environment's process tree (`/proc/PID/task/TID/children`, from the runtime's and each
/// extension's pid). The verdict is kept for the connection's life, so a runtime that keeps its connection open pays
/// once; one that opens a connection per request (curl in a `bootstrap`) pays each time, a few hundred microseconds.
/// Linux only; a process that leaves the tree (a daemon reparented to init) is refused.
final class RuntimePeers: Sendable {
    private struct State {
        /// The pids the environment started: runtime and extensions.
        var roots: Set<pid_t> = []
        /// Processes being started whose pid is not recorded yet.
        var spawning = 0
        /// Verdicts of open connections, removed when they close.
        var verdicts: [ObjectIdentifier: Bool] = [:]
    }

    private let state = Mutex(State())
    /// Raised when a spawn ends.
    private let spawned = WakeSignal()

    /// Runs `spawn`, which starts a process of the environment and reports its pid to `started` before it returns.
    /// Until it returns, a refusal waits for it: the new process may already be connecting.
    func spawning<T: Sendable>(_ spawn: @Sendable () async -> T) async -> T {
        state.withLock { $0.spawning += 1 }
        defer {
            state.withLock { $0.spawning -= 1 }
            spawned.signal()
        }
        return await spawn()
    }

    /// A process the environment started (from the moment it runs).
    func started(_ pid: pid_t) {
        _ = state.withLock { $0.roots.insert(pid) }
    }

    /// Whether the process at the other end of `channel` belongs to the environment.
    func admits(_ channel: any Channel) async -> Bool {
        let key = ObjectIdentifier(channel)
        if let known = state.withLock({ $0.verdicts[key] }) { return known }
        guard let local = channel.localAddress?.port, let remote = channel.remoteAddress?.port else { return false }
        var verdict = check(serverPort: local, clientPort: remote)
        // A process may connect before its spawn recorded its pid (on a busy machine): wait for the spawns, look again.
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while !verdict {
            let seen = spawned.generation
            guard state.withLock({ $0.spawning > 0 }), ContinuousClock.now < deadline else { break }
            await spawned.wait(seen: seen, timeout: ContinuousClock.now.duration(to: deadline))
            verdict = check(serverPort: local, clientPort: remote)
        }
        let first = state.withLock { state -> Bool in
            guard state.verdicts[key] == nil else { return false }
            state.verdicts[key] = verdict
            return true
        }
        if first {
            channel.closeFuture.whenComplete { [weak self] _ in
                _ = self?.state.withLock { $0.verdicts.removeValue(forKey: key) }
            }
        }
        return verdict
    }

    private func check(serverPort: Int, clientPort: Int) -> Bool {
        guard let inode = Self.socketInode(clientPort: clientPort, serverPort: serverPort) else { return false }
        let roots = state.withLock { $0.roots }
        let link = "socket:[\(inode)]"
        for pid in Self.tree(from: roots) where Self.descriptors(of: pid).contains(link) { return true }
        return false
    }

    /// The inode of the IPv4 loopback socket connected from `clientPort` to `serverPort`.
    static func socketInode(clientPort: Int, serverPort: Int) -> UInt64? {
        if let inode = diagnosticInode(clientPort: clientPort, serverPort: serverPort) { return inode }
        return readAll("/proc/net/tcp").flatMap { socketInode(in: $0, localPort: clientPort, remotePort: serverPort) }
    }

    /// Asks the kernel (netlink `NETLINK_SOCK_DIAG`, one `SOCK_DIAG_BY_FAMILY` request for exactly this TCP socket)
    /// for the inode of the socket from 127.0.0.1:`clientPort` to 127.0.0.1:`serverPort`; `nil` when netlink cannot say.
    static func diagnosticInode(clientPort: Int, serverPort: Int) -> UInt64? {
        let netlink = socket(AF_NETLINK, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 4 /* NETLINK_SOCK_DIAG */)
        guard netlink >= 0 else { return nil }
        defer { close(netlink) }
        var request: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value) { request += $0 } }
        // struct nlmsghdr: length, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, sequence, port id.
        append(UInt32(72)); append(UInt16(20)); append(UInt16(1)); append(UInt32(1)); append(UInt32(0))
        // struct inet_diag_req_v2: AF_INET, IPPROTO_TCP, no extensions, padding, every state.
        request += [UInt8(AF_INET), UInt8(IPPROTO_TCP), 0, 0]; append(UInt32.max)
        // struct inet_diag_sockid: ports in network order, then source and destination addresses (16 bytes each),
        // the interface and "no cookie".
        append(UInt16(clientPort).bigEndian); append(UInt16(serverPort).bigEndian)
        for _ in 0..<2 { request += [127, 0, 0, 1] + [UInt8](repeating: 0, count: 12) }
        append(UInt32(0)); append(UInt32.max); append(UInt32.max)
        let sent = request.withUnsafeBytes { send(netlink, $0.baseAddress, $0.count, 0) }
        guard sent == request.count else { return nil }
        var answer = [UInt8](repeating: 0, count: 1_024)
        let received = answer.withUnsafeMutableBytes { recv(netlink, $0.baseAddress, $0.count, 0) }
        // The answer: a header of type SOCK_DIAG_BY_FAMILY then struct inet_diag_msg, whose inode is at byte 68;
        // an NLMSG_ERROR (the socket is not there) otherwise.
        guard received >= 88 else { return nil }
        let type = answer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt16.self) }
        guard type == 20 else { return nil }
        let inode = answer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 16 + 68, as: UInt32.self) }
        return inode == 0 ? nil : UInt64(inode)
    }

    /// The inode of the IPv4 loopback socket from `localPort` to `remotePort` in a `/proc/net/tcp` table.
    static func socketInode(in table: String, localPort: Int, remotePort: Int) -> UInt64? {
        let local = String(format: "0100007F:%04X", localPort)
        let remote = String(format: "0100007F:%04X", remotePort)
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // Established (01) only: a closed connection that used the same ports may linger in TIME_WAIT, inode 0.
            guard fields.count > 9, fields[1] == local, fields[2] == remote, fields[3] == "01" else { continue }
            return UInt64(fields[9])
        }
        return nil
    }

    /// The whole of a `/proc` file (which reports a size of 0), read until its end.
    static func readAll(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `roots` and every live descendant of them.
    static func tree(from roots: Set<pid_t>) -> [pid_t] {
        var seen = Set<pid_t>()
        var pending = Array(roots)
        while let pid = pending.popLast() {
            guard seen.insert(pid).inserted else { continue }
            pending += children(of: pid)
        }
        return Array(seen)
    }

    /// The children of every thread of `pid`.
    static func children(of pid: pid_t) -> [pid_t] {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return [] }
        return tasks.flatMap { task -> [pid_t] in
            guard let text = readAll("/proc/\(pid)/task/\(task)/children") else { return [] }
            return text.split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }

    /// Where the open descriptors of `pid` point (`socket:[INODE]` for sockets).
    static func descriptors(of pid: pid_t) -> [String] {
        let directory = "/proc/\(pid)/fd"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return entries.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\($0)") }
    }
}
