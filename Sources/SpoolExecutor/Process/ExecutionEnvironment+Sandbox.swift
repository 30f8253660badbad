import Foundation
import Logging
import SpoolModel

/// The environment's filesystem and limits: a sandbox (mount namespace, cgroup) where the node has one, a temporary
/// folder of its own otherwise.
extension ExecutionEnvironment {
    /// Makes the environment's `/tmp`: a private tmpfs in a mount namespace of its own, held by `spool __sandbox hold`,
    /// with the environment's cgroup, when the node has the sandbox; a folder under `temporaryRoot` otherwise. Sets
    /// `paths`, which it returns: where the environment's files are on the host and as its processes see them.
    func prepareFilesystem() async throws -> EnvironmentPaths {
        let root = function.codeDirectory ?? "/nonexistent"
        let layers = (function.layers ?? []).compactMap(\.directory)
        guard let sandbox = settings.sandbox else {
            let tmp = (settings.temporaryRoot as NSString).appendingPathComponent("spool-env-\(getpid())-\(id)-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
            temporaryDirectory = tmp
            let host = SandboxPaths.host(root: root, layers: layers, runtimeFolder: settings.runtimeFolder, temporaryDirectory: tmp)
            paths = EnvironmentPaths(host: host, inside: host)
            return paths!
        }
        // Bound at /var/runtime before any runtime client is written into it.
        try FileManager.default.createDirectory(atPath: settings.runtimeFolder, withIntermediateDirectories: true)
        cgroup = try sandbox.cgroups.makeEnvironment(id: id, limits: EnvironmentLimits(memoryMB: function.memorySizeMB))
        let interpreter = RuntimeCommand.interpreter(for: function, settings: settings)
        let host = SandboxPaths.host(root: root, layers: layers, runtimeFolder: settings.runtimeFolder, temporaryDirectory: settings.temporaryRoot,
                                     interpreter: interpreter.flatMap(Sandbox.relocated(for:)))
        let keep = interpreter.map(Sandbox.kept(for:)) ?? []
        let arguments = sandbox.holdArguments(code: host.root, runtime: host.runtimeFolder, lang: host.interpreter, layers: host.layers,
                                              tmpSizeMB: function.ephemeralStorageSizeMB, keep: keep)
        let lines = LineCollector()
        let child = await ChildProcess.spawn(name: "sandbox", executable: sandbox.helper, arguments: arguments, environment: [:],
                                             workingDirectory: "/", guard: OrphanGuard(directory: settings.stateDirectory),
                                             onLine: { lines.append($0) })
        holder = child
        let deadline = ContinuousClock.now + settings.initTimeout
        while !lines.lines.contains("ready") {
            if child.exit != nil || ContinuousClock.now >= deadline {
                throw SandboxFailure(message: lines.lines.filter { $0 != "ready" }.joined(separator: "; "), exit: child.exit)
            }
            try? await Task.sleep(for: .milliseconds(2))
        }
        paths = EnvironmentPaths(host: host, inside: .sandboxed(hasLayers: !layers.isEmpty, relocatedInterpreter: host.interpreter != nil))
        return paths!
    }

    /// Whether the node has the sandbox but this environment's namespace holder is gone: nothing may then start
    /// outside it (that would be a weaker isolation than the node reports).
    var sandboxLost: Bool { settings.sandbox != nil && holder?.pid == nil }

    func lostSandbox() -> InitResult {
        fail(.systemFailure(.spawnFailed), type: "Runtime.Unknown", message: "Error: the environment's sandbox ended before its processes started")
    }

    /// `executable arguments` as the environment starts it: through `spool __sandbox enter` into the namespace and the
    /// cgroup, with the host's paths turned into the sandbox's.
    func launchCommand(_ executable: String, _ arguments: [String]) -> (executable: String, arguments: [String]) {
        guard let sandbox = settings.sandbox, let holder, let pid = holder.pid, let cgroup, let paths else { return (executable, arguments) }
        return (sandbox.helper, sandbox.enterArguments(holder: pid, cgroup: cgroup, executable: paths.translated(executable),
                                                       arguments: arguments.map(paths.translated)))
    }

    /// Ends the namespace and removes the cgroup, once the environment's processes are gone.
    func releaseSandbox() async {
        if let holder {
            holder.signal(SIGKILL)
            _ = await holder.exited()
        }
        await cgroup?.remove()
    }
}

/// Where an environment's files are on the host and as its processes see them (the same without the sandbox).
struct EnvironmentPaths: Sendable {
    var host: SandboxPaths
    var inside: SandboxPaths

    /// A host path as the environment's processes see it.
    func translated(_ path: String) -> String { inside.translate(path, from: host) }
}

/// Why the sandbox of an environment could not be made.
struct SandboxFailure: Error, CustomStringConvertible {
    var message: String
    var exit: ChildProcess.Exit?
    var description: String {
        "the sandbox could not be made: \(message.isEmpty ? exit.map { "\($0)" } ?? "it did not become ready in time" : message)"
    }
}
