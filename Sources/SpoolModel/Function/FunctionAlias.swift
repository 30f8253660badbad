import Foundation

/// A function alias (CreateAlias): a name for one published version (or `$LATEST`), optionally routing a share of
/// its invocations to a second version (`RoutingConfig.AdditionalVersionWeights`), as blue/green and canary
/// releases use it.
public struct FunctionAlias: Sendable, Equatable, Codable {
    /// The function's stored name.
    public var functionName: String
    /// 1–128 characters of `[a-zA-Z0-9-_]`, not all digits.
    public var name: String
    /// The version the alias points to: a version number or `$LATEST`.
    public var functionVersion: String
    public var description: String
    /// The second version and the share (0–1) of invocations routed to it; empty when the alias routes to one version.
    public var additionalVersionWeights: [String: Double]
    /// Changes on every update; `RevisionId`.
    public var revisionID: String
    /// Environments kept initialized for the alias (PutProvisionedConcurrencyConfig), spread over its versions by
    /// their weights; `nil` when none are configured.
    public var provisionedConcurrency: Int?
    public var provisionedLastModified: Millis?

    /// How many of the alias's provisioned environments each of its versions keeps: the additional version its
    /// weight's share, the alias's version the rest.
    public var provisionedShares: [String: Int] {
        guard let total = provisionedConcurrency, total > 0 else { return [:] }
        guard let (other, weight) = additionalVersionWeights.first else { return [functionVersion: total] }
        let routed = Int((Double(total) * weight).rounded())
        var shares = [functionVersion: total - routed]
        if routed > 0 { shares[other, default: 0] += routed }
        return shares.filter { $0.value > 0 }
    }

    public init(functionName: String, name: String, functionVersion: String, description: String = "",
                additionalVersionWeights: [String: Double] = [:], revisionID: String) {
        self.functionName = functionName
        self.name = name
        self.functionVersion = functionVersion
        self.description = description
        self.additionalVersionWeights = additionalVersionWeights
        self.revisionID = revisionID
    }

    /// Whether `text` is an alias name Lambda accepts: `(?!^[0-9]+$)([a-zA-Z0-9-_]+)`, 1–128 characters.
    public static func isValidName(_ text: String) -> Bool {
        (1...128).contains(text.utf8.count) && text.utf8.allSatisfy { FunctionReference.isWordByte($0) }
            && !text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// Whether a qualifier names a published version (all digits) rather than an alias or `$LATEST`.
    public static func isVersionNumber(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 10 && text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// The version one invocation through the alias runs: the additional version with its weight's probability, else
    /// the alias's own version. `random` is uniform in `0..<1`.
    public func pickVersion(random: Double = Double.random(in: 0..<1)) -> String {
        if let (version, weight) = additionalVersionWeights.first, random < weight { return version }
        return functionVersion
    }

    /// Checks the settings of an alias as CreateAlias and UpdateAlias do: the weights name one version other than
    /// the alias's own, neither is `$LATEST`, the weight is 0–1.
    public static func checkRouting(_ weights: [String: Double], functionVersion: String) throws(SpoolError) {
        guard !weights.isEmpty else { return }
        guard weights.count == 1, let (version, weight) = weights.first else {
            throw SpoolError(.invalidParameterValue, "Number of items in AdditionalVersionWeights cannot be greater than 1")
        }
        guard isVersionNumber(version) else {
            throw SpoolError.validation(field: "routingConfig.additionalVersionWeights", value: version,
                                        constraint: "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [0-9]+]")
        }
        guard (0...1).contains(weight) else {
            throw SpoolError.validation(field: "routingConfig.additionalVersionWeights", value: "\(weight)",
                                        constraint: "Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0]")
        }
        guard functionVersion != "$LATEST" else {
            throw SpoolError(.invalidParameterValue, "$LATEST is not supported for an alias pointing to more than 1 version")
        }
        guard version != functionVersion else {
            throw SpoolError(.invalidParameterValue, "Invalid function version \(version). Function version \(version) is already included in routing configuration.")
        }
    }
}
