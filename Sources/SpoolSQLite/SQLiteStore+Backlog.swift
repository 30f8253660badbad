import GRDB
import SpoolModel
import SpoolStorage
import Synchronization

extension SQLiteStore: BacklogStore {
    /// The rows of `invocation` and `queue_message`, as `BacklogCounter` keeps them.
    package func backlog() async throws -> Backlog {
        let counts = backlogCounter.counts
        return Backlog(asyncEvents: counts.invocations, queueMessages: counts.messages, streamRecords: counts.records)
    }
}

/// The number of rows in `invocation`, `queue_message` and `stream_record`, counted once when the store opens and then kept by
/// watching the writer's inserts and deletes (SQLite's update hook, through GRDB): a change counts once its
/// transaction commits, and not at all when its savepoint or transaction rolls back. Nothing is written for it,
/// so it costs a drain nothing measurable, where a trigger per row halved batch-1000 queue-mapping drains.
final class BacklogCounter: TransactionObserver, @unchecked Sendable {
    private let committed: Mutex<(invocations: Int, messages: Int, records: Int)>
    /// Changes of the open transaction: touched only on the writer's queue, inside its transactions.
    private var pending = (invocations: 0, messages: 0, records: 0)

    init(invocations: Int, messages: Int, records: Int) {
        committed = Mutex((invocations, messages, records))
    }

    var counts: (invocations: Int, messages: Int, records: Int) { committed.withLock { $0 } }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        switch eventKind {
        case .insert(let table), .delete(let table): table == "invocation" || table == "queue_message" || table == "stream_record"
        case .update: false
        }
    }

    func databaseDidChange(with event: DatabaseEvent) {
        let delta: Int
        switch event.kind {
        case .insert: delta = 1
        case .delete: delta = -1
        case .update: return
        }
        switch event.tableName {
        case "invocation": pending.invocations += delta
        case "queue_message": pending.messages += delta
        default: pending.records += delta
        }
    }

    func databaseDidCommit(_ db: Database) {
        let changes = pending
        pending = (0, 0, 0)
        guard changes != (0, 0, 0) else { return }
        committed.withLock { counts in
            counts.invocations += changes.invocations
            counts.messages += changes.messages
            counts.records += changes.records
        }
    }

    func databaseDidRollback(_ db: Database) {
        pending = (0, 0, 0)
    }
}
