/// Rules for SQS queue names.
public enum QueueName {
    /// Whether `name` is a valid queue name: 1–80 characters of `[A-Za-z0-9_-]`, where a FIFO queue's
    /// name ends in `.fifo` (the suffix counts toward the 80).
    public static func isValid(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 80 else { return false }
        let stem = name.hasSuffix(".fifo") ? String(name.dropLast(5)) : name
        guard !stem.isEmpty else { return false }
        return stem.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x5F
        }
    }

    /// Whether the name marks a FIFO queue.
    public static func isFIFO(_ name: String) -> Bool { name.hasSuffix(".fifo") }

    /// The error AWS returns for a bad name.
    public static func invalidNameError() -> SpoolError {
        SpoolError(
            .invalidParameterValue,
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        )
    }
}
