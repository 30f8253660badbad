import Foundation
import SpoolModel

/// The environment a runtime and its extensions start with, as Lambda sets it (reference §7.3).
enum EnvironmentVariables {
    /// Variables Lambda does not give extensions.
    static let hiddenFromExtensions: Set<String> = [
        "AWS_EXECUTION_ENV", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_XRAY_CONTEXT_MISSING",
        "AWS_XRAY_DAEMON_ADDRESS", "LAMBDA_RUNTIME_DIR", "LAMBDA_TASK_ROOT", "_AWS_XRAY_DAEMON_ADDRESS", "_AWS_XRAY_DAEMON_PORT", "_HANDLER",
    ]

    /// - Parameter paths: where the code, layers, runtime clients and `/tmp` are as the environment's processes see them.
    static func runtime(for function: FunctionDefinition, address: String, paths: SandboxPaths, provisioned: Bool,
                        settings: ProcessExecutorSettings) -> [String: String] {
        let inherited = ProcessInfo.processInfo.environment
        let root = paths.root
        let temporaryDirectory = paths.temporaryDirectory
        // The function's own region and name: a function of another region than the home one is stored as `REGION/NAME`.
        let region = settings.identity.region(of: function.name)
        let name = AWSIdentity.plainName(function.name)
        var variables: [String: String] = [
            "PATH": inherited["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "HOME": inherited["HOME"] ?? temporaryDirectory,
            "TMPDIR": temporaryDirectory,
            "AWS_LAMBDA_RUNTIME_API": address,
            "_HANDLER": function.handler ?? "",
            "LAMBDA_TASK_ROOT": root,
            "LAMBDA_RUNTIME_DIR": root,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": function.versionName,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "\(function.memorySizeMB)",
            "AWS_LAMBDA_INITIALIZATION_TYPE": provisioned ? "provisioned-concurrency" : "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/\(name)",
            "AWS_LAMBDA_LOG_STREAM_NAME": logStreamName(version: function.versionName),
            "AWS_LAMBDA_LOG_FORMAT": function.logFormat,
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            // Placeholder credentials, so that SDK clients inside the function can build requests. Never the service's own
            // (its environment may hold real AWS keys or SPOOL_AUTH_CREDENTIALS): a function that must sign requests to a
            // Spool with credentials gets a key through its own Environment.Variables.
            "AWS_ACCESS_KEY_ID": "spool",
            "AWS_SECRET_ACCESS_KEY": "spool",
        ]
        // Layers: Lambda extracts them over one another into /opt, as the sandbox merges them there; without the sandbox
        // each stays in its own folder, on the search paths the runtime reads, the last applied first (what it would
        // have overwritten in /opt).
        let layers = paths.layers.reversed()
        func joined(_ parts: [String], _ existing: String?) -> String { (parts + [existing].compactMap { $0 }.filter { !$0.isEmpty }).joined(separator: ":") }
        if !layers.isEmpty {
            variables["PATH"] = joined(layers.map { "\($0)/bin" }, variables["PATH"])
            variables["LD_LIBRARY_PATH"] = joined(layers.map { "\($0)/lib" }, inherited["LD_LIBRARY_PATH"])
        }
        if let runtime = function.runtime, runtime.hasPrefix("python") {
            variables["AWS_EXECUTION_ENV"] = "AWS_Lambda_\(runtime)"
            variables["PYTHONPATH"] = joined([root] + layers.flatMap { ["\($0)/python/lib/\(runtime)/site-packages", "\($0)/python"] }, nil)
            variables["PYTHONUNBUFFERED"] = "1"
        }
        if let runtime = function.runtime, let major = FunctionRuntime.nodeMajor(of: runtime) {
            variables["AWS_EXECUTION_ENV"] = "AWS_Lambda_\(runtime)"
            // Lambda's NODE_PATH: /opt/nodejs/nodeNN/node_modules, /opt/nodejs/node_modules, the runtime's, /var/task.
            let layerModules = layers.flatMap { ["\($0)/nodejs/node\(major)/node_modules", "\($0)/nodejs/node_modules"] }
            variables["NODE_PATH"] = joined(layerModules + ["\(paths.runtimeFolder)/node/node_modules", paths.runtimeFolder, root], nil)
        }
        for (key, value) in function.environment { variables[key] = value }
        return variables
    }

    static func extensionVariables(from runtime: [String: String]) -> [String: String] {
        runtime.filter { !hiddenFromExtensions.contains($0.key) }
    }

    /// `YYYY/MM/DD/[VERSION]` and a random hex id, as Lambda names log streams.
    static func logStreamName(version: String = "$LATEST") -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy/MM/dd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        let hex = String((0..<32).map { _ in "0123456789abcdef".randomElement()! })
        return "\(formatter.string(from: Date()))/[\(version)]\(hex)"
    }
}

/// The command that starts a function's runtime.
struct RuntimeCommand {
    var executable: String
    var arguments: [String]

    /// `python3 -m awslambdaric HANDLER` for Python, `node CLIENT` (Spool's Node.js runtime client) for Node.js, the
    /// package's `bootstrap` for `provided`; `nil` if there is none.
    static func make(for function: FunctionDefinition, settings: ProcessExecutorSettings) -> RuntimeCommand? {
        guard let root = function.codeDirectory, let runtime = function.runtime else { return nil }
        if FunctionRuntime.nodeMajor(of: runtime) != nil {
            guard let node = interpreter(for: function, settings: settings),
                  let client = try? NodeRuntimeClient.installed(in: settings.runtimeFolder)
            else { return nil }
            return RuntimeCommand(executable: node, arguments: [client])
        }
        if runtime.hasPrefix("python") {
            guard let python = interpreter(for: function, settings: settings) else { return nil }
            return RuntimeCommand(executable: python, arguments: ["-m", "awslambdaric", function.handler ?? ""])
        }
        let bootstrap = (root as NSString).appendingPathComponent("bootstrap")
        guard FileManager.default.fileExists(atPath: bootstrap) else { return nil }
        return RuntimeCommand(executable: bootstrap, arguments: [])
    }

    /// The interpreter a Python or Node.js function runs under (`nil` for `provided`).
    static func interpreter(for function: FunctionDefinition, settings: ProcessExecutorSettings) -> String? {
        guard let runtime = function.runtime else { return nil }
        let name: String?
        if runtime.hasPrefix("python") { name = settings.pythonExecutable } else if FunctionRuntime.nodeMajor(of: runtime) != nil {
            name = try? settings.node.executable(for: runtime)
        } else { name = nil }
        guard let name else { return nil }
        return name.contains("/") ? name : which(name)
    }

    /// Finds a program on `PATH`.
    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":") {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
