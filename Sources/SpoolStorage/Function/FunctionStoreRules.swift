import Foundation
import SpoolModel

/// What every `FunctionStore` backend answers the same way.
package enum FunctionStoreRules {
    package static func alreadyExists(_ name: String) -> SpoolError {
        SpoolError(.resourceConflict, "Function already exist: \(name)")
    }

    package static let revisionMismatch = SpoolError(
        .preconditionFailed,
        "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
    )

    /// Whether publishing `snapshot` would make nothing new: the newest version `published` has the same code and
    /// configuration (what a version fixes; concurrency settings and tags belong to the function).
    package static func samePublishedState(_ published: FunctionDefinition, _ snapshot: FunctionDefinition) -> Bool {
        func fixed(_ definition: FunctionDefinition) -> FunctionDefinition {
            var copy = definition
            copy.version = nil
            copy.revisionID = ""
            copy.lastModified = 0
            copy.tags = [:]
            copy.reservedConcurrency = nil
            copy.provisionedConcurrency = nil
            copy.provisionedLastModified = nil
            copy.description = ""
            return copy
        }
        return fixed(published) == fixed(snapshot)
    }

    /// An alias name already taken; Lambda's message names the alias's ARN.
    package static func aliasExists(_ alias: FunctionAlias) -> SpoolError {
        SpoolError(.resourceConflict, "Alias already exists: \(AWSIdentity.plainName(alias.functionName)):\(alias.name)")
    }

    package static func aliasNotFound(_ alias: FunctionAlias) -> SpoolError {
        SpoolError(.resourceNotFound, "Alias not found: \(AWSIdentity.plainName(alias.functionName)):\(alias.name)")
    }

    /// The refusal to delete a version an alias still uses.
    package static func versionInUse(_ version: Int, aliases: [String]) -> SpoolError {
        SpoolError(.resourceConflict, "Unable to delete version because the following aliases reference it: [\(aliases.joined(separator: ", "))]")
    }

    /// Whether an alias points or routes to `version`.
    package static func uses(_ alias: FunctionAlias, version: Int) -> Bool {
        alias.functionVersion == String(version) || alias.additionalVersionWeights.keys.contains(String(version))
    }

    /// A stored function URL (one JSON document).
    package static func functionURL(_ text: String) -> FunctionURLConfig? {
        try? JSONDecoder().decode(FunctionURLConfig.self, from: Data(text.utf8))
    }

    package static let functionURLExists = SpoolError(.resourceConflict, "FunctionUrlConfig exists for this Lambda function")
    package static let functionURLNotFound = SpoolError(.resourceNotFound, "The resource you requested does not exist.")

    /// A stored layer version (one JSON document).
    package static func layer(_ text: String) -> LayerVersion? {
        try? JSONDecoder().decode(LayerVersion.self, from: Data(text.utf8))
    }

    package static func layerVersionNotFound(_ name: String, _ version: Int) -> SpoolError {
        SpoolError(.resourceNotFound, "Layer version \(AWSIdentity.plainName(name)):\(version) does not exist.")
    }

    /// A stored function policy (one JSON document).
    package static func functionPolicy(_ text: String) -> FunctionPolicy? {
        try? JSONDecoder().decode(FunctionPolicy.self, from: Data(text.utf8))
    }

    /// A stored alias (one JSON document).
    package static func alias(_ text: String) -> FunctionAlias? {
        try? JSONDecoder().decode(FunctionAlias.self, from: Data(text.utf8))
    }

    /// A stored definition (one JSON document).
    package static func definition(_ text: String) -> FunctionDefinition? {
        try? JSONDecoder().decode(FunctionDefinition.self, from: Data(text.utf8))
    }
}
