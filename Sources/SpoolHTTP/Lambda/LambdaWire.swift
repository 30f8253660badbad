import Foundation
import SpoolModel

/// Request and response bodies of the Lambda function API, member names as botocore sends and reads them.
enum LambdaWire {
    /// Any JSON value; only its presence matters (members Spool does not support yet).
    struct Present: Decodable {
        init(from decoder: any Decoder) throws {}
    }

    struct EnvironmentInput: Decodable { var Variables: [String: String]? }
    struct DeadLetterInput: Decodable { var TargetArn: String? }
    struct TracingInput: Decodable { var Mode: String? }
    struct VpcInput: Decodable { var SubnetIds: [String]?; var SecurityGroupIds: [String]?; var Ipv6AllowedForDualStack: Bool? }
    struct EphemeralStorageInput: Decodable { var Size: Int? }
    struct SnapStartInput: Decodable { var ApplyOn: String? }
    struct LoggingInput: Decodable { var LogFormat: String?; var ApplicationLogLevel: String?; var SystemLogLevel: String?; var LogGroup: String? }
    struct CodeInput: Decodable {
        var ZipFile: String?
        var S3Bucket: String?
        var S3Key: String?
        var S3ObjectVersion: String?
        var ImageUri: String?
        var SourceKMSKeyArn: String?
    }

    /// The members CreateFunction and UpdateFunctionConfiguration share.
    struct ConfigurationInput: Decodable {
        var Runtime: String?
        var Role: String?
        var Handler: String?
        var Description: String?
        var Timeout: Int?
        var MemorySize: Int?
        var Environment: EnvironmentInput?
        var DeadLetterConfig: DeadLetterInput?
        var KMSKeyArn: String?
        var TracingConfig: TracingInput?
        var VpcConfig: VpcInput?
        var Layers: [String]?
        var FileSystemConfigs: [Present]?
        var ImageConfig: Present?
        var EphemeralStorage: EphemeralStorageInput?
        var SnapStart: SnapStartInput?
        var LoggingConfig: LoggingInput?
        var CapacityProviderConfig: Present?
        var DurableConfig: Present?
        var RevisionId: String?
        // CreateFunction only.
        var FunctionName: String?
        var Code: CodeInput?
        var Publish: Bool?
        var PackageType: String?
        var Tags: [String: String]?
        var CodeSigningConfigArn: String?
        var Architectures: [String]?
        var PublishTo: Present?
        var TenancyConfig: Present?

        /// The settings Spool applies, after refusing members it cannot honour yet.
        func settings() throws -> FunctionSettings {
            if PublishTo != nil { throw SpoolError.notSupportedYet("PublishTo (LATEST_PUBLISHED)") }
            if let vpc = VpcConfig, !(vpc.SubnetIds ?? []).isEmpty || !(vpc.SecurityGroupIds ?? []).isEmpty {
                throw SpoolError.notSupportedYet("VpcConfig")
            }
            if let type = PackageType, type != "Zip" { throw SpoolError.notSupportedYet("PackageType \(type)") }
            if let key = KMSKeyArn, !key.isEmpty { throw SpoolError.notSupportedYet("KMSKeyArn") }
            if let mode = TracingConfig?.Mode, mode != "PassThrough" { throw SpoolError.notSupportedYet("TracingConfig mode \(mode)") }
            if !(FileSystemConfigs ?? []).isEmpty { throw SpoolError.notSupportedYet("FileSystemConfigs") }
            if ImageConfig != nil { throw SpoolError.notSupportedYet("ImageConfig") }
            if let apply = SnapStart?.ApplyOn, apply != "None" { throw SpoolError.notSupportedYet("SnapStart") }
            if CapacityProviderConfig != nil { throw SpoolError.notSupportedYet("CapacityProviderConfig") }
            if DurableConfig != nil { throw SpoolError.notSupportedYet("DurableConfig") }
            if TenancyConfig != nil { throw SpoolError.notSupportedYet("TenancyConfig") }
            if CodeSigningConfigArn != nil { throw SpoolError.notSupportedYet("CodeSigningConfigArn") }
            if let logging = LoggingConfig {
                if logging.ApplicationLogLevel != nil || logging.SystemLogLevel != nil { throw SpoolError.notSupportedYet("Log level filtering") }
                if let group = logging.LogGroup, group != "/aws/lambda/\(FunctionName ?? "")" { throw SpoolError.notSupportedYet("A custom LogGroup") }
            }
            try Self.checkArchitectures(Architectures)
            return FunctionSettings(
                runtime: Runtime, handler: Handler, role: Role, description: Description, timeoutSeconds: Timeout,
                memorySizeMB: MemorySize, environment: Environment.map { $0.Variables ?? [:] },
                deadLetterTargetARN: DeadLetterConfig.map { $0.TargetArn ?? "" }, logFormat: LoggingConfig?.LogFormat, layerARNs: Layers,
                ephemeralStorageMB: EphemeralStorage?.Size
            )
        }

        static func checkArchitectures(_ architectures: [String]?) throws {
            guard let architectures else { return }
            guard architectures.count == 1, ["x86_64", "arm64"].contains(architectures[0]) else {
                throw SpoolError.validation(field: "architectures", value: "\(architectures)", constraint: "Member must have length less than or equal to 1, Member must satisfy enum value set: [x86_64, arm64]")
            }
            guard architectures[0] == hostArchitecture else {
                throw SpoolError.notSupportedYet("Architecture \(architectures[0]) on this \(hostArchitecture) host")
            }
        }
    }

    static var hostArchitecture: String {
        #if arch(arm64)
        "arm64"
        #else
        "x86_64"
        #endif
    }

    struct UpdateCodeInput: Decodable {
        var ZipFile: String?
        var S3Bucket: String?
        var S3Key: String?
        var ImageUri: String?
        var Publish: Bool?
        var DryRun: Bool?
        var RevisionId: String?
        var Architectures: [String]?
        var PublishTo: Present?
    }

    struct ReservedConcurrencyInput: Decodable { var ReservedConcurrentExecutions: Int }
    struct ReservedConcurrencyOutput: Encodable { var ReservedConcurrentExecutions: Int? }
    struct ProvisionedInput: Decodable { var ProvisionedConcurrentExecutions: Int }
    struct ProvisionedOutput: Encodable {
        var RequestedProvisionedConcurrentExecutions: Int
        var AvailableProvisionedConcurrentExecutions: Int
        var AllocatedProvisionedConcurrentExecutions: Int
        var Status: String
        var StatusReason: String?
        var LastModified: String
    }

    /// One item of ListProvisionedConcurrencyConfigs: the configuration and the qualified ARN it is on.
    struct ProvisionedListItem: Encodable {
        var FunctionArn = ""
        var RequestedProvisionedConcurrentExecutions: Int
        var AvailableProvisionedConcurrentExecutions: Int
        var AllocatedProvisionedConcurrentExecutions: Int
        var Status: String
        var StatusReason: String?
        var LastModified: String

        init(_ output: ProvisionedOutput) {
            RequestedProvisionedConcurrentExecutions = output.RequestedProvisionedConcurrentExecutions
            AvailableProvisionedConcurrentExecutions = output.AvailableProvisionedConcurrentExecutions
            AllocatedProvisionedConcurrentExecutions = output.AllocatedProvisionedConcurrentExecutions
            Status = output.Status
            StatusReason = output.StatusReason
            LastModified = output.LastModified
        }
    }

    struct ProvisionedListOutput: Encodable {
        var ProvisionedConcurrencyConfigs: [ProvisionedListItem]
        var NextMarker: String?
    }
}
