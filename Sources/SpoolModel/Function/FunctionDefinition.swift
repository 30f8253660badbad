/// Everything Spool knows about one function: its configuration as Lambda reports it, where its code
/// lives, which executor runs it, and its concurrency settings.
///
/// Created by the registry (API, configuration file or an embedding program), stored as one row, and
/// handed by value to executors, which never see the store.
public struct FunctionDefinition: Sendable, Equatable, Codable {
    /// Which executor runs the function.
    public enum ExecutorKind: String, Sendable, Codable, CaseIterable {
        /// Child processes speaking the Lambda Runtime API (functions created through the API).
        case process
        /// An HTTP POST to `webhookURL` (functions declared in the configuration file).
        case webhook
        /// A Swift closure registered by the embedding program.
        case inProcess = "in-process"
    }

    /// Where the definition came from; a configuration-file or embedded function is re-applied at start-up.
    public enum Source: String, Sendable, Codable {
        case api, configuration, embedded
    }

    public var name: String
    public var executor: ExecutorKind
    public var source: Source
    /// `Runtime`; `nil` for webhook and in-process functions.
    public var runtime: String?
    /// `Handler`; passed to the runtime as `_HANDLER`.
    public var handler: String?
    public var role: String
    public var description: String
    /// `Timeout`, 1–900 seconds.
    public var timeoutSeconds: Int
    /// `MemorySize`, 128–10240 MB: reported to the runtime and enforced on its resident memory.
    public var memorySizeMB: Int
    public var environment: [String: String]
    /// `DeadLetterConfig.TargetArn`.
    public var deadLetterTargetARN: String?
    public var tags: [String: String]
    /// `LoggingConfig.LogFormat`: `Text` or `JSON`, passed to the runtime as `AWS_LAMBDA_LOG_FORMAT`.
    public var logFormat: String
    /// The unpacked code directory (process functions).
    public var codeDirectory: String?
    /// Base64 SHA-256 of the deployment package, as `CodeSha256`.
    public var codeSHA256: String
    public var codeSize: Int64
    /// The URL a webhook function is posted to.
    public var webhookURL: String?
    /// Changes on every update; `RevisionId`.
    public var revisionID: String
    public var lastModified: Millis
    /// `ReservedConcurrentExecutions`; `nil` when unreserved.
    public var reservedConcurrency: Int?
    /// Environments kept initialized ahead of time; `nil` when none are configured.
    public var provisionedConcurrency: Int?
    public var provisionedLastModified: Millis?
    /// The published version this definition is a snapshot of (`"1"`, `"2"`, …); `nil` for `$LATEST`, the one
    /// definition that changes. A version never changes: its code, configuration and revision are fixed at
    /// PublishVersion.
    public var version: String?
    /// `Layers`: the layer versions the function runs with, in the order they apply (at most 5); `nil` (as in
    /// definitions stored before layers existed) when none.
    public var layers: [FunctionLayer]?
    /// `EphemeralStorage.Size`, 512–10,240 MB: the size of the environment's private `/tmp` in the sandbox; `nil` is
    /// Lambda's default, 512.
    public var ephemeralStorageMB: Int?
    /// `EphemeralStorage.Size` as reported and enforced.
    public var ephemeralStorageSizeMB: Int { ephemeralStorageMB ?? FunctionLimits.ephemeralStorageMB.lowerBound }

    /// `$LATEST` or the version number, as `Version` and `X-Amz-Executed-Version` report it.
    public var versionName: String { version ?? "$LATEST" }

    /// What environments are kept by: a version runs in environments of its own, apart from `$LATEST`'s.
    public var environmentKey: String { version.map { "\(name):\($0)" } ?? name }

    public init(
        name: String, executor: ExecutorKind, source: Source = .api, runtime: String? = nil, handler: String? = nil,
        role: String = "arn:aws:iam::000000000000:role/spool", description: String = "", timeoutSeconds: Int = 3,
        memorySizeMB: Int = 128, environment: [String: String] = [:], deadLetterTargetARN: String? = nil,
        tags: [String: String] = [:], logFormat: String = "Text", codeDirectory: String? = nil, codeSHA256: String = "",
        codeSize: Int64 = 0, webhookURL: String? = nil, revisionID: String, lastModified: Millis,
        reservedConcurrency: Int? = nil, provisionedConcurrency: Int? = nil, provisionedLastModified: Millis? = nil
    ) {
        self.name = name
        self.executor = executor
        self.source = source
        self.runtime = runtime
        self.handler = handler
        self.role = role
        self.description = description
        self.timeoutSeconds = timeoutSeconds
        self.memorySizeMB = memorySizeMB
        self.environment = environment
        self.deadLetterTargetARN = deadLetterTargetARN
        self.tags = tags
        self.logFormat = logFormat
        self.codeDirectory = codeDirectory
        self.codeSHA256 = codeSHA256
        self.codeSize = codeSize
        self.webhookURL = webhookURL
        self.revisionID = revisionID
        self.lastModified = lastModified
        self.reservedConcurrency = reservedConcurrency
        self.provisionedConcurrency = provisionedConcurrency
        self.provisionedLastModified = provisionedLastModified
    }
}
