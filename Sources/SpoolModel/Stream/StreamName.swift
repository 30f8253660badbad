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
    /// `arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`.
    public func streamARN(_ name: String) -> String {
        "arn:aws:kinesis:\(region):\(accountID):stream/\(name)"
    }

    /// The stream name a Kinesis ARN of this account and region names, or `nil` when it names something else.
    public func streamName(fromARN arn: String) -> String? {
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[1] == "aws", parts[2] == "kinesis",
              parts[3] == region, parts[4] == accountID, parts[5].hasPrefix("stream/")
        else { return nil }
        let name = String(parts[5].dropFirst("stream/".count))
        return StreamName.problem(name) == nil ? name : nil
    }
}
