import Foundation

/// Kinesis stream names: 1–128 characters of `[a-zA-Z0-9_.-]`.
public enum StreamName {
    public static let maximumLength = 128

    /// `nil` when the name is valid, else the constraint it breaks, worded as Kinesis's validator words it.
    public static func problem(_ name: String) -> String? {
        if name.isEmpty { return "Member must have length greater than or equal to 1" }
        if name.count > maximumLength { return "Member must have length less than or equal to \(maximumLength)" }
        let valid = name.unicodeScalars.allSatisfy { scalar in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "_", ".", "-": return true
            default: return false
            }
        }
        return valid ? nil : "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
    }
}

extension AWSIdentity {
    /// `arn:aws:kinesis:REGION:ACCOUNT:stream/NAME` of a stored stream name.
    public func streamARN(_ stored: String) -> String {
        "arn:aws:kinesis:\(region(of: stored)):\(accountID):stream/\(Self.plainName(stored))"
    }

    /// The stored name of the stream a Kinesis ARN of this account names (in any region), or `nil` when it names
    /// something else.
    public func streamName(fromARN arn: String) -> String? {
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[1] == "aws", parts[2] == "kinesis", parts[5].hasPrefix("stream/") else { return nil }
        let name = String(parts[5].dropFirst("stream/".count))
        guard StreamName.problem(name) == nil else { return nil }
        return stored(arnRegion: parts[3], account: parts[4], name: name)
    }

    /// `arn:aws:kinesis:REGION:ACCOUNT:stream/STREAM/consumer/NAME:CREATED`, the creation time in epoch seconds (a
    /// consumer registered again under its name has a new ARN, as on Kinesis).
    public func consumerARN(stream: String, consumer: String, createdSeconds: Int64) -> String {
        "\(streamARN(stream))/consumer/\(consumer):\(createdSeconds)"
    }

    /// The stored stream name, consumer name and creation second a consumer ARN of this account names, or `nil`.
    public func consumer(fromARN arn: String) -> (stream: String, consumer: String, createdSeconds: Int64)? {
        guard let marker = arn.range(of: "/consumer/"), let stream = streamName(fromARN: String(arn[..<marker.lowerBound])) else { return nil }
        let rest = arn[marker.upperBound...]
        guard let colon = rest.lastIndex(of: ":"), let seconds = Int64(rest[rest.index(after: colon)...]) else { return nil }
        let name = String(rest[..<colon])
        return StreamName.problem(name) == nil ? (stream, name, seconds) : nil
    }

    /// The stream an event source mapping's ARN reads: a stream's ARN, or the ARN of one of its consumers (enhanced
    /// fan-out), which reads the consumer's stream.
    public func streamName(fromSourceARN arn: String) -> String? {
        consumer(fromARN: arn)?.stream ?? streamName(fromARN: arn)
    }
}
