/// What only stream mappings have: where they start, how they read a shard and how they give up.
public struct StreamMappingSettings: Sendable, Equatable, Codable {
    public enum StartingPosition: String, Sendable, Equatable, CaseIterable, Codable {
        case trimHorizon = "TRIM_HORIZON"
        case latest = "LATEST"
        case atTimestamp = "AT_TIMESTAMP"
    }

    public var startingPosition: StartingPosition
    /// With `AT_TIMESTAMP`: the first arrival time read, in Unix milliseconds.
    public var startingPositionTimestamp: Millis?
    /// Concurrent batches per shard (1–10), in order per partition key.
    public var parallelizationFactor: Int
    public var bisectBatchOnFunctionError: Bool
    /// -1 = retry until the records expire.
    public var maximumRetryAttempts: Int
    /// -1 = no age limit.
    public var maximumRecordAgeSeconds: Int
    /// `DestinationConfig.OnFailure.Destination`: a Spool queue or stream ARN.
    public var onFailureDestination: String?
    /// 0 = no tumbling windows.
    public var tumblingWindowSeconds: Int

    public init(startingPosition: StartingPosition = .latest, startingPositionTimestamp: Millis? = nil, parallelizationFactor: Int = 1,
                bisectBatchOnFunctionError: Bool = false, maximumRetryAttempts: Int = -1, maximumRecordAgeSeconds: Int = -1,
                onFailureDestination: String? = nil, tumblingWindowSeconds: Int = 0) {
        self.startingPosition = startingPosition
        self.startingPositionTimestamp = startingPositionTimestamp
        self.parallelizationFactor = parallelizationFactor
        self.bisectBatchOnFunctionError = bisectBatchOnFunctionError
        self.maximumRetryAttempts = maximumRetryAttempts
        self.maximumRecordAgeSeconds = maximumRecordAgeSeconds
        self.onFailureDestination = onFailureDestination
        self.tumblingWindowSeconds = tumblingWindowSeconds
    }

    public var retryPolicy: StreamRetryPolicy {
        StreamRetryPolicy(maximumRetryAttempts: maximumRetryAttempts, maximumRecordAgeSeconds: maximumRecordAgeSeconds,
                          bisectOnError: bisectBatchOnFunctionError)
    }
}

/// Lambda's rules for the stream members of Create/UpdateEventSourceMapping.
public enum StreamMappingRules {
    public static let parallelizationRange = 1...10
    public static let retryRange = -1...10_000
    public static let recordAgeRange = 60...604_800
    public static let tumblingRange = 0...900

    /// Applies the stream members of `request` to `settings`. `StartingPosition` is checked by the API, which
    /// alone knows whether the mapping is being created.
    static func apply(_ request: MappingRequest, to settings: inout StreamMappingSettings) throws(SpoolError) {
        if let text = request.startingPosition {
            guard let position = StreamMappingSettings.StartingPosition(rawValue: text) else {
                throw SpoolError.validation(field: "startingPosition", value: text,
                                            constraint: "Member must satisfy enum value set: [TRIM_HORIZON, LATEST, AT_TIMESTAMP]")
            }
            settings.startingPosition = position
        }
        if let seconds = request.startingPositionTimestamp {
            settings.startingPositionTimestamp = Millis((seconds * 1_000).rounded(.down))
        }
        if settings.startingPosition == .atTimestamp, settings.startingPositionTimestamp == nil {
            throw SpoolError(.invalidParameterValue, "Need to specify a timestamp when the starting position is AT_TIMESTAMP.")
        }
        if settings.startingPosition != .atTimestamp, settings.startingPositionTimestamp != nil {
            throw SpoolError(.invalidParameterValue, "StartingPositionTimestamp can only be given with the AT_TIMESTAMP starting position.")
        }
        if let factor = request.parallelizationFactor {
            try MappingRules.check(factor, in: parallelizationRange, field: "parallelizationFactor")
            settings.parallelizationFactor = factor
        }
        if let bisect = request.bisectBatchOnFunctionError { settings.bisectBatchOnFunctionError = bisect }
        if let retries = request.maximumRetryAttempts {
            try MappingRules.check(retries, in: retryRange, field: "maximumRetryAttempts")
            settings.maximumRetryAttempts = retries
        }
        if let age = request.maximumRecordAgeSeconds {
            if age != -1 {
                try MappingRules.check(age, in: -1...recordAgeRange.upperBound, field: "maximumRecordAgeInSeconds")
                guard recordAgeRange.contains(age) else {
                    throw SpoolError(.invalidParameterValue, "MaximumRecordAgeInSeconds must be -1 or between 60 and 604800 seconds.")
                }
            }
            settings.maximumRecordAgeSeconds = age
        }
        if let window = request.tumblingWindowSeconds {
            try MappingRules.check(window, in: tumblingRange, field: "tumblingWindowInSeconds")
            settings.tumblingWindowSeconds = window
        }
        if request.onSuccessGiven {
            throw SpoolError(.invalidParameterValue, "Unsupported OnSuccess parameter for given event source mapping type.")
        }
        if request.destinationConfigGiven {
            let destination = request.onFailureDestination
            settings.onFailureDestination = (destination?.isEmpty ?? true) ? nil : destination
        }
    }
}
