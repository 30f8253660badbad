import Foundation
import NIOCore
import SpoolExecutor
import SpoolModel

/// A function's code directory in a temporary folder, and its definition.
struct FunctionFixture {
    let directory: String
    var definition: FunctionDefinition

    /// A Python function whose `app.py` is `source`, handler `app.handler`.
    static func python(_ source: String, name: String = "py", timeout: Int = 3, memory: Int = 128, files: [String: String] = [:]) throws -> FunctionFixture {
        try make(name: name, runtime: "python3.11", handler: "app.handler", files: ["app.py": source].merging(files) { $1 }, timeout: timeout, memory: memory)
    }

    /// A `provided` function whose `bootstrap` is the given shell script.
    static func bootstrap(_ script: String, name: String = "sh", timeout: Int = 3, files: [String: String] = [:]) throws -> FunctionFixture {
        try make(name: name, runtime: "provided.al2023", handler: "handler", files: ["bootstrap": script].merging(files) { $1 }, timeout: timeout, memory: 128)
    }

    static func make(name: String, runtime: String, handler: String, files: [String: String], timeout: Int, memory: Int) throws -> FunctionFixture {
        let directory = NSTemporaryDirectory() + "spool-fn-\(UUID().uuidString)"
        for (path, contents) in files {
            let full = (directory as NSString).appendingPathComponent(path)
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try contents.write(toFile: full, atomically: true, encoding: .utf8)
            if path == "bootstrap" || path.hasPrefix("extensions/") {
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: full)
            }
        }
        let definition = FunctionDefinition(
            name: name, executor: .process, runtime: runtime, handler: handler, timeoutSeconds: timeout, memorySizeMB: memory,
            codeDirectory: directory, revisionID: UUID().uuidString, lastModified: WallClock().now()
        )
        return FunctionFixture(directory: directory, definition: definition)
    }

    /// A request whose caller reads the log (`LogType: Tail`), as these tests do.
    func request(_ payload: String = "{}", id: String = UUID().uuidString.lowercased(), logTail: Bool = true) -> InvocationRequest {
        InvocationRequest(requestID: id, function: definition, invokedFunctionARN: AWSIdentity().functionARN(definition.name),
                          payload: ByteBuffer(string: payload), logTail: logTail)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

extension InvocationOutcome {
    var text: String { String(buffer: payload) }
}

/// Settings for tests: short grace and idle times.
func testSettings(idle: Duration = .seconds(60)) -> ProcessExecutorSettings {
    var settings = ProcessExecutorSettings()
    settings.idleTimeout = idle
    settings.shutdownGrace = .milliseconds(500)
    settings.initTimeout = .seconds(10)
    return settings
}

/// True while a process with this id exists (and is not a zombie).
func processExists(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(after: close)...].drop(while: { $0 == " " }).first
    return state != "Z" && state != "X"
}
