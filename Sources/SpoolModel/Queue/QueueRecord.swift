/// A queue as stored: its identity, attributes and tags.
public struct QueueRecord: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var attributes: QueueAttributes
    public var tags: [String: String]
    public var createdAt: Millis
    public var modifiedAt: Millis

    public init(id: Int64, name: String, attributes: QueueAttributes, tags: [String: String], createdAt: Millis, modifiedAt: Millis) {
        self.id = id
        self.name = name
        self.attributes = attributes
        self.tags = tags
        self.createdAt = createdAt
        self.modifiedAt = modifiedAt
    }

    public var isFIFO: Bool { attributes.fifoQueue }
}

/// The approximate counts GetQueueAttributes reports.
public struct QueueCounts: Sendable, Equatable {
    /// Visible now and not expired.
    public var visible: Int
    /// Received and still under a lease.
    public var inFlight: Int
    /// Never received and not yet visible (DelaySeconds).
    public var delayed: Int

    public init(visible: Int, inFlight: Int, delayed: Int) {
        self.visible = visible
        self.inFlight = inFlight
        self.delayed = delayed
    }
}

/// Rules for tags on queues.
public enum QueueTags {
    /// Validates tags to add: keys 1–128 characters, values up to 256, at most 50 per queue in all.
    public static func validate(_ tags: [String: String], existing: [String: String] = [:]) throws(SpoolError) {
        for (key, value) in tags {
            guard !key.isEmpty, key.count <= 128, value.count <= 256 else {
                throw SpoolError(.invalidParameterValue, "Tag keys must be 1 to 128 characters and values at most 256 characters.")
            }
        }
        guard existing.merging(tags, uniquingKeysWith: { $1 }).count <= 50 else {
            throw SpoolError(.invalidParameterValue, "Too many tags added for queue. A queue can have at most 50 tags.")
        }
    }
}
