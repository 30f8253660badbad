import SpoolModel

extension QueueService {
    /// Checks every entry of a batch, hands the ones that pass to `apply` in a single store call, and
    /// returns each entry's outcome in the order the entries came.
    static func perEntry<Entry, Valid, Output>(
        _ entries: [Entry],
        check: (Entry) throws(SpoolError) -> Valid,
        apply: ([Valid]) async throws -> [Result<Output, SpoolError>]
    ) async throws -> [Result<Output, SpoolError>] {
        var results: [Result<Output, SpoolError>?] = []
        var valid: [Valid] = []
        var positions: [Int] = []
        for (index, entry) in entries.enumerated() {
            do {
                valid.append(try check(entry))
                positions.append(index)
                results.append(nil)
            } catch {
                results.append(.failure(error))
            }
        }
        if !valid.isEmpty {
            for (index, outcome) in zip(positions, try await apply(valid)) { results[index] = outcome }
        }
        return results.map { $0! }
    }

    /// A store's per-entry error, as a result.
    static func result(_ error: SpoolError?) -> Result<Void, SpoolError> {
        error.map { .failure($0) } ?? .success(())
    }
}

extension Result where Failure == SpoolError {
    /// The error, or `nil` on success.
    var error: SpoolError? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
