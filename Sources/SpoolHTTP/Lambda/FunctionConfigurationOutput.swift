import Foundation
import SpoolModel

/// Lambda's `FunctionConfiguration`, as CreateFunction, GetFunctionConfiguration and ListFunctions return it.
struct FunctionConfigurationOutput: Encodable {
    struct Variables: Encodable { var Variables: [String: String] }
    struct Target: Encodable { var TargetArn: String }
    struct Tracing: Encodable { var Mode = "PassThrough" }
    struct Storage: Encodable { var Size = 512 }
    struct SnapStart: Encodable { var ApplyOn = "None"; var OptimizationStatus = "Off" }
    struct Logging: Encodable { var LogFormat: String; var LogGroup: String }
    struct Layer: Encodable { var Arn: String; var CodeSize: Int64 }

    var FunctionName: String
    var FunctionArn: String
    var Runtime: String?
    var Role: String
    var Handler: String?
    var CodeSize: Int64
    var Description: String
    var Timeout: Int
    var MemorySize: Int
    var LastModified: String
    var CodeSha256: String
    var Version = "$LATEST"
    var Environment: Variables?
    var DeadLetterConfig: Target?
    var TracingConfig = Tracing()
    var RevisionId: String
    var State = "Active"
    var LastUpdateStatus = "Successful"
    var PackageType = "Zip"
    var Architectures = [LambdaWire.hostArchitecture]
    var EphemeralStorage = Storage()
    var SnapStart = SnapStart()
    var LoggingConfig: Logging
    var Layers: [Layer]?

    init(_ definition: FunctionDefinition, identity: AWSIdentity) {
        EphemeralStorage = Storage(Size: definition.ephemeralStorageSizeMB)
        FunctionName = AWSIdentity.plainName(definition.name)
        // A version's ARN carries its number; `$LATEST`'s is reported unqualified.
        FunctionArn = identity.functionARN(definition.name) + (definition.version.map { ":" + $0 } ?? "")
        Version = definition.versionName
        Runtime = definition.runtime
        Role = definition.role
        Handler = definition.handler
        CodeSize = definition.codeSize
        Description = definition.description
        Timeout = definition.timeoutSeconds
        MemorySize = definition.memorySizeMB
        LastModified = Self.timestamp(definition.lastModified)
        CodeSha256 = definition.codeSHA256
        Environment = definition.environment.isEmpty ? nil : Variables(Variables: definition.environment)
        DeadLetterConfig = definition.deadLetterTargetARN.map { Target(TargetArn: $0) }
        RevisionId = definition.revisionID
        Layers = definition.layers.map { $0.map { Layer(Arn: "\(identity.layerARN($0.layerName)):\($0.version)", CodeSize: $0.codeSize) } }
        LoggingConfig = Logging(LogFormat: definition.logFormat, LogGroup: "/aws/lambda/\(AWSIdentity.plainName(definition.name))")
    }

    /// `2026-11-27T21:14:55.571+0000`, Lambda's `LastModified` format.
    static func timestamp(_ millis: Millis) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSZ"
        return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }
}

/// GetFunction's answer.
struct GetFunctionOutput: Encodable {
    struct Code: Encodable { var RepositoryType = "S3"; var Location: String }
    struct Concurrency: Encodable { var ReservedConcurrentExecutions: Int }
    var Configuration: FunctionConfigurationOutput
    var Code: Code?
    var Tags: [String: String]?
    var Concurrency: Concurrency?
}

/// ListFunctions' answer.
struct ListFunctionsOutput: Encodable {
    var Functions: [FunctionConfigurationOutput]
    var NextMarker: String?
}
