/// Kinesis's rules for stream tags: at most 50 per stream, keys of 1–128 characters, values of 0–256.
public enum StreamTags {
    public static let maximumCount = 50
    public static let keyLength = 1...128
    public static let valueLength = 0...256

    /// Checks `added` against the limits, given the tags the stream has.
    public static func validate(_ added: [String: String], existing: [String: String], stream: String, account: String) throws(SpoolError) {
        for (key, value) in added.sorted(by: { $0.key < $1.key }) {
            guard keyLength.contains(key.count) else {
                throw SpoolError(.invalidArgument, "Failed to add tags to stream \(stream) under account \(account) because the tag key \"\(key)\" is not 1 to 128 characters long.")
            }
            guard valueLength.contains(value.count) else {
                throw SpoolError(.invalidArgument, "Failed to add tags to stream \(stream) under account \(account) because the value of tag \"\(key)\" is longer than 256 characters.")
            }
            if key.lowercased().hasPrefix("aws:") {
                throw SpoolError(.invalidArgument, "Failed to add tags to stream \(stream) under account \(account) because tag keys may not start with \"aws:\".")
            }
        }
        guard existing.merging(added, uniquingKeysWith: { $1 }).count <= maximumCount else {
            throw SpoolError(.invalidArgument, "Failed to add tags to stream \(stream) under account \(account) because a given stream cannot have more than \(maximumCount) tags associated with it.")
        }
    }
}
