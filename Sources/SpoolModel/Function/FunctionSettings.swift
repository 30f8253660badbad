/// The configuration members of CreateFunction and UpdateFunctionConfiguration, each `nil` when the
/// request left it out. Applying them to a definition validates every one as Lambda does.
public struct FunctionSettings: Sendable, Equatable {
    public var runtime: String?
    public var handler: String?
    public var role: String?
    public var description: String?
    public var timeoutSeconds: Int?
    public var memorySizeMB: Int?
    public var environment: [String: String]?
    /// `DeadLetterConfig.TargetArn`; an empty string removes it.
    public var deadLetterTargetARN: String?
    public var logFormat: String?
    /// `Layers`: layer version ARNs, which the registry resolves (an empty list removes every layer).
    public var layerARNs: [String]?
    /// `EphemeralStorage.Size`.
    public var ephemeralStorageMB: Int?

    public init(
        runtime: String? = nil, handler: String? = nil, role: String? = nil, description: String? = nil,
        timeoutSeconds: Int? = nil, memorySizeMB: Int? = nil, environment: [String: String]? = nil,
        deadLetterTargetARN: String? = nil, logFormat: String? = nil, layerARNs: [String]? = nil, ephemeralStorageMB: Int? = nil
    ) {
        self.ephemeralStorageMB = ephemeralStorageMB
        self.layerARNs = layerARNs
        self.runtime = runtime
        self.handler = handler
        self.role = role
        self.description = description
        self.timeoutSeconds = timeoutSeconds
        self.memorySizeMB = memorySizeMB
        self.environment = environment
        self.deadLetterTargetARN = deadLetterTargetARN
        self.logFormat = logFormat
    }

    /// Validates the given members and writes them into `definition`.
    public func apply(to definition: inout FunctionDefinition, identity: AWSIdentity) throws(SpoolError) {
        if let runtime {
            _ = try FunctionRuntime.parse(runtime)
            definition.runtime = runtime
        }
        if let handler {
            guard handler.count <= 128, !handler.isEmpty, !handler.contains(where: \.isWhitespace) else {
                throw SpoolError.validation(field: "handler", value: handler, constraint: "Member must satisfy regular expression pattern: [^\\s]+")
            }
            definition.handler = handler
        }
        if let role {
            guard Self.isRoleARN(role) else {
                throw SpoolError.validation(field: "role", value: role, constraint: "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+")
            }
            definition.role = role
        }
        if let description {
            guard description.count <= FunctionLimits.descriptionLength else {
                throw SpoolError.validation(field: "description", value: description, constraint: "Member must have length less than or equal to 256")
            }
            definition.description = description
        }
        if let timeoutSeconds {
            guard FunctionLimits.timeoutSeconds.contains(timeoutSeconds) else {
                throw SpoolError.validation(field: "timeout", value: "\(timeoutSeconds)", constraint: timeoutSeconds < 1 ? "Member must have value greater than or equal to 1" : "Member must have value less than or equal to 900")
            }
            definition.timeoutSeconds = timeoutSeconds
        }
        if let memorySizeMB {
            guard FunctionLimits.memorySizeMB.contains(memorySizeMB) else {
                throw SpoolError.validation(field: "memorySize", value: "\(memorySizeMB)", constraint: memorySizeMB < 128 ? "Member must have value greater than or equal to 128" : "Member must have value less than or equal to 10240")
            }
            definition.memorySizeMB = memorySizeMB
        }
        if let ephemeralStorageMB {
            guard FunctionLimits.ephemeralStorageMB.contains(ephemeralStorageMB) else {
                throw SpoolError.validation(field: "ephemeralStorage.size", value: "\(ephemeralStorageMB)",
                                            constraint: ephemeralStorageMB < 512 ? "Member must have value greater than or equal to 512" : "Member must have value less than or equal to 10240")
            }
            definition.ephemeralStorageMB = ephemeralStorageMB == 512 ? nil : ephemeralStorageMB
        }
        if let environment {
            try Self.validate(environment: environment)
            definition.environment = environment
        }
        if let deadLetterTargetARN {
            if deadLetterTargetARN.isEmpty {
                definition.deadLetterTargetARN = nil
            } else {
                guard identity.queueName(fromARN: deadLetterTargetARN) != nil else {
                    throw SpoolError(.invalidParameterValue, "The provided target ARN \(deadLetterTargetARN) is invalid: Spool supports SQS queues of this account and region as dead-letter targets.")
                }
                definition.deadLetterTargetARN = deadLetterTargetARN
            }
        }
        if let logFormat {
            guard logFormat == "Text" || logFormat == "JSON" else {
                throw SpoolError.validation(field: "loggingConfig.logFormat", value: logFormat, constraint: "Member must satisfy enum value set: [JSON, Text]")
            }
            definition.logFormat = logFormat
        }
    }

    static func validate(environment: [String: String]) throws(SpoolError) {
        for key in environment.keys {
            let valid = key.count >= 2 && key.first!.isASCII && key.first!.isLetter
                && key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
            guard valid else {
                throw SpoolError.validation(field: "environment.variables", value: key, constraint: "Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+")
            }
            if FunctionLimits.reservedEnvironmentKeys.contains(key) {
                throw SpoolError(.invalidParameterValue, "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: \(key)")
            }
        }
        let size = environment.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        guard size <= FunctionLimits.environmentBytes else {
            throw SpoolError(.invalidParameterValue, "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: \(size) bytes")
        }
    }

    static func isRoleARN(_ text: String) -> Bool {
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[1].hasPrefix("aws"), parts[2] == "iam", parts[3].isEmpty,
              parts[4].count == 12, parts[4].allSatisfy(\.isNumber), parts[5].hasPrefix("role")
        else { return false }
        let rest = parts[5].dropFirst("role".count)
        return rest.count > 1 && rest.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "+=,.@-_/".contains($0)) }
    }
}
