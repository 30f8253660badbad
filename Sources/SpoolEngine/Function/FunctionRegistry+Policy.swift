import Foundation
import SpoolModel
import SpoolStorage

/// A function's resource-based policy (AddPermission, GetPolicy, RemovePermission), per function, version or alias.
extension FunctionRegistry {
    /// AddPermission: adds a statement; its document as GetPolicy will show it.
    package func addPermission(_ reference: FunctionReference, statement: FunctionPolicy.Statement, revisionID: String?) async throws -> String {
        let (qualifier, arn) = try await policyTarget(reference)
        guard (1...100).contains(statement.id.utf8.count),
              statement.id.utf8.allSatisfy({ FunctionReference.isWordByte($0) || $0 == UInt8(ascii: ".") }) else {
            throw SpoolError.validation(field: "statementId", value: statement.id, constraint: "Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)")
        }
        guard statement.action == "*" || statement.action == "lambda:*" || (statement.action.hasPrefix("lambda:") && statement.action.count > 7
              && statement.action.dropFirst(7).allSatisfy(\.isLetter)) else {
            throw SpoolError.validation(field: "action", value: statement.action, constraint: "Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])")
        }
        guard !statement.principal.isEmpty, !statement.principal.contains(where: \.isWhitespace) else {
            throw SpoolError.validation(field: "principal", value: statement.principal, constraint: "Member must satisfy regular expression pattern: [^\\s]+")
        }
        if let type = statement.functionURLAuthType, type != "NONE", type != "AWS_IAM" {
            throw SpoolError.validation(field: "functionUrlAuthType", value: type, constraint: "Member must satisfy enum value set: [NONE, AWS_IAM]")
        }
        let current = try await store.functionPolicy(reference.name, qualifier: qualifier)
        if let revisionID, revisionID != (current?.revisionID ?? "") { throw FunctionStoreRules.revisionMismatch }
        if current?.statements.contains(where: { $0.id == statement.id }) == true {
            throw SpoolError(.resourceConflict, "The statement id (\(statement.id)) provided already exists. Please provide a new statement id, or remove the existing statement.")
        }
        let updated = FunctionPolicy(statements: (current?.statements ?? []) + [statement], revisionID: Self.newRevision())
        try await store.putFunctionPolicy(reference.name, qualifier: qualifier, policy: updated, expectedRevision: current?.revisionID)
        let document = statement.document(resource: arn)
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// GetPolicy: the document and its revision.
    package func policy(_ reference: FunctionReference) async throws -> (document: String, revisionID: String) {
        let (qualifier, arn) = try await policyTarget(reference)
        guard let policy = try await store.functionPolicy(reference.name, qualifier: qualifier) else {
            throw SpoolError(.resourceNotFound, "The resource you requested does not exist.")
        }
        return (policy.document(resource: arn), policy.revisionID)
    }

    /// RemovePermission.
    package func removePermission(_ reference: FunctionReference, statementID: String, revisionID: String?) async throws {
        let (qualifier, _) = try await policyTarget(reference)
        guard let current = try await store.functionPolicy(reference.name, qualifier: qualifier),
              current.statements.contains(where: { $0.id == statementID }) else {
            throw SpoolError(.resourceNotFound, "Statement \(statementID) is not found in resource policy.")
        }
        if let revisionID, revisionID != current.revisionID { throw FunctionStoreRules.revisionMismatch }
        let updated = FunctionPolicy(statements: current.statements.filter { $0.id != statementID }, revisionID: Self.newRevision())
        try await store.putFunctionPolicy(reference.name, qualifier: qualifier, policy: updated, expectedRevision: current.revisionID)
    }

    /// Whether a function URL with `AuthType: NONE` may be called by anyone: the policy of what it invokes (the
    /// function, or its alias) grants `lambda:InvokeFunctionUrl` to `*`.
    package func allowsPublicURL(_ config: FunctionURLConfig) async -> Bool {
        guard let policy = try? await store.functionPolicy(config.functionName, qualifier: config.qualifier) else { return false }
        return policy.statements.contains(where: \.grantsPublicURL)
    }

    /// The stored qualifier a policy is kept under (`nil` for the function, `$LATEST` included) and the ARN it is on.
    func policyTarget(_ reference: FunctionReference) async throws -> (qualifier: String?, arn: String) {
        _ = try await function(reference)
        guard let qualifier = reference.qualifier, qualifier != "$LATEST" else { return (nil, identity.functionARN(reference.name)) }
        return (qualifier, identity.functionARN(reference.name) + ":" + qualifier)
    }
}
