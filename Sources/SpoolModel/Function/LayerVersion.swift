import Foundation

/// One published version of a layer (PublishLayerVersion): a zip of shared code, libraries or extensions that functions
/// name in their `Layers`, fixed once published.
public struct LayerVersion: Sendable, Equatable, Codable {
    /// One statement of the version's permission policy (AddLayerVersionPermission).
    public struct Statement: Sendable, Equatable, Codable {
        public var id: String
        public var action: String
        public var principal: String
        public var organizationID: String?

        public init(id: String, action: String, principal: String, organizationID: String?) {
            self.id = id
            self.action = action
            self.principal = principal
            self.organizationID = organizationID
        }
    }

    /// The layer's stored name (`REGION/NAME` outside the home region, as every resource's).
    public var layerName: String
    public var version: Int
    public var description: String
    public var compatibleRuntimes: [String]
    public var compatibleArchitectures: [String]
    public var licenseInfo: String?
    /// Base64 SHA-256 of the zip, `Content.CodeSha256`.
    public var codeSHA256: String
    /// Size of the zip, `Content.CodeSize`.
    public var codeSize: Int64
    /// Bytes the zip unpacks to: counted with the function's own toward the 250 MB limit.
    public var unzippedSize: Int64
    public var createdAt: Millis
    public var statements: [Statement]
    /// Changes with every change of the policy.
    public var policyRevisionID: String

    public init(layerName: String, version: Int, description: String, compatibleRuntimes: [String], compatibleArchitectures: [String],
                licenseInfo: String?, codeSHA256: String, codeSize: Int64, unzippedSize: Int64, createdAt: Millis,
                statements: [Statement] = [], policyRevisionID: String) {
        self.layerName = layerName
        self.version = version
        self.description = description
        self.compatibleRuntimes = compatibleRuntimes
        self.compatibleArchitectures = compatibleArchitectures
        self.licenseInfo = licenseInfo
        self.codeSHA256 = codeSHA256
        self.codeSize = codeSize
        self.unzippedSize = unzippedSize
        self.createdAt = createdAt
        self.statements = statements
        self.policyRevisionID = policyRevisionID
    }

    /// `[a-zA-Z0-9-_]+`, 1–140 characters.
    public static func isValidName(_ text: String) -> Bool {
        (1...140).contains(text.utf8.count) && text.utf8.allSatisfy { FunctionReference.isWordByte($0) }
    }
}

/// A layer as a function uses it: which version, and what the function's configuration reports of it.
public struct FunctionLayer: Sendable, Equatable, Codable {
    /// The layer's stored name.
    public var layerName: String
    public var version: Int
    public var codeSize: Int64
    public var codeSHA256: String
    /// Bytes the layer unpacks to, counted with the function's code toward the 250 MB limit (`nil` if unknown).
    public var unzippedSize: Int64?
    /// Where the layer's content is unpacked on this node (set when the function is read).
    public var directory: String?

    public init(layerName: String, version: Int, codeSize: Int64, codeSHA256: String, unzippedSize: Int64? = nil, directory: String? = nil) {
        self.layerName = layerName
        self.version = version
        self.codeSize = codeSize
        self.codeSHA256 = codeSHA256
        self.unzippedSize = unzippedSize
        self.directory = directory
    }
}

extension AWSIdentity {
    /// `arn:aws:lambda:REGION:ACCOUNT:layer:NAME` of a stored layer name.
    public func layerARN(_ stored: String) -> String {
        "arn:aws:lambda:\(region(of: stored)):\(accountID):layer:\(Self.plainName(stored))"
    }

    /// The stored layer name and version a layer version ARN of this account names (`…:layer:NAME:VERSION`), or
    /// `nil` when it names something else; `version` is `nil` for a layer's ARN without one.
    public func layer(fromARN arn: String) -> (name: String, version: Int?)? {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 7 || parts.count == 8, parts[0] == "arn", parts[1].hasPrefix("aws"), parts[2] == "lambda", parts[5] == "layer",
              LayerVersion.isValidName(String(parts[6])),
              let name = stored(arnRegion: parts[3], account: parts[4], name: String(parts[6]))
        else { return nil }
        guard parts.count == 8 else { return (name, nil) }
        guard let version = Int(parts[7]), version > 0 else { return nil }
        return (name, version)
    }
}
