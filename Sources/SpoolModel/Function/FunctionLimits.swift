/// Lambda's documented quotas that Spool enforces on functions and invocations.
public enum FunctionLimits {
    /// `Timeout` range, seconds.
    public static let timeoutSeconds = 1...900
    /// `MemorySize` range, MB.
    public static let memorySizeMB = 128...10_240
    /// `EphemeralStorage.Size`, MB.
    public static let ephemeralStorageMB = 512...10_240
    /// A zipped deployment package uploaded directly.
    public static let zippedPackageBytes = 50 * 1_048_576
    /// The CreateFunction/UpdateFunctionCode request (the base64 of a 50 MB zip plus JSON), as AWS words its 413.
    public static let createRequestBytes = 69_905_067
    /// Unzipped package size.
    public static let unzippedPackageBytes = 262_144_000
    /// Synchronous request and response payloads.
    public static let syncPayloadBytes = 6_291_456
    /// The most a streamed response (InvokeWithResponseStream) may carry: 20 MiB, Lambda's soft limit.
    public static let streamedResponseBytes = 20_971_520
    /// The response size AWS reports in `Function.ResponseSizeTooLarge`.
    public static let syncResponseBytesReported = 6_291_556
    /// All environment variables of a function together.
    public static let environmentBytes = 4_096
    /// `X-Amz-Client-Context`, base64 text.
    public static let clientContextBytes = 3_583
    /// How much of an invocation's log `LogType: Tail` returns.
    public static let logTailBytes = 4_096
    /// `Description`.
    public static let descriptionLength = 256
    /// The part of the account limit that reserved concurrency may never take.
    public static let unreservedConcurrencyMinimum = 100
    /// Environment variable names Lambda reserves for itself.
    public static let reservedEnvironmentKeys: Set<String> = [
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    ]
}
