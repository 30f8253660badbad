import GRDB
import Metrics
import Synchronization

/// The single writer of a database, with group commit.
///
/// Writes queue up while a commit is in progress; the next drain runs all of them in one
/// transaction, each inside its own savepoint so that one failing write rolls back only itself.
/// A caller resumes only after the transaction holding its write has committed. Under load this
/// turns many requests into one fsync; idle, every write is its own commit.
///
/// A write may say it need not survive power loss (`durable: false`): a lease, whose loss only makes
/// a message or event deliverable again. A group made only of such writes commits with
/// `synchronous=NORMAL` — no fsync of its own — on a `synchronous=FULL` store; the next durable commit
/// flushes the WAL, its frames included. Durable writes are unaffected.
final class GroupCommitWriter: Sendable {
    private struct State {
        var pending: [any PendingWrite] = []
        var draining = false
    }

    private let pool: DatabasePool
    private let state = Mutex(State())
    private let commits = Atomic<Int>(0)
    private let commitCounter = Counter(label: "spool_store_commits_total")
    private let groupSize = Recorder(label: "spool_store_commit_group_size")
    /// The largest number of writes committed together, bounding the latency of one group.
    let maximumGroupSize: Int

    /// Whether the connection runs with `synchronous=FULL`, so that lease-only groups can skip the fsync.
    private let fullDurability: Bool

    init(pool: DatabasePool, fullDurability: Bool, maximumGroupSize: Int = 512) {
        self.pool = pool
        self.fullDurability = fullDurability
        self.maximumGroupSize = maximumGroupSize
    }

    /// Transactions committed since the writer was made.
    var committedTransactions: Int { commits.load(ordering: .relaxed) }

    /// Runs `body` in the next group transaction and returns its result once that transaction committed.
    /// - Parameter durable: `false` for a write whose loss in a power failure loses nothing acknowledged.
    func write<T: Sendable>(durable: Bool = true, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let write = TypedWrite(body: body, durable: durable, continuation: continuation)
            let startDrain = state.withLock { state in
                state.pending.append(write)
                if state.draining { return false }
                state.draining = true
                return true
            }
            if startDrain {
                pool.asyncWriteWithoutTransaction { db in self.drain(db) }
            }
        }
    }

    private func drain(_ db: Database) {
        while true {
            let group: [any PendingWrite] = state.withLock { state in
                let count = min(state.pending.count, maximumGroupSize)
                let group = Array(state.pending.prefix(count))
                state.pending.removeFirst(count)
                if group.isEmpty { state.draining = false }
                return group
            }
            if group.isEmpty { return }
            var commitError: (any Error)?
            let relaxed = fullDurability && !group.contains(where: \.durable)
            do {
                if relaxed { try db.execute(sql: "PRAGMA synchronous = NORMAL") }
                defer { if relaxed { try? db.execute(sql: "PRAGMA synchronous = FULL") } }
                try db.inTransaction(.immediate) {
                    for write in group { write.perform(db) }
                    return .commit
                }
                commits.add(1, ordering: .relaxed)
                commitCounter.increment()
                groupSize.record(group.count)
            } catch {
                commitError = error
            }
            for write in group { write.complete(commitError: commitError) }
        }
    }
}

private protocol PendingWrite: Sendable {
    var durable: Bool { get }
    func perform(_ db: Database)
    func complete(commitError: (any Error)?)
}

/// One caller's write. Mutated only on the writer's queue, then read once to resume the caller.
private final class TypedWrite<T: Sendable>: PendingWrite, @unchecked Sendable {
    let body: @Sendable (Database) throws -> T
    let durable: Bool
    let continuation: CheckedContinuation<T, any Error>
    var result: Result<T, any Error>?

    init(body: @escaping @Sendable (Database) throws -> T, durable: Bool, continuation: CheckedContinuation<T, any Error>) {
        self.body = body
        self.durable = durable
        self.continuation = continuation
    }

    func perform(_ db: Database) {
        do {
            var value: T?
            try db.inSavepoint {
                value = try body(db)
                return .commit
            }
            result = .success(value!)
        } catch {
            result = .failure(error)
        }
    }

    func complete(commitError: (any Error)?) {
        if let commitError {
            continuation.resume(throwing: commitError)
        } else {
            continuation.resume(with: result ?? .failure(DatabaseError(resultCode: .SQLITE_MISUSE)))
        }
    }
}
