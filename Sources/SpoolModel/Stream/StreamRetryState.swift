/// How a stream mapping gives up on a failing batch (`MaximumRetryAttempts`, `MaximumRecordAgeInSeconds`,
/// `BisectBatchOnFunctionError`).
public struct StreamRetryPolicy: Sendable, Equatable {
    /// Retries after the first attempt; -1 retries until the records expire.
    public var maximumRetryAttempts: Int
    /// Records older than this are skipped; -1 keeps them until they expire.
    public var maximumRecordAgeSeconds: Int
    public var bisectOnError: Bool

    public init(maximumRetryAttempts: Int = -1, maximumRecordAgeSeconds: Int = -1, bisectOnError: Bool = false) {
        self.maximumRetryAttempts = maximumRetryAttempts
        self.maximumRecordAgeSeconds = maximumRecordAgeSeconds
        self.bisectOnError = bisectOnError
    }

    /// How many records at the front of `arrivals` (oldest first) are older than the age limit at `now`.
    public func expiredPrefix(arrivals: [Millis], now: Millis) -> Int {
        guard maximumRecordAgeSeconds >= 0 else { return 0 }
        let oldest = now - Millis(maximumRecordAgeSeconds) * 1_000
        return arrivals.prefix { $0 < oldest }.count
    }
}

/// What a shard lane remembers about its head batch while the checkpoint stays put: the sub-batches that
/// bisection left to run and the retries the current one used. It is stored with the lane's checkpoint, in the
/// settle that writes the checkpoint (a failure settles too, in place), so a restart resumes it: a poison record is
/// not retried from zero after every restart.
public struct StreamRetryState: Sendable, Equatable {
    /// Sizes of the sub-batches bisection left, the next first; empty means a batch of `BatchSize`.
    public private(set) var splits: [Int] = []
    /// Function errors of the current batch beyond its first attempt.
    public private(set) var retries = 0
    /// Invocations that included the current batch's first record (`approximateInvokeCount`).
    public private(set) var invokeCount = 0
    /// Consecutive failures of batches that could not be split, for the back-off between retries.
    public private(set) var consecutiveFailures = 0

    public init() {}

    /// The state as stored with the checkpoint; `nil` for a fresh one (nothing to remember).
    public var encoded: String? {
        guard self != StreamRetryState() else { return nil }
        let parts = [splits.map(String.init).joined(separator: ","), "\(retries)", "\(invokeCount)", "\(consecutiveFailures)"]
        return parts.joined(separator: ";")
    }

    /// A stored state; a fresh one for `nil` or anything unreadable.
    public init(encoded: String?) {
        guard let parts = encoded?.split(separator: ";", omittingEmptySubsequences: false), parts.count == 4,
              let retries = Int(parts[1]), let invokeCount = Int(parts[2]), let failures = Int(parts[3]) else { return }
        splits = parts[0].split(separator: ",").compactMap { Int($0) }
        self.retries = retries
        self.invokeCount = invokeCount
        consecutiveFailures = failures
    }

    /// What happens after the function failed on a batch.
    public enum Decision: Sendable, Equatable {
        /// Try the same batch again.
        case retry
        /// Try the first half next, then the second (splitting does not use a retry).
        case bisected(first: Int, second: Int)
        /// Give up: the batch goes to the on-failure destination and the checkpoint passes it.
        case discard
    }

    /// The size of the next batch to hand the function.
    public func nextBatchSize(batchSize: Int) -> Int {
        splits.first.map { min($0, batchSize) } ?? batchSize
    }

    /// The function was called with the head batch.
    public mutating func invoked() { invokeCount += 1 }

    /// The function failed on the head batch of `count` records.
    public mutating func failed(count: Int, policy: StreamRetryPolicy) -> Decision {
        if policy.bisectOnError && count > 1 {
            // The first half runs at once: it is a different batch, not a retry of this one.
            let first = (count + 1) / 2
            if !splits.isEmpty { splits.removeFirst() }
            splits.insert(contentsOf: [first, count - first], at: 0)
            return .bisected(first: first, second: count - first)
        }
        consecutiveFailures += 1
        if policy.maximumRetryAttempts >= 0 && retries >= policy.maximumRetryAttempts { return .discard }
        retries += 1
        return .retry
    }

    /// The first `count` records of the head batch were processed, or given up to the on-failure destination:
    /// the checkpoint passed them.
    public mutating func advanced(by count: Int) {
        guard count > 0 else { return }
        if let head = splits.first {
            if head > count { splits[0] = head - count } else { splits.removeFirst() }
        }
        retries = 0
        invokeCount = 0
        consecutiveFailures = 0
    }

    /// The state after partial success reported with `ReportBatchItemFailures`: the first `count` records are done, and
    /// the failed ones that stay at the head were in every invocation counted so far, so `approximateInvokeCount` keeps
    /// counting them, as AWS's on-failure record does.
    public func advancingPartially(by count: Int) -> StreamRetryState {
        var next = self
        next.advanced(by: count)
        next.invokeCount = invokeCount
        return next
    }

    /// The state after `advanced(by:)`, leaving this one as it is.
    public func advancing(by count: Int) -> StreamRetryState {
        var next = self
        next.advanced(by: count)
        return next
    }

    /// The pause before the next attempt: 0.5 s doubling to 30 s.
    public var backoffMillis: Millis {
        guard consecutiveFailures > 0 else { return 0 }
        return min(30_000, 500 << Millis(min(consecutiveFailures - 1, 6)))
    }
}

/// Where a lane's checkpoint goes after a batch, in shard positions (the checkpoint is the last position
/// whose lane records are all done).
public enum StreamCheckpoint {
    /// After partial success reported with `ReportBatchItemFailures`: everything before the lowest failed
    /// record is done, so the checkpoint sits just before it (never behind where it was).
    public static func beforeFailure(lowestFailedPosition: Int64, current: Int64) -> Int64 {
        max(current, lowestFailedPosition - 1)
    }

    /// The lane of a partition key when a shard is read by `factor` concurrent lanes: records with the same key
    /// always share a lane, so their order holds.
    public static func lane(partitionKey: String, factor: Int) -> Int {
        factor <= 1 ? 0 : Int(ShardMap.hashKey(partitionKey) % UInt128(factor))
    }

    /// The start of the tumbling window holding `millis` (windows are aligned to the epoch).
    public static func windowStart(_ millis: Millis, windowSeconds: Int) -> Millis {
        let length = Millis(windowSeconds) * 1_000
        return millis - ((millis % length) + length) % length
    }
}
