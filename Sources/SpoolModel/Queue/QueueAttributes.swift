/// The settable attributes of a queue, typed, with AWS's defaults.
///
/// `parse(_:isFIFO:creating:)` is the only way in from the wire: it applies AWS's ranges and rejects
/// anything unknown, read-only or not supported, so that no accepted setting is silently ignored.
public struct QueueAttributes: Sendable, Equatable {
    public var delaySeconds = 0
    public var maximumMessageSize = 1_048_576
    public var messageRetentionPeriod = 345_600
    public var receiveMessageWaitTimeSeconds = 0
    public var visibilityTimeout = 30
    public var redrivePolicy: RedrivePolicy?
    public var redriveAllowPolicy: RedriveAllowPolicy?
    public var fifoQueue = false
    public var contentBasedDeduplication = false
    /// `messageGroup` or `queue` (FIFO only).
    public var deduplicationScope = "queue"
    /// `perQueue` or `perMessageGroupId` (FIFO only). Spool imposes no throughput quota, so either is honoured.
    public var fifoThroughputLimit = "perQueue"
    /// SSE-SQS, on by default for new queues as on AWS. Spool does not encrypt what it stores (see docs/security.md):
    /// the settings are kept and returned so that clients and templates that set them work unchanged.
    public var sqsManagedSSE = true
    /// SSE-KMS: the key a client named (mutually exclusive with SSE-SQS), and how long a data key is reused.
    public var kmsMasterKeyID: String?
    public var kmsDataKeyReusePeriodSeconds = 300
    /// The access policy, as written (validated; what Spool enforces of it: `QueuePolicy`).
    public var policy: QueuePolicy?

    public init(fifoQueue: Bool = false) {
        self.fifoQueue = fifoQueue
    }

    /// The attribute names a client may set, in the order GetQueueAttributes lists them.
    public static let settableNames: [String] = [
        "DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
        "VisibilityTimeout", "RedrivePolicy", "RedriveAllowPolicy", "FifoQueue", "ContentBasedDeduplication",
        "DeduplicationScope", "FifoThroughputLimit", "SqsManagedSseEnabled", "KmsMasterKeyId",
        "KmsDataKeyReusePeriodSeconds", "Policy",
    ]

    /// Attributes only GetQueueAttributes returns.
    public static let readOnlyNames: [String] = [
        "QueueArn", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed", "CreatedTimestamp", "LastModifiedTimestamp",
    ]

    static let fifoOnlyNames: Set<String> = [
        "FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit",
    ]

    /// Applies wire attributes on top of `self`, validating each as AWS does.
    /// - Parameters:
    ///   - raw: attribute name to string value, as sent.
    ///   - creating: `true` for CreateQueue, where `FifoQueue` may be given; it is immutable afterwards.
    public func applying(_ raw: [String: String], creating: Bool) throws(SpoolError) -> QueueAttributes {
        var result = self
        for (name, value) in raw.sorted(by: { $0.key < $1.key }) {
            if Self.fifoOnlyNames.contains(name), !fifoQueue {
                throw .invalidAttributeName(name)
            }
            switch name {
            case "DelaySeconds":
                result.delaySeconds = try Self.integer(name, value, in: 0...900)
            case "MaximumMessageSize":
                result.maximumMessageSize = try Self.integer(name, value, in: 1024...1_048_576)
            case "MessageRetentionPeriod":
                result.messageRetentionPeriod = try Self.integer(name, value, in: 60...1_209_600)
            case "ReceiveMessageWaitTimeSeconds":
                result.receiveMessageWaitTimeSeconds = try Self.integer(name, value, in: 0...20)
            case "VisibilityTimeout":
                result.visibilityTimeout = try Self.integer(name, value, in: 0...43_200)
            case "RedrivePolicy":
                result.redrivePolicy = value.isEmpty ? nil : try RedrivePolicy.parse(value)
            case "RedriveAllowPolicy":
                result.redriveAllowPolicy = value.isEmpty ? nil : try RedriveAllowPolicy.parse(value)
            case "FifoQueue":
                // On an existing FIFO queue, FifoQueue=true changes nothing (AWS accepts it); false cannot be set.
                guard try Self.boolean(name, value) else {
                    throw .invalidAttributeValue(name, reason: creating ? "A FIFO queue must have FifoQueue set to true." : "You can't change the queue type of an existing queue.")
                }
            case "ContentBasedDeduplication":
                result.contentBasedDeduplication = try Self.boolean(name, value)
            case "DeduplicationScope":
                guard value == "messageGroup" || value == "queue" else {
                    throw .invalidAttributeValue(name, reason: "Valid values are messageGroup and queue.")
                }
                result.deduplicationScope = value
            case "FifoThroughputLimit":
                guard value == "perQueue" || value == "perMessageGroupId" else {
                    throw .invalidAttributeValue(name, reason: "Valid values are perQueue and perMessageGroupId.")
                }
                result.fifoThroughputLimit = value
            case "SqsManagedSseEnabled":
                result.sqsManagedSSE = try Self.boolean(name, value)
                if result.sqsManagedSSE, raw["KmsMasterKeyId"].map({ !$0.isEmpty }) ?? false {
                    throw .invalidAttributeValue(name, reason: "You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or SQS SSE.")
                }
                if result.sqsManagedSSE { result.kmsMasterKeyID = nil }
            case "KmsMasterKeyId":
                // A key turns SSE-SQS off, as on AWS; an empty value removes it.
                result.kmsMasterKeyID = value.isEmpty ? nil : value
                if !value.isEmpty, raw["SqsManagedSseEnabled"].map({ $0.lowercased() != "true" }) ?? true { result.sqsManagedSSE = false }
            case "KmsDataKeyReusePeriodSeconds":
                result.kmsDataKeyReusePeriodSeconds = try Self.integer(name, value, in: 60...86_400)
            case "Policy":
                result.policy = value.isEmpty ? nil : try QueuePolicy.parse(value)
            default:
                throw .invalidAttributeName(name)
            }
        }
        if result.fifoThroughputLimit == "perMessageGroupId", result.deduplicationScope != "messageGroup" {
            throw .invalidAttributeValue(
                "FifoThroughputLimit",
                reason: "The perMessageGroupId value is allowed only when the value for DeduplicationScope is messageGroup."
            )
        }
        return result
    }

    /// The settable attributes as GetQueueAttributes returns them (all values are strings).
    public var wireValues: [String: String] {
        var values: [String: String] = [
            "DelaySeconds": String(delaySeconds),
            "MaximumMessageSize": String(maximumMessageSize),
            "MessageRetentionPeriod": String(messageRetentionPeriod),
            "ReceiveMessageWaitTimeSeconds": String(receiveMessageWaitTimeSeconds),
            "VisibilityTimeout": String(visibilityTimeout),
            "SqsManagedSseEnabled": String(sqsManagedSSE),
        ]
        if let policy { values["Policy"] = policy.text }
        if let kmsMasterKeyID {
            values["KmsMasterKeyId"] = kmsMasterKeyID
            values["KmsDataKeyReusePeriodSeconds"] = String(kmsDataKeyReusePeriodSeconds)
        }
        if let redrivePolicy { values["RedrivePolicy"] = redrivePolicy.json }
        if let redriveAllowPolicy { values["RedriveAllowPolicy"] = redriveAllowPolicy.json }
        if fifoQueue {
            values["FifoQueue"] = "true"
            values["ContentBasedDeduplication"] = String(contentBasedDeduplication)
            values["DeduplicationScope"] = deduplicationScope
            values["FifoThroughputLimit"] = fifoThroughputLimit
        }
        return values
    }

    static func integer(_ name: String, _ value: String, in range: ClosedRange<Int>) throws(SpoolError) -> Int {
        guard let number = Int(value), range.contains(number) else {
            throw .invalidAttributeValue(name, reason: "Must be an integer from \(range.lowerBound) to \(range.upperBound).")
        }
        return number
    }

    static func boolean(_ name: String, _ value: String) throws(SpoolError) -> Bool {
        switch value.lowercased() {
        case "true": return true
        case "false": return false
        default: throw .invalidAttributeValue(name, reason: "Must be true or false.")
        }
    }
}
