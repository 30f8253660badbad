import Foundation
import Logging
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// How a node isolates its execution environments, as start-up logs and `/spool/v1/status` report it.
package struct Isolation: Sendable, Equatable, Codable {
    /// `sandbox`: a mount namespace and a cgroup per environment; `none`: plain child processes.
    package var mode: String
    /// `v1` or `v2` in sandbox mode.
    package var cgroup: String?
    /// Why the sandbox is not in force (`none` mode).
    package var reason: String?

    package static func none(_ reason: String) -> Isolation { Isolation(mode: "none", cgroup: nil, reason: reason) }
}

/// `functions.isolation`: what the operator asked for.
public enum IsolationRequest: String, Sendable, CaseIterable {
    /// The sandbox where the host allows it, plain processes (reported, with the reason) where it does not.
    case auto
    /// The sandbox or no start at all.
    case sandbox
    /// Plain processes.
    case none
}

/// The per-environment sandbox: a mount namespace made and held by `spool __sandbox hold` (code read-only at
/// `/var/task`, layers at `/opt`, a private `/tmp` of `EphemeralStorage`), joined by every process of the environment
/// through `spool __sandbox enter`, which also puts it in the environment's cgroup (memory, CPU by memory, pids).
package final class Sandbox: Sendable {
    /// The spool executable, which carries the helper.
    let helper: String
    let cgroups: CgroupHost

    init(helper: String, cgroups: CgroupHost) {
        self.helper = helper
        self.cgroups = cgroups
    }

    /// The sandbox, when `request` wants it and the host allows it; otherwise `nil` and why.
    /// - Parameter helper: the spool executable (`nil` where there is none, as in a test process).
    package static func prepare(_ request: IsolationRequest, helper: String?) async -> (Sandbox?, Isolation) {
        guard request != .none else { return (nil, .none("functions.isolation is none")) }
        guard let helper else { return (nil, .none("no spool executable to run the sandbox helper from")) }
        do {
            let probe = try await Subprocess.run(.path(FilePath(helper)), arguments: ["__sandbox", "probe"],
                                                 output: .string(limit: 4096), error: .string(limit: 4096))
            guard probe.terminationStatus.isSuccess, probe.standardOutput.hasPrefix("ok") else {
                let said = probe.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
                return (nil, .none("this host does not let Spool make mount namespaces (\(said.isEmpty ? "\(probe.terminationStatus)" : said))"))
            }
        } catch {
            return (nil, .none("the sandbox helper could not be run: \(error)"))
        }
        guard let layout = CgroupLayout.current() else {
            return (nil, .none("no cgroup hierarchy with the memory, cpu and pids controllers is mounted"))
        }
        do {
            let host = try CgroupHost(layout: layout)
            return (Sandbox(helper: helper, cgroups: host), Isolation(mode: "sandbox", cgroup: layout.version, reason: nil))
        } catch {
            return (nil, .none("Spool may not make cgroups here: \(error)"))
        }
    }

    /// The installation (the parent of its `bin/`, else its folder) of an interpreter that the private `/tmp` would
    /// hide, as a virtual environment under `/tmp` is: the sandbox shows it at `/var/lang`, where Lambda keeps its
    /// runtimes, and runs the interpreter from there.
    static func relocated(for executable: String) -> String? {
        guard executable.hasPrefix("/tmp/") else { return nil }
        let installation = installationFolder(of: executable)
        return installation == "/tmp" ? nil : installation
    }

    /// What the interpreter's links lead to under `/tmp` outside that installation (a virtual environment made from a
    /// Python installed under `/tmp`): bound back where it is, since it finds its own files there.
    static func kept(for executable: String) -> [String] {
        let resolved = URL(fileURLWithPath: executable).resolvingSymlinksInPath().path
        guard resolved.hasPrefix("/tmp/") else { return [] }
        let installation = installationFolder(of: resolved)
        if let relocated = relocated(for: executable), resolved.hasPrefix(relocated + "/") { return [] }
        return installation == "/tmp" ? [] : [installation]
    }

    private static func installationFolder(of path: String) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        return (folder as NSString).lastPathComponent == "bin" ? (folder as NSString).deletingLastPathComponent : folder
    }

    /// The arguments of `spool __sandbox hold`.
    func holdArguments(code: String, runtime: String, lang: String?, layers: [String], tmpSizeMB: Int, keep: [String]) -> [String] {
        var arguments = ["__sandbox", "hold", "--code", code, "--runtime", runtime, "--tmp-size", "\(tmpSizeMB)"]
        if let lang { arguments += ["--lang", lang] }
        for layer in layers { arguments += ["--layer", layer] }
        for path in keep { arguments += ["--keep", path] }
        return arguments
    }

    /// The arguments of `spool __sandbox enter` that run `executable` in the holder's namespace and `cgroup`.
    func enterArguments(holder: Int32, cgroup: EnvironmentCgroup, executable: String, arguments: [String]) -> [String] {
        var result = ["__sandbox", "enter", "\(holder)"]
        for file in cgroup.procsFiles { result += ["--cgroup", file] }
        return result + ["--cwd", SandboxPaths.task, "--", executable] + arguments
    }
}

/// Where an environment's files are, as its processes see them: the host's own paths without the sandbox, Lambda's
/// inside it.
struct SandboxPaths: Sendable {
    static let task = "/var/task"
    static let runtime = "/var/runtime"
    static let lang = "/var/lang"
    static let layers = "/opt"

    var root: String
    /// The layers' folders in the order they apply (inside the sandbox, one merged `/opt`).
    var layers: [String]
    var runtimeFolder: String
    var temporaryDirectory: String
    /// The interpreter's installation, when the sandbox shows it at `/var/lang` (`Sandbox.relocated(for:)`).
    var interpreter: String?

    /// The host's paths.
    static func host(root: String, layers: [String], runtimeFolder: String, temporaryDirectory: String, interpreter: String? = nil) -> SandboxPaths {
        SandboxPaths(root: root, layers: layers, runtimeFolder: runtimeFolder, temporaryDirectory: temporaryDirectory, interpreter: interpreter)
    }

    /// Lambda's paths.
    static func sandboxed(hasLayers: Bool, relocatedInterpreter: Bool = false) -> SandboxPaths {
        SandboxPaths(root: task, layers: hasLayers ? [layers] : [], runtimeFolder: runtime, temporaryDirectory: "/tmp",
                     interpreter: relocatedInterpreter ? lang : nil)
    }

    /// `path` of the host as seen from these paths: the code folder, a layer's folder or the runtime folder of `host`
    /// become theirs here; any other path stays as it is.
    func translate(_ path: String, from host: SandboxPaths) -> String {
        func under(_ base: String, _ target: String) -> String? {
            if path == base { return target }
            return path.hasPrefix(base + "/") ? target + path.dropFirst(base.count) : nil
        }
        if let moved = under(host.root, root) { return moved }
        if let moved = under(host.runtimeFolder, runtimeFolder) { return moved }
        if let from = host.interpreter, let to = interpreter, let moved = under(from, to) { return moved }
        if let target = layers.first {
            for layer in host.layers { if let moved = under(layer, target) { return moved } }
        }
        return path
    }
}
