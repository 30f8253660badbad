/// How a function's code is started, derived from its `Runtime`.
public enum FunctionRuntime: Sendable, Equatable {
    /// `python3.x`: `python3 -m awslambdaric HANDLER` in the code directory.
    case python(String)
    /// `provided`, `provided.al2`, `provided.al2023`: the package's own `bootstrap` executable.
    case provided(String)
    /// `nodejs18.x` and later: Spool's own Node.js runtime client under the host's Node.js of that major version.
    case node(String)

    /// The `Runtime` value as the API reports it.
    public var identifier: String {
        switch self {
        case .python(let name), .provided(let name), .node(let name): return name
        }
    }

    /// The runtimes Spool can start.
    public static let supported = ["python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14",
                                   "provided", "provided.al2", "provided.al2023", "nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x"]

    /// The Node.js major version a `nodejsNN.x` runtime names (`nil` for any other runtime).
    public static func nodeMajor(of runtime: String) -> Int? {
        guard runtime.hasPrefix("nodejs"), runtime.hasSuffix(".x") else { return nil }
        return Int(runtime.dropFirst("nodejs".count).dropLast(2))
    }

    /// Every value of Lambda's `Runtime` enum; other strings fail validation before support is considered.
    public static let known = [
        "nodejs", "nodejs4.3", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x", "nodejs14.x", "nodejs16.x", "java8", "java8.al2",
        "java11", "python2.7", "python3.6", "python3.7", "python3.8", "python3.9", "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1",
        "dotnetcore3.1", "dotnet6", "dotnet8", "nodejs4.3-edge", "go1.x", "ruby2.5", "ruby2.7", "provided", "provided.al2", "nodejs18.x",
        "python3.10", "java17", "ruby3.2", "ruby3.3", "ruby3.4", "python3.11", "nodejs20.x", "provided.al2023", "python3.12", "java21",
        "python3.13", "nodejs22.x", "nodejs24.x", "python3.14", "java25", "dotnet10", "ruby4.0",
    ]

    /// Parses a `Runtime`, rejecting unknown values as AWS's validator does and known ones Spool cannot start yet.
    public static func parse(_ text: String) throws(SpoolError) -> FunctionRuntime {
        // A Node.js identifier newer than this list (`nodejs26.x`) is one Lambda added since: it runs like the others.
        let newerNode = nodeMajor(of: text).map { $0 >= 18 } ?? false
        guard known.contains(text) || newerNode else {
            throw SpoolError.validation(field: "runtime", value: text, constraint: "Member must satisfy enum value set: [\(known.joined(separator: ", "))]")
        }
        guard supported.contains(text) || newerNode else {
            throw SpoolError(.invalidParameterValue, "The runtime parameter of \(text) is not supported by Spool yet. Supported runtimes: \(supported.joined(separator: ", ")).")
        }
        if text.hasPrefix("python") { return .python(text) }
        return nodeMajor(of: text) != nil ? .node(text) : .provided(text)
    }
}
