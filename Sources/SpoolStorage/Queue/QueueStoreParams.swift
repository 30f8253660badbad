import SpoolModel

// The inputs of `QueueStore` operations; each carries `now`, so a store never reads a clock itself.

public struct CreateQueueParams: Sendable {
    public var name: String
    public var attributes: [String: String]
    public var tags: [String: String]
    public var identity: AWSIdentity
    public var now: Millis

    public init(name: String, attributes: [String: String], tags: [String: String], identity: AWSIdentity, now: Millis) {
        self.name = name
        self.attributes = attributes
        self.tags = tags
        self.identity = identity
        self.now = now
    }
}

public struct ListQueuesParams: Sendable {
    public var prefix: String
    public var afterName: String?
    public var limit: Int

    public init(prefix: String = "", afterName: String? = nil, limit: Int = 1000) {
        self.prefix = prefix
        self.afterName = afterName
        self.limit = limit
    }
}

public struct DeleteQueueParams: Sendable {
    public var name: String
    public var now: Millis

    public init(name: String, now: Millis) {
        self.name = name
        self.now = now
    }
}

public struct SetQueueAttributesParams: Sendable {
    public var name: String
    public var attributes: [String: String]
    public var identity: AWSIdentity
    public var now: Millis

    public init(name: String, attributes: [String: String], identity: AWSIdentity, now: Millis) {
        self.name = name
        self.attributes = attributes
        self.identity = identity
        self.now = now
    }
}

public struct PurgeQueueParams: Sendable {
    public var name: String
    public var now: Millis

    public init(name: String, now: Millis) {
        self.name = name
        self.now = now
    }
}

public struct SendMessagesParams: Sendable {
    public var queueID: Int64
    public var messages: [OutgoingMessage]
    public var now: Millis

    public init(queueID: Int64, messages: [OutgoingMessage], now: Millis) {
        self.queueID = queueID
        self.messages = messages
        self.now = now
    }
}

public struct ReceiveMessagesParams: Sendable {
    public var queueID: Int64
    public var maxMessages: Int
    /// Seconds; `nil` uses the queue's `VisibilityTimeout`.
    public var visibilityTimeout: Int?
    /// FIFO `ReceiveRequestAttemptId`: a retry with the same id within five minutes returns the same
    /// messages and receipts while none of them was received again or deleted. Ignored by standard queues.
    public var attemptID: String?
    public var identity: AWSIdentity
    public var now: Millis

    public init(queueID: Int64, maxMessages: Int, visibilityTimeout: Int?, attemptID: String? = nil, identity: AWSIdentity, now: Millis) {
        self.queueID = queueID
        self.maxMessages = maxMessages
        self.visibilityTimeout = visibilityTimeout
        self.attemptID = attemptID
        self.identity = identity
        self.now = now
    }
}

/// What a receive did: the messages leased, and the dead-letter queues that got redriven messages
/// (so that their waiting receivers can be woken).
public struct ReceiveOutcome: Sendable, Equatable {
    public var messages: [ReceivedMessage]
    public var redrivenTo: [Int64]

    public init(messages: [ReceivedMessage], redrivenTo: [Int64] = []) {
        self.messages = messages
        self.redrivenTo = redrivenTo
    }
}

public struct DeleteMessagesParams: Sendable {
    public var queueID: Int64
    public var receipts: [ReceiptHandle]
    public var now: Millis

    public init(queueID: Int64, receipts: [ReceiptHandle], now: Millis) {
        self.queueID = queueID
        self.receipts = receipts
        self.now = now
    }
}

public struct ChangeVisibilityParams: Sendable {
    public struct Change: Sendable {
        public var receipt: ReceiptHandle
        public var timeoutSeconds: Int

        public init(receipt: ReceiptHandle, timeoutSeconds: Int) {
            self.receipt = receipt
            self.timeoutSeconds = timeoutSeconds
        }
    }

    public var queueID: Int64
    public var changes: [Change]
    public var now: Millis

    public init(queueID: Int64, changes: [Change], now: Millis) {
        self.queueID = queueID
        self.changes = changes
        self.now = now
    }
}

public struct StartMoveTaskParams: Sendable {
    public var sourceARN: String
    public var destinationARN: String?
    public var maxNumberOfMessagesPerSecond: Int?
    public var identity: AWSIdentity
    public var handle: String
    public var now: Millis

    public init(sourceARN: String, destinationARN: String?, maxNumberOfMessagesPerSecond: Int?, identity: AWSIdentity, handle: String, now: Millis) {
        self.sourceARN = sourceARN
        self.destinationARN = destinationARN
        self.maxNumberOfMessagesPerSecond = maxNumberOfMessagesPerSecond
        self.identity = identity
        self.handle = handle
        self.now = now
    }
}

public struct RunMoveTasksParams: Sendable {
    /// The largest number of messages moved for one task in one call, whatever its rate.
    public var chunkLimit: Int
    public var identity: AWSIdentity
    public var now: Millis

    public init(chunkLimit: Int, identity: AWSIdentity, now: Millis) {
        self.chunkLimit = chunkLimit
        self.identity = identity
        self.now = now
    }
}

/// The result of one pass of the move runner.
public struct MoveTaskProgress: Sendable, Equatable {
    public var moved: Int
    /// Queues that received messages, for waking their receivers.
    public var destinationQueueIDs: [Int64]
    /// Whether any task is still running after this pass.
    public var hasRunningTasks: Bool
    /// When the next pass has work to do, given the rate limits.
    public var nextRunAt: Millis?

    public init(moved: Int, destinationQueueIDs: [Int64], hasRunningTasks: Bool, nextRunAt: Millis?) {
        self.moved = moved
        self.destinationQueueIDs = destinationQueueIDs
        self.hasRunningTasks = hasRunningTasks
        self.nextRunAt = nextRunAt
    }
}
