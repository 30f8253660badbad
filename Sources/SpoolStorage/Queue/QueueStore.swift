import SpoolModel

/// Durable storage of queues and their messages, with SQS semantics.
///
/// Every write is one transaction: a caller that got an answer knows the effect is committed. Errors
/// are `SpoolError` values carrying the AWS code; anything else thrown is a storage failure.
public protocol QueueStore: Sendable {
    /// Creates a queue, or returns the existing one when every given attribute matches it.
    func createQueue(_ params: CreateQueueParams) async throws -> QueueRecord
    /// The queue called `name`, or `nil`.
    func queue(named name: String) async throws -> QueueRecord?
    /// Queues whose names start with `prefix`, ordered by name, starting after `afterName`.
    func listQueues(_ params: ListQueuesParams) async throws -> [QueueRecord]
    /// Deletes a queue and its messages. The name stays reserved for 60 seconds.
    func deleteQueue(_ params: DeleteQueueParams) async throws
    /// Applies attributes to an existing queue.
    func setQueueAttributes(_ params: SetQueueAttributesParams) async throws -> QueueRecord
    /// The approximate message counts of a queue at `now`.
    func counts(queueID: Int64, now: Millis) async throws -> QueueCounts
    /// Adds or replaces tags.
    func tagQueue(name: String, tags: [String: String], now: Millis) async throws
    /// Removes tags by key.
    func untagQueue(name: String, keys: [String], now: Millis) async throws
    /// Deletes every message in the queue; at most once per 60 seconds.
    func purgeQueue(_ params: PurgeQueueParams) async throws
    /// Stores messages in one transaction and reports each one's id (FIFO duplicates get the first id).
    func sendMessages(_ params: SendMessagesParams) async throws -> [SentMessage]
    /// Leases up to `maxMessages` visible messages, moving those past `maxReceiveCount` to the
    /// dead-letter queue first, in the same transaction.
    func receiveMessages(_ params: ReceiveMessagesParams) async throws -> ReceiveOutcome
    /// The earliest time after `now` at which a message of the queue becomes visible, if any.
    func nextVisibleAt(queueID: Int64, now: Millis) async throws -> Millis?
    /// Deletes messages by receipt; a receipt from an earlier receive never deletes a later one.
    func deleteMessages(_ params: DeleteMessagesParams) async throws -> [SpoolError?]
    /// Makes in-flight messages visible again at once, undoing the receive that leased them (their receive
    /// count goes back down): for a poller that leased more than fits one batch, or whose function could not
    /// run at all (throttled), so that neither counts toward the queue's `maxReceiveCount`. Stale receipts
    /// change nothing.
    func releaseMessages(_ params: DeleteMessagesParams) async throws
    /// Changes the visibility timeout of in-flight messages, counting from `now`.
    func changeVisibility(_ params: ChangeVisibilityParams) async throws -> [SpoolError?]
    /// Queues whose redrive policy names this queue as their dead-letter queue.
    func deadLetterSourceQueues(of name: String) async throws -> [QueueRecord]
    /// Starts a message move task out of a dead-letter queue.
    func startMoveTask(_ params: StartMoveTaskParams) async throws -> MoveTask
    /// The most recent move tasks of a source queue, newest first.
    func listMoveTasks(sourceARN: String, limit: Int) async throws -> [MoveTask]
    /// Cancels a running task and returns it.
    func cancelMoveTask(handle: String, now: Millis) async throws -> MoveTask
    /// Moves the next messages of every running task, within each task's rate, and finishes tasks
    /// that have nothing left.
    func runMoveTasks(_ params: RunMoveTasksParams) async throws -> MoveTaskProgress
    /// Deletes messages past their queue's retention period, at most `limit` of them.
    func pruneExpiredMessages(now: Millis, limit: Int) async throws -> Int
}
