import SpoolModel

/// What waits in the store, for the intake limits (`limits.maxBacklog`).
public struct Backlog: Sendable, Equatable {
    /// Asynchronous events accepted and not finished (waiting or running).
    public var asyncEvents: Int
    /// Queue messages stored and not deleted (visible, in flight or delayed).
    public var queueMessages: Int
    /// Stream records stored (until their retention ends).
    public var streamRecords: Int

    public init(asyncEvents: Int, queueMessages: Int, streamRecords: Int = 0) {
        self.asyncEvents = asyncEvents
        self.queueMessages = queueMessages
        self.streamRecords = streamRecords
    }
}

/// The backlog, read cheaply: from counts the store keeps as rows come and go, never by counting the rows.
public protocol BacklogStore: Sendable {
    func backlog() async throws -> Backlog
}

/// Every storage protocol: what a backend implements, and all the server needs of it.
package typealias SpoolStores = QueueStore & FunctionStore & InvocationStore & EventInvokeConfigStore & DeadLetterStore & DestinationDeliveryStore
    & MappingStore & StreamStore & InvocationJournalStore & OverviewStore & BacklogStore
