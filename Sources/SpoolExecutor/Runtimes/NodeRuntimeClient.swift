import Foundation
import SpoolModel
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif
import Synchronization

/// Spool's Node.js runtime client (`node-runtime.mjs`, embedded in the binary): written once per process into the
/// runtime folder, where every Node.js environment runs it as `node FOLDER/node/index.mjs`.
enum NodeRuntimeClient {
    private static let written = Mutex<[String: String]>([:])

    /// The client's path under `folder`, written there if this process has not yet done so (an earlier Spool's copy
    /// is replaced: it may be another version's).
    static func installed(in folder: String) throws -> String {
        if let path = written.withLock({ $0[folder] }) { return path }
        let directory = (folder as NSString).appendingPathComponent("node")
        let path = (directory as NSString).appendingPathComponent("index.mjs")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let source = Data(PackageResources.node_runtime_mjs)
        if FileManager.default.contents(atPath: path) != source {
            let staged = path + ".\(getpid()).tmp"
            try source.write(to: URL(fileURLWithPath: staged))
            guard rename(staged, path) == 0 else { throw CocoaError(.fileWriteUnknown) }
        }
        written.withLock { $0[folder] = path }
        return path
    }
}

extension ProcessExecutorSettings {
    /// `runtimeDirectory`, or a folder of this process under `temporaryRoot`.
    var runtimeFolder: String {
        runtimeDirectory ?? (temporaryRoot as NSString).appendingPathComponent("spool-runtime-\(getpid())")
    }
}

extension NodeInstallations {
    /// Runs `--version` of the configured executable and of every mapped one.
    package static func detect(node: String, mapped: [String: String]) async -> NodeInstallations {
        var versions: [String: String?] = [:]
        for executable in Set([node] + mapped.values) { versions[executable] = await version(of: executable) }
        return NodeInstallations(configured: Installation(executable: node, version: versions[node] ?? nil),
                                 mapped: mapped.mapValues { Installation(executable: $0, version: versions[$0] ?? nil) })
    }

    /// `v20.11.1`, or `nil` when the executable cannot be run.
    private static func version(of executable: String) async -> String? {
        let path = executable.contains("/") ? executable : RuntimeCommand.which(executable)
        guard let path,
              let result = try? await Subprocess.run(.path(FilePath(path)), arguments: ["--version"], output: .string(limit: 256), error: .discarded),
              result.terminationStatus.isSuccess, case let text = result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines), text.hasPrefix("v")
        else { return nil }
        return text
    }
}
