import Foundation

/// How much of the machine an environment may use, as Lambda allots it by `MemorySize`.
package struct EnvironmentLimits: Sendable, Equatable {
    package var memoryMB: Int
    /// The CPU time per period, in vCPUs: `MemorySize / 1769` (Lambda gives one full vCPU at 1,769 MB and grows it in
    /// proportion, to 5.79 at 10,240 MB; its six cores at that size are the host's shared cores here).
    package var vcpus: Double
    /// Lambda's limit on an environment's processes and threads.
    package var pids = 1024

    package init(memoryMB: Int) {
        self.memoryMB = memoryMB
        self.vcpus = Self.vcpus(memoryMB: memoryMB)
    }

    package static func vcpus(memoryMB: Int) -> Double {
        min(6, Double(memoryMB) / 1769)
    }

    /// The CFS period, 100 ms, and the quota within it.
    package static let periodMicroseconds = 100_000
    package var quotaMicroseconds: Int { max(1_000, Int((vcpus * Double(Self.periodMicroseconds)).rounded())) }
}

/// One environment's cgroup (one folder per v1 controller, or one v2 folder): its processes join it before they run,
/// it holds the memory, CPU and pids limits, and it tells how much memory they used and whether the kernel killed one
/// for going over.
package final class EnvironmentCgroup: Sendable {
    package let layout: CgroupLayout
    /// The folders, one per hierarchy (v1: memory, cpu, pids).
    package let folders: [String]
    package let limits: EnvironmentLimits

    init(layout: CgroupLayout, folders: [String], limits: EnvironmentLimits) {
        self.layout = layout
        self.folders = folders
        self.limits = limits
    }

    /// The `cgroup.procs` files a process writes its pid to, to join.
    package var procsFiles: [String] { folders.map { ($0 as NSString).appendingPathComponent("cgroup.procs") } }

    private func file(_ name: String, in index: Int = 0) -> String {
        (folders[index] as NSString).appendingPathComponent(name)
    }

    /// Memory and pids limits; the CPU stays unlimited until `limitCPU` (Lambda runs init with boosted CPU).
    func applyInitialLimits() throws {
        let bytes = limits.memoryMB * 1_048_576
        switch layout {
        case .v2:
            try Self.write("\(bytes)", to: file("memory.max"))
            try? Self.write("0", to: file("memory.swap.max"))
            try Self.write("\(limits.pids)", to: file("pids.max"))
            try Self.write("max \(EnvironmentLimits.periodMicroseconds)", to: file("cpu.max"))
        case .v1:
            try Self.write("\(bytes)", to: file("memory.limit_in_bytes", in: 0))
            // Without swap accounting the file is absent; with it, memory may not move to swap past the limit.
            try? Self.write("\(bytes)", to: file("memory.memsw.limit_in_bytes", in: 0))
            try Self.write("\(limits.pids)", to: file("pids.max", in: 2))
            try Self.write("\(EnvironmentLimits.periodMicroseconds)", to: file("cpu.cfs_period_us", in: 1))
            try Self.write("-1", to: file("cpu.cfs_quota_us", in: 1))
        }
    }

    /// The CPU share by memory, from the first invocation on.
    func limitCPU() throws {
        switch layout {
        case .v2:
            try Self.write("\(limits.quotaMicroseconds) \(EnvironmentLimits.periodMicroseconds)", to: file("cpu.max"))
            try? Self.write("\(max(1, min(10_000, Int(limits.vcpus * 100))))", to: file("cpu.weight"))
        case .v1:
            try Self.write("\(limits.quotaMicroseconds)", to: file("cpu.cfs_quota_us", in: 1))
            try? Self.write("\(max(2, Int(limits.vcpus * 1024)))", to: file("cpu.shares", in: 1))
        }
    }

    /// The most memory the environment's processes held at once, in MB (page cache included, as the limit counts it).
    package var peakMemoryMB: Int? {
        let names: [String]
        switch layout {
        case .v2: names = ["memory.peak", "memory.current"]
        case .v1: names = ["memory.max_usage_in_bytes"]
        }
        for name in names {
            if let text = try? String(contentsOfFile: file(name), encoding: .utf8), let bytes = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return (bytes + 1_048_575) / 1_048_576
            }
        }
        return nil
    }

    /// How many processes the kernel killed for going over the memory limit.
    package var outOfMemoryKills: Int {
        let name: String
        switch layout {
        case .v2: name = "memory.events"
        case .v1: name = "memory.oom_control"
        }
        guard let text = try? String(contentsOfFile: file(name), encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return Int(line.dropFirst("oom_kill ".count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return 0
    }

    /// Removes the folders once their processes have ended (the kernel refuses while any remain).
    func remove() async {
        for _ in 0..<50 {
            let left = folders.filter { rmdir($0) != 0 && errno != ENOENT }
            if left.isEmpty { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    static func write(_ value: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CgroupError(path: path, errno: errno) }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        guard Foundation.write(fd, bytes, bytes.count) == bytes.count else { throw CgroupError(path: path, errno: errno) }
    }
}

/// A cgroup file that could not be written.
package struct CgroupError: Error, CustomStringConvertible {
    var path: String
    var errno: Int32
    package var description: String { "cannot write \(path): \(String(cString: strerror(errno)))" }
}
