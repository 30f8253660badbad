import Synchronization
import SpoolModel
import SpoolStorage

/// Invocations, errors, throttles and time per function and minute over the last hour, kept in memory for the
/// overview's charts and the last hour's counts (reading them from the journal would scan up to an hour of
/// invocations on every refresh). Seeded from the journal at start-up, so the charts survive a restart.
package final class ActivityTracker: Sendable {
    static let bucketMs: Millis = 60_000
    static let windowMs: Millis = 3_600_000
    private let buckets = Mutex<[BucketKey: ActivityBucket]>([:])

    struct BucketKey: Hashable {
        var start: Millis
        var function: String
    }

    package init() {}

    package func record(_ function: String, at time: Millis, outcome: JournalEntry.Outcome, durationMs: Double) {
        let start = time / Self.bucketMs * Self.bucketMs
        buckets.withLock { buckets in
            let key = BucketKey(start: start, function: function)
            var bucket = buckets[key] ?? ActivityBucket(start: start, functionName: function, invocations: 0, errors: 0, throttles: 0, totalDurationMs: 0)
            bucket.invocations += 1
            if outcome == .error || outcome == .timeout { bucket.errors += 1 }
            if outcome == .throttled { bucket.throttles += 1 }
            bucket.totalDurationMs += durationMs
            buckets[key] = bucket
            // A new minute: forget the ones that left the window.
            if buckets.count > 1, bucket.invocations == 1 {
                buckets = buckets.filter { $0.key.start > start - Self.windowMs }
            }
        }
    }

    /// Adds the last hour as the journal recorded it (at start-up, before anything runs).
    package func seed(from store: any InvocationJournalStore, now: Millis) async throws {
        seed(try await store.invocationActivity(since: now - Self.windowMs, bucketMs: Self.bucketMs))
    }

    /// Adds buckets read from the journal.
    package func seed(_ seeded: [ActivityBucket]) {
        buckets.withLock { buckets in
            for bucket in seeded { buckets[BucketKey(start: bucket.start, function: bucket.functionName)] = bucket }
        }
    }

    /// Buckets that started at or after `since`, oldest first.
    package func activity(since: Millis) -> [ActivityBucket] {
        buckets.withLock { buckets in
            buckets.values.filter { $0.start >= since }.sorted { ($0.start, $0.functionName) < ($1.start, $1.functionName) }
        }
    }
}
