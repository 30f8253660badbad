import SpoolModel

/// What the invocation journal needs from storage: batches in, pages and per-minute activity out, old rows away.
public protocol InvocationJournalStore: Sendable {
    /// Stores finished invocations in one transaction.
    func appendInvocationRecords(_ records: [JournalEntry]) async throws
    /// Records after `afterID` (oldest first) or, with `newest`, the latest `limit` before `beforeID` (newest first).
    func invocationRecords(_ query: JournalQuery) async throws -> [JournalEntry]
    /// Invocations per function in `bucketMs` buckets from `since`.
    func invocationActivity(since: Millis, bucketMs: Millis) async throws -> [ActivityBucket]
    /// Deletes records that started before `cutoff`, at most `limit`; returns how many.
    func deleteInvocationRecords(startedBefore cutoff: Millis, limit: Int) async throws -> Int
    /// Deletes the oldest records beyond the newest `keeping`, at most `limit`; returns how many.
    func trimInvocationRecords(keeping: Int, limit: Int) async throws -> Int
}

/// A page of the journal.
public struct JournalQuery: Sendable {
    public var functionName: String?
    public var requestID: String?
    /// Oldest first, after this id (following a log).
    public var afterID: Int64?
    /// Newest first, before this id (browsing back); used when `afterID` is nil.
    public var beforeID: Int64?
    public var limit: Int
    public var includeLog: Bool

    public init(functionName: String? = nil, requestID: String? = nil, afterID: Int64? = nil, beforeID: Int64? = nil, limit: Int,
                includeLog: Bool) {
        self.functionName = functionName
        self.requestID = requestID
        self.afterID = afterID
        self.beforeID = beforeID
        self.limit = limit
        self.includeLog = includeLog
    }
}

/// The numbers an operator's overview reads across every resource at once, each in one query.
public protocol OverviewStore: Sendable {
    /// Asynchronous events waiting or running, per function.
    func asyncBacklogs(now: Millis) async throws -> [FunctionBacklog]
    /// Dead letters per function.
    func deadLetterCounts() async throws -> [DeadLetterCount]
    /// Depth and oldest message of every live queue.
    func queueDepths(now: Millis) async throws -> [QueueDepth]
    /// Records stored in every live stream, with the oldest and newest arrival: read from the ends of each shard's
    /// position index (positions of a shard are contiguous), never by scanning the records.
    func streamDepths() async throws -> [StreamDepth]
}

public struct StreamDepth: Sendable, Codable, Equatable {
    public var streamName: String
    public var shardCount: Int
    public var records: Int
    public var oldestArrival: Millis?
    public var newestArrival: Millis?

    public init(streamName: String, shardCount: Int, records: Int, oldestArrival: Millis?, newestArrival: Millis?) {
        self.streamName = streamName
        self.shardCount = shardCount
        self.records = records
        self.oldestArrival = oldestArrival
        self.newestArrival = newestArrival
    }
}

public struct FunctionBacklog: Sendable, Codable, Equatable {
    public var functionName: String
    /// Waiting to run (including retries waiting out their back-off).
    public var queued: Int
    /// Running now (leased).
    public var running: Int
    /// When the oldest of them was accepted.
    public var oldestEnqueuedAt: Millis?

    public init(functionName: String, queued: Int, running: Int, oldestEnqueuedAt: Millis?) {
        self.functionName = functionName
        self.queued = queued
        self.running = running
        self.oldestEnqueuedAt = oldestEnqueuedAt
    }
}

public struct DeadLetterCount: Sendable, Codable, Equatable {
    public var functionName: String
    public var total: Int
    public var notReplayed: Int

    public init(functionName: String, total: Int, notReplayed: Int) {
        self.functionName = functionName
        self.total = total
        self.notReplayed = notReplayed
    }
}

public struct QueueDepth: Sendable, Codable, Equatable {
    public var queueName: String
    public var visible: Int
    public var inFlight: Int
    public var delayed: Int
    /// When the oldest stored message was sent.
    public var oldestSentAt: Millis?

    public init(queueName: String, visible: Int, inFlight: Int, delayed: Int, oldestSentAt: Millis?) {
        self.queueName = queueName
        self.visible = visible
        self.inFlight = inFlight
        self.delayed = delayed
        self.oldestSentAt = oldestSentAt
    }
}
