/// Rules shared by every SQS `…Batch` operation.
public enum BatchEntries {
    /// At most ten entries per batch.
    public static let maximumCount = 10

    /// Checks the count, the id format and that ids are distinct, throwing the AWS batch errors.
    public static func validate(ids: [String]) throws(SpoolError) {
        guard !ids.isEmpty else {
            throw SpoolError(.emptyBatchRequest, "There should be at least one SendMessageBatchRequestEntry in the request.")
        }
        guard ids.count <= maximumCount else {
            throw SpoolError(.tooManyEntriesInBatchRequest, "Maximum number of entries per request are 10. You have sent \(ids.count).")
        }
        for id in ids where !isValidID(id) {
            throw SpoolError(.invalidBatchEntryId, "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
        }
        var seen: Set<String> = []
        for id in ids where !seen.insert(id).inserted {
            // SQS's own words, naming the first id repeated.
            throw SpoolError(.batchEntryIdsNotDistinct, "Id \(id) repeated.")
        }
    }

    static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 80 && id.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x5F
        }
    }
}
