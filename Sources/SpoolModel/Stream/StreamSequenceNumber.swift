/// A record's place in its stream, and the 56-digit decimal string Kinesis clients see.
///
/// The string is fixed-width, so numeric and textual order agree: `49`, the stream's creation time in
/// seconds (10 digits, so a stream deleted and created again never reuses a number), the shard index
/// (6 digits), the record's position in its shard (19 digits), its arrival time in milliseconds
/// (13 digits) and 6 zero digits. Within a shard, later records have larger numbers.
public struct StreamSequenceNumber: Sendable, Hashable, Comparable {
    public var streamCreatedSeconds: Int64
    public var shardIndex: Int
    /// The record's position in its shard, from 0.
    public var position: Int64
    public var arrivalMillis: Int64

    public init(streamCreatedSeconds: Int64, shardIndex: Int, position: Int64, arrivalMillis: Int64) {
        self.streamCreatedSeconds = streamCreatedSeconds
        self.shardIndex = shardIndex
        self.position = position
        self.arrivalMillis = arrivalMillis
    }

    public static let length = 56

    /// The 56 digits, written into one buffer (every record of every event needs it).
    public var text: String {
        String(unsafeUninitializedCapacity: Self.length) { buffer in
            buffer[0] = UInt8(ascii: "4")
            buffer[1] = UInt8(ascii: "9")
            var end = 2
            for (value, width) in [(streamCreatedSeconds, 10), (Int64(shardIndex), 6), (position, 19), (arrivalMillis, 13), (0, 6)] {
                var rest = UInt64(max(0, value))
                for offset in stride(from: end + width - 1, through: end, by: -1) {
                    buffer[offset] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
                end += width
            }
            return end
        }
    }

    /// Reads a sequence number Spool issued; `nil` for anything else.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == Self.length, bytes[0] == 52, bytes[1] == 57, bytes.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        func field(_ start: Int, _ count: Int) -> Int64? { Int64(String(decoding: bytes[start..<(start + count)], as: UTF8.self)) }
        guard let created = field(2, 10), let shard = field(12, 6), let position = field(18, 19), let arrival = field(37, 13) else { return nil }
        self.init(streamCreatedSeconds: created, shardIndex: Int(shard), position: position, arrivalMillis: arrival)
    }

    /// Whether `text` has the form Kinesis's model allows (`0|[1-9]\d{0,128}`).
    public static func matchesModelPattern(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 129, bytes.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return false }
        return bytes.count == 1 || bytes[0] != 48
    }

    public static func < (lhs: StreamSequenceNumber, rhs: StreamSequenceNumber) -> Bool {
        (lhs.shardIndex, lhs.position) < (rhs.shardIndex, rhs.position)
    }

    static func padded(_ value: Int64, _ width: Int) -> String {
        let digits = String(max(0, value))
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
