/// How many batches a queue mapping may run at once, as Lambda scales SQS pollers: five to start with,
/// up to 300 more per minute while messages keep waiting, at most 1,000, and back to five when the queue is
/// empty. `ScalingConfig.MaximumConcurrency` replaces all of that with a fixed ceiling.
public struct MappingScaling: Sendable, Equatable {
    public static let initial = 5
    public static let ceiling = 1_000
    public static let increasePerMinute = 300

    public private(set) var level = Self.initial
    private var lastGrowth: Millis

    public init(now: Millis) {
        lastGrowth = now
    }

    /// Concurrent batches allowed now.
    public func limit(maximumConcurrency: Int?) -> Int {
        maximumConcurrency ?? level
    }

    /// Records whether messages were left waiting while every allowed batch was running. Growth is
    /// earned only by time spent backlogged, at the permitted rate.
    public mutating func observe(backlogged: Bool, now: Millis) {
        guard backlogged else {
            lastGrowth = now
            return
        }
        let earned = Int((now - lastGrowth) * Millis(Self.increasePerMinute) / 60_000)
        guard earned > 0 else { return }
        level = min(Self.ceiling, level + earned)
        lastGrowth = now
    }

    /// The queue had nothing to give: scale back.
    public mutating func idle(now: Millis) {
        level = Self.initial
        lastGrowth = now
    }
}
