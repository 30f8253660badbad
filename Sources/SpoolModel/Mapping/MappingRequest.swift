/// The fields of a Create or UpdateEventSourceMapping request, as given (`nil` = not given).
public struct MappingRequest: Sendable {
    public var enabled: Bool?
    public var batchSize: Int?
    public var maximumBatchingWindowSeconds: Int?
    public var functionResponseTypes: [String]?
    /// `FilterCriteria.Filters[].Pattern`; an empty list (or `FilterCriteria: {}`) removes the filters.
    public var filters: [String?]?
    /// `ScalingConfig` given; its `MaximumConcurrency` (`nil` inside removes the limit).
    public var scalingConfigGiven = false
    public var maximumConcurrency: Int?
    /// Stream members (`nil` = not given).
    public var startingPosition: String?
    /// `StartingPositionTimestamp`, epoch seconds.
    public var startingPositionTimestamp: Double?
    public var parallelizationFactor: Int?
    public var bisectBatchOnFunctionError: Bool?
    public var maximumRetryAttempts: Int?
    public var maximumRecordAgeSeconds: Int?
    public var tumblingWindowSeconds: Int?
    /// `DestinationConfig` given; its `OnFailure.Destination` (`nil` or empty removes it).
    public var destinationConfigGiven = false
    public var onFailureDestination: String?
    /// `DestinationConfig.OnSuccess` was given (Lambda accepts it only for Kafka sources).
    public var onSuccessGiven = false
    /// The names of the members the request carried, to reject those that do not apply to the source.
    public var given: Set<String> = []
    /// Names of fields Spool does not implement yet (`Tags`, `KMSKeyArn`, …).
    public var unsupported: [String] = []

    public init() {}
}

/// The kind of source a mapping reads.
public enum MappingSource: Sendable, Equatable {
    case queue(fifo: Bool)
    case stream

    /// The members a request may carry for this kind of source (beside `FunctionName`, `Enabled`,
    /// `EventSourceArn` and the members Spool does not implement).
    var members: Set<String> {
        let common: Set<String> = ["BatchSize", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes", "FilterCriteria"]
        switch self {
        case .queue: return common.union(["ScalingConfig"])
        case .stream:
            return common.union(["StartingPosition", "StartingPositionTimestamp", "ParallelizationFactor", "BisectBatchOnFunctionError",
                                 "MaximumRetryAttempts", "MaximumRecordAgeInSeconds", "DestinationConfig", "TumblingWindowInSeconds"])
        }
    }

    /// Every member that belongs to some kind of source, in the order they are reported.
    public static let sourceMembers = [
        "BatchSize", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes", "FilterCriteria", "ScalingConfig",
        "StartingPosition", "StartingPositionTimestamp", "ParallelizationFactor", "BisectBatchOnFunctionError",
        "MaximumRetryAttempts", "MaximumRecordAgeInSeconds", "DestinationConfig", "TumblingWindowInSeconds", "Topics", "Queues",
        "SourceAccessConfigurations", "SelfManagedEventSource", "SelfManagedKafkaEventSourceConfig",
        "AmazonManagedKafkaEventSourceConfig", "DocumentDBEventSourceConfig",
    ]
}

/// Lambda's rules for mapping settings, with AWS's wording.
public enum MappingRules {
    public static let batchSizeRange = 1...10_000
    public static let fifoMaximumBatchSize = 10
    public static let windowRange = 0...300
    public static let maximumConcurrencyRange = 2...1_000
    public static let maximumFilters = 5
    /// The largest event Lambda hands a function synchronously (6 MB).
    public static let maximumEventBytes = 6_291_456

    /// Applies a request to settings (defaults on create) and checks the result for a queue source.
    public static func apply(_ request: MappingRequest, to current: MappingSettings, fifo: Bool) throws(SpoolError) -> MappingSettings {
        try apply(request, to: current, source: .queue(fifo: fifo))
    }

    /// Applies a request to settings (`MappingSettings.defaults(for:)` on create) and checks the result.
    public static func apply(_ request: MappingRequest, to current: MappingSettings, source: MappingSource) throws(SpoolError) -> MappingSettings {
        if let field = request.unsupported.first { throw SpoolError.notSupportedYet("The \(field) parameter of event source mappings") }
        let allowed = source.members
        if let field = MappingSource.sourceMembers.first(where: { request.given.contains($0) && !allowed.contains($0) }) {
            throw SpoolError(.invalidParameterValue, "Unsupported \(field) parameter for given event source mapping type.")
        }
        var settings = current
        if case .stream = source {
            var stream = settings.stream ?? StreamMappingSettings()
            try StreamMappingRules.apply(request, to: &stream)
            settings.stream = stream
        }
        if let size = request.batchSize {
            try check(size, in: batchSizeRange, field: "batchSize")
            settings.batchSize = size
        }
        if let window = request.maximumBatchingWindowSeconds {
            try check(window, in: windowRange, field: "maximumBatchingWindowInSeconds")
            settings.maximumBatchingWindowSeconds = window
        }
        if let types = request.functionResponseTypes {
            guard types.count <= 1 else {
                throw SpoolError.validation(field: "functionResponseTypes", value: "\(types)", constraint: "Member must have length less than or equal to 1")
            }
            for type in types where type != "ReportBatchItemFailures" {
                throw SpoolError.validation(field: "functionResponseTypes", value: "[\(type)]", constraint: "Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]")
            }
            settings.functionResponseTypes = types
        }
        if let filters = request.filters {
            guard filters.count <= maximumFilters else {
                throw SpoolError(.invalidParameterValue, "The maximum number of filters for an event source mapping is \(maximumFilters).")
            }
            var texts: [String] = []
            for filter in filters {
                guard let filter else { throw FilterPattern.invalid }
                texts.append(try FilterPattern(filter).text)
            }
            settings.filters = texts
        }
        if request.scalingConfigGiven {
            if let value = request.maximumConcurrency {
                try check(value, in: maximumConcurrencyRange, field: "scalingConfig.maximumConcurrency")
            }
            settings.maximumConcurrency = request.maximumConcurrency
        }
        guard case .queue(let fifo) = source else { return settings }
        if fifo && settings.batchSize > fifoMaximumBatchSize {
            throw SpoolError(.invalidParameterValue, "Batch size must be between 1 and 10 for FIFO queue event sources.")
        }
        if settings.batchSize > 10 && settings.maximumBatchingWindowSeconds == 0 {
            throw SpoolError(.invalidParameterValue, "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10")
        }
        return settings
    }

    /// A number outside its model range, worded as AWS's request validator words it.
    static func check(_ value: Int, in range: ClosedRange<Int>, field: String) throws(SpoolError) {
        guard value >= range.lowerBound else {
            throw SpoolError.validation(field: field, value: "\(value)", constraint: "Member must have value greater than or equal to \(range.lowerBound)")
        }
        guard value <= range.upperBound else {
            throw SpoolError.validation(field: field, value: "\(value)", constraint: "Member must have value less than or equal to \(range.upperBound)")
        }
    }
}
