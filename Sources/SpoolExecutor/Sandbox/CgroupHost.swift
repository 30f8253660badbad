import Foundation

/// The cgroups Spool makes for its environments: `spool-PID` below this process's own cgroup in each hierarchy, one
/// `env-N` folder per environment below that.
package final class CgroupHost: Sendable {
    package let layout: CgroupLayout
    /// The `spool-PID` folders, one per hierarchy.
    let bases: [String]

    /// Prepares the folders; throws when this process may not make cgroups or cannot get the controllers delegated.
    package init(layout: CgroupLayout, processID: Int32 = getpid()) throws {
        self.layout = layout
        let name = "spool-\(processID)"
        switch layout {
        case .v1(let memory, let cpu, let pids):
            bases = [memory, cpu, pids].map { ($0 as NSString).appendingPathComponent(name) }
            for base in bases {
                Self.removeStale(besides: base)
                try Self.makeFolder(base)
            }
        case .v2(let own):
            try Self.delegate(own: own)
            let base = (own as NSString).appendingPathComponent(name)
            Self.removeStale(besides: base)
            try Self.makeFolder(base)
            try EnvironmentCgroup.write("+memory +cpu +pids", to: (base as NSString).appendingPathComponent("cgroup.subtree_control"))
            bases = [base]
        }
    }

    /// A new environment's cgroup with its memory and pids limits applied.
    func makeEnvironment(id: Int, limits: EnvironmentLimits) throws -> EnvironmentCgroup {
        let folders = bases.map { ($0 as NSString).appendingPathComponent("env-\(id)") }
        for folder in folders { try Self.makeFolder(folder) }
        let group = EnvironmentCgroup(layout: layout, folders: folders, limits: limits)
        do {
            try group.applyInitialLimits()
        } catch {
            for folder in folders { rmdir(folder) }
            throw error
        }
        return group
    }

    /// Removes the `spool-PID` folders, at shutdown, once every environment's own is gone.
    package func removeAll() {
        for base in bases { rmdir(base) }
    }

    /// Removes what Spools killed before they could clean up left beside `base`: `spool-PID` folders of processes
    /// that are gone, with their environments' folders (the kernel refuses a folder that still holds a process).
    static func removeStale(besides base: String) {
        let parent = (base as NSString).deletingLastPathComponent
        for name in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] where name.hasPrefix("spool-") && name != "spool-service" {
            let stale = (parent as NSString).appendingPathComponent(name)
            guard stale != base, let pid = Int32(name.dropFirst("spool-".count)), kill(pid, 0) != 0 else { continue }
            for child in (try? FileManager.default.contentsOfDirectory(atPath: stale)) ?? [] where child.hasPrefix("env-") {
                rmdir((stale as NSString).appendingPathComponent(child))
            }
            rmdir(stale)
        }
    }

    /// cgroup v2 lets a cgroup hand controllers to its children only while it holds no process itself (the root cgroup
    /// excepted): Spool moves itself into a `spool-service` leaf of its own cgroup first, as a delegated service does.
    static func delegate(own: String) throws {
        let wanted = ["memory", "cpu", "pids"]
        let available = (try? String(contentsOfFile: (own as NSString).appendingPathComponent("cgroup.controllers"), encoding: .utf8)) ?? ""
        let missing = wanted.filter { !available.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.contains($0) }
        guard missing.isEmpty else {
            throw CgroupError(path: (own as NSString).appendingPathComponent("cgroup.controllers") + " (no \(missing.joined(separator: ", ")) controller delegated)", errno: EPERM)
        }
        let subtree = (own as NSString).appendingPathComponent("cgroup.subtree_control")
        let enabled = (try? String(contentsOfFile: subtree, encoding: .utf8)) ?? ""
        if wanted.allSatisfy({ enabled.contains($0) }) { return }
        let procs = (try? String(contentsOfFile: (own as NSString).appendingPathComponent("cgroup.procs"), encoding: .utf8)) ?? ""
        if !procs.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            let leaf = (own as NSString).appendingPathComponent("spool-service")
            try makeFolder(leaf)
            try EnvironmentCgroup.write("\(getpid())", to: (leaf as NSString).appendingPathComponent("cgroup.procs"))
        }
        try EnvironmentCgroup.write(wanted.map { "+\($0)" }.joined(separator: " "), to: subtree)
    }

    static func makeFolder(_ path: String) throws {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw CgroupError(path: path, errno: errno) }
    }
}
