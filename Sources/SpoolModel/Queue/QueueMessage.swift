/// A message as a producer hands it to SendMessage(Batch), already validated.
public struct OutgoingMessage: Sendable, Equatable {
    public var body: String
    public var attributes: [String: MessageAttributeValue]
    /// `AWSTraceHeader`, the only system attribute SQS accepts from senders.
    public var systemAttributes: [String: MessageAttributeValue]
    /// Per-message delay; `nil` uses the queue's `DelaySeconds`. Standard queues only.
    public var delaySeconds: Int?
    public var groupID: String?
    public var deduplicationID: String?

    public init(
        body: String, attributes: [String: MessageAttributeValue] = [:],
        systemAttributes: [String: MessageAttributeValue] = [:], delaySeconds: Int? = nil,
        groupID: String? = nil, deduplicationID: String? = nil
    ) {
        self.body = body
        self.attributes = attributes
        self.systemAttributes = systemAttributes
        self.delaySeconds = delaySeconds
        self.groupID = groupID
        self.deduplicationID = deduplicationID
    }
}

/// What SendMessage reports for one accepted message.
public struct SentMessage: Sendable, Equatable {
    public var messageID: String
    /// FIFO queues only: the 20-digit sequence number.
    public var sequenceNumber: String?

    public init(messageID: String, sequenceNumber: String? = nil) {
        self.messageID = messageID
        self.sequenceNumber = sequenceNumber
    }
}

/// A message handed out by ReceiveMessage, with the lease it was received under.
public struct ReceivedMessage: Sendable, Equatable {
    public var messageID: String
    public var receipt: ReceiptHandle
    public var body: String
    public var attributes: [String: MessageAttributeValue]
    public var systemAttributes: [String: MessageAttributeValue]
    public var sentAt: Millis
    public var firstReceivedAt: Millis
    public var receiveCount: Int
    public var groupID: String?
    public var deduplicationID: String?
    public var sequenceNumber: String?
    /// The queue the message was redriven from, when it reached this queue as a dead letter.
    public var deadLetterSourceARN: String?

    public init(
        messageID: String, receipt: ReceiptHandle, body: String, attributes: [String: MessageAttributeValue],
        systemAttributes: [String: MessageAttributeValue], sentAt: Millis, firstReceivedAt: Millis,
        receiveCount: Int, groupID: String?, deduplicationID: String?, sequenceNumber: String?,
        deadLetterSourceARN: String?
    ) {
        self.messageID = messageID
        self.receipt = receipt
        self.body = body
        self.attributes = attributes
        self.systemAttributes = systemAttributes
        self.sentAt = sentAt
        self.firstReceivedAt = firstReceivedAt
        self.receiveCount = receiveCount
        self.groupID = groupID
        self.deduplicationID = deduplicationID
        self.sequenceNumber = sequenceNumber
        self.deadLetterSourceARN = deadLetterSourceARN
    }
}

extension ReceivedMessage {
    /// Every system attribute SQS reports for this message (ReceiveMessage's `Attributes`, the SQS event's
    /// `attributes`), by name; `senderID` is the account that sent it.
    public func systemAttributeValues(senderID: String) -> [String: String] {
        var all: [String: String] = [
            "SenderId": senderID,
            "SentTimestamp": String(sentAt),
            "ApproximateReceiveCount": String(receiveCount),
            "ApproximateFirstReceiveTimestamp": String(firstReceivedAt),
        ]
        all["SequenceNumber"] = sequenceNumber
        all["MessageDeduplicationId"] = deduplicationID
        all["MessageGroupId"] = groupID
        all["AWSTraceHeader"] = systemAttributes["AWSTraceHeader"]?.stringValue
        all["DeadLetterQueueSourceArn"] = deadLetterSourceARN
        return all
    }
}

/// FIFO sequence numbers: 20 decimal digits, increasing per queue.
/// A FIFO message's `SequenceNumber` in SQS's form: a large (20-digit), non-consecutive decimal that rises with each
/// message of the queue (and so of each group), made from the queue's stored counter.
public enum SequenceNumber {
    /// Where numbers start (SQS's look like 18849496460467696128) and how far apart consecutive messages are.
    static let base: UInt64 = 8_849_496_460_467_696_128
    static let step: UInt64 = 4_096

    public static func format(_ value: Int64) -> String {
        // Below 10^19 for any counter under 2^40 messages per queue: always "1" and 19 digits, so text order is number order.
        let number = base &+ UInt64(max(0, value)) &* step
        let digits = String(number)
        return "1" + String(repeating: "0", count: max(0, 19 - digits.count)) + digits
    }
}
