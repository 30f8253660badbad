import SpoolModel

/// What waits in the store, for the intake limits (`limits.maxBacklog`).
public struct Backlog: Sendable, Equatable {
    /// Asynchronous events accepted and not finished (waiting or running).
    public var asyncEvents: Int
    /// Queue messages stored and not deleted (visible, in flight or delayed).
    public var queueMessages: Int

    public init(asyncEvents: Int, queueMessages: Int) {
        self.asyncEvents = asyncEvents
        self.queueMessages = queueMessages
    }
}

/// The backlog, read cheaply: from counts the store keeps as rows come and go, never by counting the rows.
public protocol BacklogStore: Sendable {
    func backlog() async throws -> Backlog
}
