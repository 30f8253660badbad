/// The Node.js installations that run `nodejsNN.x` functions: the configured `functions.node` for runtimes of its
/// major version, and whatever the operator mapped in `functions.nodeVersions` (a runtime to an executable, which is
/// then used whatever its version).
public struct NodeInstallations: Sendable, Equatable {
    /// One Node.js executable and the major version it reported (`node --version`); `nil` when it could not be run.
    public struct Installation: Sendable, Equatable {
        public var executable: String
        public var major: Int?
        public var version: String?

        public init(executable: String, version: String?) {
            self.executable = executable
            self.version = version
            self.major = version.flatMap { Int($0.drop(while: { $0 == "v" }).prefix(while: \.isASCIIDigit)) }
        }
    }

    /// `functions.node`.
    public var configured: Installation?
    /// `functions.nodeVersions`, by runtime identifier.
    public var mapped: [String: Installation]

    public init(configured: Installation? = nil, mapped: [String: Installation] = [:]) {
        self.configured = configured
        self.mapped = mapped
    }

    /// The executable that runs `runtime`, or the reason there is none, as CreateFunction refuses it.
    public func executable(for runtime: String) throws(SpoolError) -> String {
        guard let major = FunctionRuntime.nodeMajor(of: runtime) else {
            throw SpoolError(.invalidParameterValue, "\(runtime) is not a Node.js runtime.")
        }
        if let mapped = mapped[runtime] {
            guard mapped.version != nil else {
                throw SpoolError(.invalidParameterValue, "The runtime \(runtime) is mapped to \(mapped.executable) (functions.nodeVersions), which could not be run.")
            }
            return mapped.executable
        }
        guard let configured, let found = configured.major else {
            let name = configured?.executable ?? "node"
            throw SpoolError(.invalidParameterValue, "The runtime \(runtime) needs Node.js \(major), and this Spool has no Node.js: '\(name)' (functions.node) could not be run. "
                + "Install Node.js \(major) and set functions.node, or map \(runtime) to an installation with functions.nodeVersions.")
        }
        guard found == major else {
            throw SpoolError(.invalidParameterValue, "The runtime \(runtime) needs Node.js \(major), but this Spool's Node.js (\(configured.executable)) is \(configured.version ?? "of another version"). "
                + "Use nodejs\(found).x, or map \(runtime) to an installation with functions.nodeVersions.")
        }
        return configured.executable
    }
}
