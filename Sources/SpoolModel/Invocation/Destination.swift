/// Where an invocation record goes: a Spool queue, a function invoked asynchronously with the record as
/// its payload, or (a Spool extension) an `http(s)://` URL the record is POSTed to.
public enum Destination: Sendable, Equatable {
    case queue(name: String)
    /// A function, or one version or alias of it (`qualifier`; `nil` for the unqualified ARN or `$LATEST`).
    case function(name: String, qualifier: String? = nil)
    case url(String)

    /// The longest destination AWS accepts.
    public static let maximumLength = 350

    /// Reads a destination as PutFunctionEventInvokeConfig received it; `nil` for a form Spool does not
    /// deliver to (another account, SNS, EventBridge, S3; Kinesis is not a destination type on AWS). Queues and
    /// functions are named by their stored names, in whatever region their ARN names.
    public static func parse(_ text: String, identity: AWSIdentity) -> Destination? {
        if text.hasPrefix("http://") || text.hasPrefix("https://") {
            return text.count > text.prefix(8).count ? .url(text) : nil
        }
        if let queue = identity.queueName(fromARN: text) { return .queue(name: queue) }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 7 || parts.count == 8, parts[0] == "arn", parts[1] == "aws", parts[2] == "lambda", parts[5] == "function",
              FunctionReference.isValidName(String(parts[6])),
              let name = identity.stored(arnRegion: parts[3], account: parts[4], name: String(parts[6]))
        else { return nil }
        guard parts.count == 8, parts[7] != "$LATEST" else { return .function(name: name) }
        guard FunctionReference.isValidQualifier(String(parts[7])) else { return nil }
        return .function(name: name, qualifier: String(parts[7]))
    }

    /// Whether AWS's model pattern accepts the text (`arn:…` or empty); the `http(s)://` extension is Spool's.
    public static func matchesModelPattern(_ text: String) -> Bool {
        if text.isEmpty || text.hasPrefix("http://") || text.hasPrefix("https://") || text.hasPrefix("kafka://") { return true }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count >= 6 && parts[0] == "arn" && parts[1].hasPrefix("aws") && !parts[2].isEmpty
    }
}
