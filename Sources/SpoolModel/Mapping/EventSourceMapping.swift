/// An event source mapping as stored: which source feeds which function, how, and in what state.
public struct EventSourceMapping: Sendable, Equatable {
    public var uuid: String
    public var functionName: String
    /// The qualifier of a qualified `FunctionName` (a version, an alias or `$LATEST`); the ARN is reported with it.
    public var functionQualifier: String?
    public var sourceARN: String
    public var state: MappingState
    /// `USER_INITIATED` for changes made through the API.
    public var stateTransitionReason: String
    public var settings: MappingSettings
    /// Whether the user wants the mapping to run (`Enabled`); the state follows it.
    public var enabled: Bool
    public var lastModified: Millis
    /// Streams: `No records processed`, `OK`, or `PROBLEM: …`, as the poller last reported it.
    public var lastProcessingResult: String

    public init(uuid: String, functionName: String, functionQualifier: String?, sourceARN: String, state: MappingState,
                stateTransitionReason: String, settings: MappingSettings, enabled: Bool, lastModified: Millis,
                lastProcessingResult: String = MappingResult.noRecords) {
        self.uuid = uuid
        self.functionName = functionName
        self.functionQualifier = functionQualifier
        self.sourceARN = sourceARN
        self.state = state
        self.stateTransitionReason = stateTransitionReason
        self.settings = settings
        self.enabled = enabled
        self.lastModified = lastModified
        self.lastProcessingResult = lastProcessingResult
    }

    /// Whether the mapping reads a stream (its settings carry the stream members).
    public var isStream: Bool { settings.stream != nil }

    /// `arn:aws:lambda:REGION:ACCOUNT:event-source-mapping:UUID`, in its function's region.
    public func arn(_ identity: AWSIdentity) -> String {
        "arn:aws:lambda:\(identity.region(of: functionName)):\(identity.accountID):event-source-mapping:\(uuid)"
    }

    /// The function ARN as reported: unqualified unless the mapping was made with a qualified one.
    public func functionARN(_ identity: AWSIdentity) -> String {
        identity.functionARN(functionName) + (functionQualifier.map { ":" + $0 } ?? "")
    }
}

/// The tunable part of a mapping, validated.
public struct MappingSettings: Sendable, Equatable {
    public var batchSize: Int
    public var maximumBatchingWindowSeconds: Int
    /// `ReportBatchItemFailures` or nothing.
    public var functionResponseTypes: [String]
    /// The filter patterns, as the user wrote them; a record passes when any one matches.
    public var filters: [String]
    /// `ScalingConfig.MaximumConcurrency`: concurrent batches at most; `nil` lets the poller scale by itself.
    public var maximumConcurrency: Int?
    /// The settings of a stream mapping; `nil` for a queue mapping.
    public var stream: StreamMappingSettings?

    public init(batchSize: Int = 10, maximumBatchingWindowSeconds: Int = 0, functionResponseTypes: [String] = [],
                filters: [String] = [], maximumConcurrency: Int? = nil, stream: StreamMappingSettings? = nil) {
        self.batchSize = batchSize
        self.maximumBatchingWindowSeconds = maximumBatchingWindowSeconds
        self.functionResponseTypes = functionResponseTypes
        self.filters = filters
        self.maximumConcurrency = maximumConcurrency
        self.stream = stream
    }

    /// What a new mapping starts from: batches of 10 for queues, 100 for streams.
    public static func defaults(for source: MappingSource) -> MappingSettings {
        switch source {
        case .queue: return MappingSettings()
        case .stream: return MappingSettings(batchSize: 100, stream: StreamMappingSettings())
        }
    }

    public var reportsBatchItemFailures: Bool { functionResponseTypes.contains("ReportBatchItemFailures") }

    /// The parsed filters (they were checked when stored).
    public func patterns() -> [FilterPattern] {
        filters.compactMap { try? FilterPattern($0) }
    }
}

/// The values of `LastProcessingResult`.
public enum MappingResult {
    public static let noRecords = "No records processed"
    public static let ok = "OK"
    public static let functionFailed = "PROBLEM: Function call failed"
}
