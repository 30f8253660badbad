/// The account Spool pretends to be, its home region, and the region a request acts in; used in every ARN and queue
/// URL it hands out.
///
/// Each region is its own namespace, as on AWS. A resource of the home region (`region` in the configuration) is
/// stored under its name, so data written before regions were namespaces stays where it was; a resource of any other
/// region is stored as `REGION/NAME` (no queue, stream or function name may hold a `/`). Everything inside Spool
/// names resources by that stored name; the ARN helpers turn it into the resource's own region's ARN and back, and
/// the API handlers qualify the names a request brings with the region it was signed for (`acting(in:)`).
public struct AWSIdentity: Sendable, Equatable {
    /// Twelve digits; `000000000000` by default, as local AWS emulators use.
    public var accountID: String
    /// The region this identity acts in: names without a region belong to it.
    public var region: String
    /// The configured region, whose resources are stored under their bare names.
    public var homeRegion: String

    public init(accountID: String = "000000000000", region: String = "us-east-1") {
        self.accountID = accountID
        self.region = region
        homeRegion = region
    }

    /// The same account acting in `region` (the home region when `nil`).
    public func acting(in region: String?) -> AWSIdentity {
        var copy = self
        copy.region = region ?? homeRegion
        return copy
    }

    /// Whether `text` can be a region name: lowercase letters, digits and hyphens, starting with a letter
    /// (`us-east-1`, `eu-central-1`, `us-gov-west-1`).
    public static func isRegionName(_ text: some StringProtocol) -> Bool {
        guard let first = text.unicodeScalars.first, ("a"..."z").contains(first), text.utf8.count <= 32 else { return false }
        return text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    // MARK: Stored names

    /// The stored name of the resource `name` in the acting region. A name that holds a `/` is never a resource's
    /// name: it stays qualified, so that it cannot reach into another region and fails the name checks.
    public func stored(_ name: String) -> String {
        stored(name, in: region)
    }

    /// The stored name of the resource `name` in `region`.
    public func stored(_ name: String, in region: String) -> String {
        region == homeRegion && !name.contains("/") ? name : "\(region)/\(name)"
    }

    /// The region a stored name belongs to.
    public func region(of stored: String) -> String {
        guard let slash = stored.firstIndex(of: "/") else { return homeRegion }
        return String(stored[..<slash])
    }

    /// The name a stored name has in its region, as clients see it.
    public static func plainName(_ stored: String) -> String {
        guard let slash = stored.firstIndex(of: "/") else { return stored }
        return String(stored[stored.index(after: slash)...])
    }

    /// Whether a stored name belongs to the acting region.
    public func isInRegion(_ stored: String) -> Bool {
        region(of: stored) == region
    }

    /// The stored name that an ARN's region and resource name stand for, when the account is this one.
    package func stored(arnRegion region: Substring, account: Substring, name: String) -> String? {
        guard account == accountID, Self.isRegionName(region), !name.isEmpty, !name.contains("/") else { return nil }
        return stored(name, in: String(region))
    }

    // MARK: Queue ARNs

    /// `arn:aws:sqs:REGION:ACCOUNT:NAME` of a stored queue name.
    public func queueARN(_ stored: String) -> String {
        "arn:aws:sqs:\(region(of: stored)):\(accountID):\(Self.plainName(stored))"
    }

    /// The stored name of the queue an SQS ARN of this account names (in any region), or `nil` when it names
    /// something else.
    public func queueName(fromARN arn: String) -> String? {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[1] == "aws", parts[2] == "sqs" else { return nil }
        return stored(arnRegion: parts[3], account: parts[4], name: String(parts[5]))
    }
}
