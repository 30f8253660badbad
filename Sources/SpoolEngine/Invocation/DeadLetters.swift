import Foundation
import SpoolModel
import SpoolSignals
import SpoolStorage

/// The operator's view of asynchronous events that finally failed: list, inspect, replay, purge.
///
/// Replay and purge work through the matching dead letters in chunks, one short transaction each, so
/// that replaying a hundred thousand of them never holds the writer for long and reports progress.
package struct DeadLetters: Sendable {
    let store: any DeadLetterStore
    let dispatcher: AsyncDispatcher
    let clock: any SpoolClock

    /// Dead letters handled per transaction by replay and purge.
    package static let chunk = 500

    package init(store: any DeadLetterStore, dispatcher: AsyncDispatcher, clock: any SpoolClock = WallClock()) {
        self.store = store
        self.dispatcher = dispatcher
        self.clock = clock
    }

    /// A page of dead letters, oldest first, after `afterID`.
    package func list(_ filter: DeadLetterFilter, afterID: Int64 = 0, limit: Int = 100) async throws -> [DeadLetter] {
        try await store.deadLetters(filter, afterID: afterID, limit: limit)
    }

    package func get(_ id: Int64) async throws -> DeadLetter {
        guard let letter = try await store.deadLetter(id: id) else {
            throw SpoolError(.resourceNotFound, "Dead letter \(id) does not exist.")
        }
        return letter
    }

    /// Progress of a replay or purge after each chunk.
    package struct Progress: Sendable, Equatable, Codable {
        package var examined = 0
        package var replayed = 0
        package var skipped = 0
        package var purged = 0
        package var done = false

        package init() {}
    }

    /// Replays every matching dead letter as a new event (attempts reset, linked to its dead letter);
    /// one already replayed is skipped unless `force`. `progress` is called after every chunk.
    @discardableResult
    package func replay(_ filter: DeadLetterFilter, force: Bool, progress: @Sendable (Progress) async -> Void = { _ in }) async throws -> Progress {
        var total = Progress()
        var after: Int64 = 0
        while true {
            let now = clock.now()
            let chunk = try await store.replayDeadLetters(ReplayDeadLettersParams(
                filter: filter, afterID: after, limit: Self.chunk, force: force, makeRequestID: { UUID().uuidString.lowercased() }, now: now))
            for function in chunk.functions { dispatcher.notify(function: function, visibleAt: now) }
            for queue in chunk.queuesSent { dispatcher.queueSignals.signal(queue) }
            if chunk.postsQueued > 0 { dispatcher.deliveryWakeups.signal() }
            total.examined += chunk.examined
            total.replayed += chunk.replayed
            total.skipped += chunk.skipped
            guard let last = chunk.lastID, chunk.examined == Self.chunk else { break }
            after = last
            await progress(total)
        }
        total.done = true
        await progress(total)
        return total
    }

    /// Deletes every matching dead letter.
    @discardableResult
    package func purge(_ filter: DeadLetterFilter, progress: @Sendable (Progress) async -> Void = { _ in }) async throws -> Progress {
        var total = Progress()
        var after: Int64 = 0
        while true {
            let (count, last) = try await store.purgeDeadLetters(filter, afterID: after, limit: Self.chunk)
            total.examined += count
            total.purged += count
            guard let last, count == Self.chunk else { break }
            after = last
            await progress(total)
        }
        total.done = true
        await progress(total)
        return total
    }
}
