import Foundation

/// A record as a stream keeps it: its shard, its position there, and what the producer sent.
public struct StreamRecord: Sendable, Equatable {
    public var shardIndex: Int
    /// The record's position in its shard, from 0; sequence numbers are made from it.
    public var position: Int64
    public var partitionKey: String
    public var data: Data
    public var arrivalMillis: Millis

    public init(shardIndex: Int, position: Int64, partitionKey: String, data: Data, arrivalMillis: Millis) {
        self.shardIndex = shardIndex
        self.position = position
        self.partitionKey = partitionKey
        self.data = data
        self.arrivalMillis = arrivalMillis
    }
}

/// Kinesis limits that the API and the pollers enforce.
public enum StreamLimits {
    public static let maximumRecordBytes = 1_048_576
    public static let partitionKeyLength = 1...256
    public static let putRecordsEntries = 1...500
    /// A PutRecords request carries at most 5 MiB of data and partition keys.
    public static let putRecordsBytes = 5 * 1_048_576
    public static let getRecordsLimit = 1...10_000
    public static let getRecordsBytes = 10 * 1_048_576
    /// Shards per stream; Kinesis's default account quota for a stream is far larger, Spool keeps it small.
    public static let shardCount = 1...1_000
    public static let defaultRetentionHours = 24
    public static let retentionHours = 24...8_760
    /// A shard iterator is valid for five minutes after it was issued.
    public static let iteratorLifetimeMillis: Millis = 300_000
}

/// A quoted JSON string, without an encoder for the common plain-ASCII case.
public enum JSONText {
    public static func quoted(_ text: String) -> String {
        var text = text
        let plain = text.withUTF8 { bytes in
            bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }
        }
        if plain { return "\"" + text + "\"" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let data = (try? encoder.encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// Seconds with millisecond precision, as Kinesis writes `approximateArrivalTimestamp`.
    public static func epochSeconds(_ millis: Millis) -> String {
        let seconds = millis / 1_000
        let fraction = millis % 1_000
        let digits = String(fraction)
        return "\(seconds)." + String(repeating: "0", count: 3 - digits.count) + digits
    }
}
