/// A message move task: moves the messages of a dead-letter queue to a destination queue, or back to
/// each message's own source queue when no destination is given.
public struct MoveTask: Sendable, Equatable {
    /// Who moves a task between states: StartMessageMoveTask creates it `running`; the move runner
    /// marks it `completed` once nothing eligible is left, or `failed` when a destination disappears;
    /// CancelMessageMoveTask marks a running task `cancelled`.
    public enum Status: String, Sendable, CaseIterable {
        case running = "RUNNING"
        case completed = "COMPLETED"
        case cancelling = "CANCELLING"
        case cancelled = "CANCELLED"
        case failed = "FAILED"
    }

    public var handle: String
    public var sourceARN: String
    public var destinationARN: String?
    public var maxNumberOfMessagesPerSecond: Int?
    public var status: Status
    public var moved: Int
    public var toMove: Int
    public var failureReason: String?
    public var startedAt: Millis

    public init(
        handle: String, sourceARN: String, destinationARN: String?, maxNumberOfMessagesPerSecond: Int?,
        status: Status, moved: Int, toMove: Int, failureReason: String?, startedAt: Millis
    ) {
        self.handle = handle
        self.sourceARN = sourceARN
        self.destinationARN = destinationARN
        self.maxNumberOfMessagesPerSecond = maxNumberOfMessagesPerSecond
        self.status = status
        self.moved = moved
        self.toMove = toMove
        self.failureReason = failureReason
        self.startedAt = startedAt
    }
}
