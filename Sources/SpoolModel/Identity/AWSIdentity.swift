/// The account and region Spool pretends to be, used in every ARN and queue URL it hands out.
public struct AWSIdentity: Sendable, Equatable {
    /// Twelve digits; `000000000000` by default, as local AWS emulators use.
    public var accountID: String
    /// A region name such as `us-east-1`.
    public var region: String

    public init(accountID: String = "000000000000", region: String = "us-east-1") {
        self.accountID = accountID
        self.region = region
    }

    /// `arn:aws:sqs:REGION:ACCOUNT:NAME`.
    public func queueARN(_ name: String) -> String {
        "arn:aws:sqs:\(region):\(accountID):\(name)"
    }

    /// The queue name an SQS ARN of this account and region names, or `nil` when it names something else.
    public func queueName(fromARN arn: String) -> String? {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[1] == "aws", parts[2] == "sqs",
              parts[3] == region, parts[4] == accountID, !parts[5].isEmpty
        else { return nil }
        return String(parts[5])
    }
}
