import Foundation
import NIOCore
import SpoolSignals
import Synchronization

/// Who may speak to an environment's Runtime API: the processes of that environment (its runtime and extensions, and
/// their descendants), and nobody else on the machine.
///
/// A Runtime API client sends no credential (awslambdaric and `bootstrap` scripts know only `AWS_LAMBDA_RUNTIME_API`), so
/// the connection itself is identified: its client socket is found in `/proc/net/tcp` by its two loopback ports, and its
/// inode among the open descriptors (`/proc/PID/fd`) of the environment's process tree (`/proc/PID/task/TID/children`,
/// from the runtime's and each extension's pid). The verdict is kept for the connection's life, so a runtime that
/// keeps its connection open pays once; one that opens a connection per request (curl in a `bootstrap`) pays a few
/// hundred microseconds each time. Linux only; a process that leaves the tree (a daemon reparented to init) is refused.
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
        guard let table = Self.readAll("/proc/net/tcp"),
              let inode = Self.socketInode(in: table, localPort: clientPort, remotePort: serverPort)
        else { return false }
        let roots = state.withLock { $0.roots }
        let link = "socket:[\(inode)]"
        for pid in Self.tree(from: roots) where Self.descriptors(of: pid).contains(link) { return true }
        return false
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
