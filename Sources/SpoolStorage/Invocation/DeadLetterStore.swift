import SpoolModel

/// The events that finally failed, kept for an operator to inspect, replay or purge.
public protocol DeadLetterStore: Sendable {
    /// Dead letters matching `filter` with ids above `afterID`, oldest first.
    func deadLetters(_ filter: DeadLetterFilter, afterID: Int64, limit: Int) async throws -> [DeadLetter]
    /// One dead letter.
    func deadLetter(id: Int64) async throws -> DeadLetter?
    /// Replays up to `limit` matching dead letters with ids above `afterID` in one transaction: each becomes
    /// a new event (attempts reset, linked to its dead letter) and is marked replayed.
    func replayDeadLetters(_ params: ReplayDeadLettersParams) async throws -> ReplayChunk
    /// Deletes up to `limit` matching dead letters with ids above `afterID`; returns how many and the last id.
    func purgeDeadLetters(_ filter: DeadLetterFilter, afterID: Int64, limit: Int) async throws -> (count: Int, lastID: Int64?)
}
