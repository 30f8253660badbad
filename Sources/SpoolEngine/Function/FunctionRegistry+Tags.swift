import SpoolModel

/// Tags (TagResource, UntagResource, ListTags): they describe a function without changing its revision.
extension FunctionRegistry {
    /// The function an ARN names, for the tagging API, which takes ARNs only.
    package func function(arn: String) async throws -> FunctionDefinition {
        try await function(reference(arn: arn))
    }

    /// Adds or replaces tags (`add`) and removes keys (`remove`).
    package func tag(arn: String, add: [String: String], remove: [String]) async throws {
        _ = try await update(reference(arn: arn), revisionID: nil, newRevision: false) { definition in
            definition.tags.merge(add) { $1 }
            for key in remove { definition.tags[key] = nil }
            guard definition.tags.count <= 50 else {
                throw SpoolError(.invalidParameterValue, "Number of tags exceeds resource tag limit.")
            }
        }
    }

    func reference(arn: String) throws -> FunctionReference {
        let reference = try FunctionReference.parse(arn, identity: identity)
        guard arn.hasPrefix("arn:") else {
            throw SpoolError.validation(field: "resource", value: arn, constraint: "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:lambda:.*")
        }
        // Tags belong to the function: Lambda refuses them on a version's or an alias's ARN.
        if reference.qualifier != nil {
            throw SpoolError(.invalidParameterValue, "Tags on function aliases and versions are not supported. Please specify a function ARN.")
        }
        return reference
    }
}
