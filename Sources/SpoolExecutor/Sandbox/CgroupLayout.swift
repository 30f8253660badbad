import Foundation

/// Where this process's cgroups are, for the controllers an environment's limits need (memory, cpu, pids): one
/// unified (v2) hierarchy, or one v1 hierarchy per controller. Read from `/proc/self/mountinfo` and `/proc/self/cgroup`.
package enum CgroupLayout: Sendable, Equatable {
    /// cgroup v2: the folder of this process's own cgroup.
    case v2(own: String)
    /// cgroup v1: this process's own cgroup folder in each controller's hierarchy.
    case v1(memory: String, cpu: String, pids: String)

    /// `v1` or `v2`, as status reports it.
    package var version: String {
        switch self {
        case .v2: return "v2"
        case .v1: return "v1"
        }
    }

    /// The layout of the running process; `nil` when memory, cpu or pids is not mounted anywhere it can use.
    package static func current() -> CgroupLayout? {
        guard let mountinfo = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8),
              let cgroups = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)
        else { return nil }
        return parse(mountinfo: mountinfo, cgroups: cgroups)
    }

    /// The layout `mountinfo` and `cgroups` describe. A v1 hierarchy holding the memory controller wins over a v2 one
    /// (on a hybrid host, v2 then has no controllers of its own).
    package static func parse(mountinfo: String, cgroups: String) -> CgroupLayout? {
        struct Mount { var root: String; var point: String; var type: String; var options: Set<String> }
        var mounts: [Mount] = []
        for line in mountinfo.split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let before = halves[0].split(separator: " ").map(String.init)
            let after = halves[1].split(separator: " ").map(String.init)
            guard before.count >= 5, after.count >= 3 else { continue }
            mounts.append(Mount(root: before[3], point: before[4], type: after[0], options: Set(after[2].split(separator: ",").map(String.init))))
        }
        // `HIERARCHY:CONTROLLERS:PATH`; v2's line is `0::PATH`.
        var v1Paths: [String: String] = [:]
        var v2Path: String?
        for line in cgroups.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3 else { continue }
            if parts[0] == "0", parts[1].isEmpty { v2Path = parts[2] }
            for controller in parts[1].split(separator: ",") { v1Paths[String(controller)] = parts[2] }
        }
        func folder(_ mount: Mount, _ path: String) -> String {
            // A mount of part of the hierarchy (a container's) shows that part at its mount point.
            let relative = mount.root != "/" && path.hasPrefix(mount.root) ? String(path.dropFirst(mount.root.count)) : path
            let trimmed = relative.drop(while: { $0 == "/" })
            return trimmed.isEmpty ? mount.point : "\(mount.point)/\(trimmed)"
        }
        func v1Folder(_ controller: String) -> String? {
            guard let mount = mounts.first(where: { $0.type == "cgroup" && $0.options.contains(controller) }) else { return nil }
            return folder(mount, v1Paths[controller] ?? "/")
        }
        if let memory = v1Folder("memory"), let cpu = v1Folder("cpu"), let pids = v1Folder("pids") {
            return .v1(memory: memory, cpu: cpu, pids: pids)
        }
        if let mount = mounts.first(where: { $0.type == "cgroup2" }), let v2Path {
            return .v2(own: folder(mount, v2Path))
        }
        return nil
    }
}
