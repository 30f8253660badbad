import Foundation
import Hummingbird
import NIOFoundationEssentialsCompat
import SpoolEngine
import SpoolModel

/// A function's resource-based policy: AddPermission (201), GetPolicy, RemovePermission (204), with `Qualifier`.
extension LambdaHandler {
    func addPolicyRoutes(to router: Router<SpoolRequestContext>) {
        let path = "2015-03-31/functions/:name/policy"
        router.post(RouterPath(stringLiteral: path)) { request, context in
            try await self.respond(context) { id in
                let input = try await Self.decode(PermissionInput.self, request, limit: 65_536, operation: "AddPermission")
                guard let statementID = input.StatementId else { throw SpoolError.validation(field: "statementId", value: "null", constraint: "Member must not be null") }
                guard let action = input.Action else { throw SpoolError.validation(field: "action", value: "null", constraint: "Member must not be null") }
                guard let principal = input.Principal else { throw SpoolError.validation(field: "principal", value: "null", constraint: "Member must not be null") }
                let statement = FunctionPolicy.Statement(
                    id: statementID, action: action, principal: principal, sourceARN: input.SourceArn, sourceAccount: input.SourceAccount,
                    eventSourceToken: input.EventSourceToken, principalOrgID: input.PrincipalOrgID, functionURLAuthType: input.FunctionUrlAuthType,
                    invokedViaFunctionURL: input.InvokedViaFunctionUrl)
                let document = try await self.registry.addPermission(try self.reference(context, request), statement: statement, revisionID: input.RevisionId)
                return Self.json(["Statement": document], id, status: .created)
            }
        }
        router.get(RouterPath(stringLiteral: path)) { request, context in
            try await self.respond(context) { id in
                let found = try await self.registry.policy(try self.reference(context, request))
                return Self.json(["Policy": found.document, "RevisionId": found.revisionID], id)
            }
        }
        router.delete(RouterPath(stringLiteral: "\(path)/:statement")) { request, context in
            try await self.respond(context) { id in
                let raw = context.parameters.get("statement") ?? ""
                try await self.registry.removePermission(try self.reference(context, request), statementID: raw.removingPercentEncoding ?? raw,
                                                         revisionID: request.uri.queryParameters["RevisionId"].map(String.init))
                return Self.empty(.noContent, id)
            }
        }
    }

    struct PermissionInput: Decodable {
        var StatementId: String?
        var Action: String?
        var Principal: String?
        var SourceArn: String?
        var SourceAccount: String?
        var EventSourceToken: String?
        var RevisionId: String?
        var PrincipalOrgID: String?
        var FunctionUrlAuthType: String?
        var InvokedViaFunctionUrl: Bool?
    }
}
