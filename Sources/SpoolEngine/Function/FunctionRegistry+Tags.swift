import SpoolModel

/// Tags (TagResource, UntagResource, ListTags): they describe a function without changing its revision.
extension FunctionRegistry {
    /// The function an ARN names, for the tagging API, which takes ARNs only.
    public func function(arn: String) async throws -> FunctionDefinition {
        let reference = try FunctionReference.parse(arn, identity: identity)
        guard arn.hasPrefix("arn:") else {
            throw SpoolError.validation(field: "resource", value: arn, constraint: "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:lambda:.*")
        }
        return try await function(reference)
    }

    /// Adds or replaces tags (`add`) and removes keys (`remove`).
    public func tag(arn: String, add: [String: String], remove: [String]) async throws {
        let current = try await function(arn: arn)
        var next = current
        next.tags.merge(add) { $1 }
        for key in remove { next.tags[key] = nil }
        guard next.tags.count <= 50 else {
            throw SpoolError(.invalidParameterValue, "Number of tags exceeds resource tag limit.")
        }
        let stored = try await store.updateFunction(next, expectedRevision: current.revisionID)
        remember(stored)
    }
}
