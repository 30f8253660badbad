import Foundation

/// A function's resource-based policy (AddPermission), for the function itself, one version or one alias: who may
/// invoke it. Spool serves one account, whose own requests need no grant; what it evaluates is the public access of a
/// function URL with `AuthType: NONE`, which, as on Lambda, needs a statement granting `lambda:InvokeFunctionUrl` to `*`.
public struct FunctionPolicy: Sendable, Equatable, Codable {
    public struct Statement: Sendable, Equatable, Codable {
        public var id: String
        public var action: String
        public var principal: String
        public var sourceARN: String?
        public var sourceAccount: String?
        public var eventSourceToken: String?
        public var principalOrgID: String?
        public var functionURLAuthType: String?
        public var invokedViaFunctionURL: Bool?

        public init(id: String, action: String, principal: String, sourceARN: String? = nil, sourceAccount: String? = nil,
                    eventSourceToken: String? = nil, principalOrgID: String? = nil, functionURLAuthType: String? = nil,
                    invokedViaFunctionURL: Bool? = nil) {
            self.id = id
            self.action = action
            self.principal = principal
            self.sourceARN = sourceARN
            self.sourceAccount = sourceAccount
            self.eventSourceToken = eventSourceToken
            self.principalOrgID = principalOrgID
            self.functionURLAuthType = functionURLAuthType
            self.invokedViaFunctionURL = invokedViaFunctionURL
        }

        /// The statement as the policy document holds it, on the resource `arn`.
        public func document(resource arn: String) -> [String: Any] {
            var object: [String: Any] = ["Sid": id, "Effect": "Allow", "Action": action, "Resource": arn]
            if principal == "*" {
                object["Principal"] = "*"
            } else if principal.hasSuffix(".amazonaws.com") {
                object["Principal"] = ["Service": principal]
            } else {
                object["Principal"] = ["AWS": principal.allSatisfy(\.isNumber) ? "arn:aws:iam::\(principal):root" : principal]
            }
            var conditions: [String: [String: Any]] = [:]
            if let sourceARN { conditions["ArnLike", default: [:]]["AWS:SourceArn"] = sourceARN }
            if let sourceAccount { conditions["StringEquals", default: [:]]["AWS:SourceAccount"] = sourceAccount }
            if let eventSourceToken { conditions["StringEquals", default: [:]]["lambda:EventSourceToken"] = eventSourceToken }
            if let principalOrgID { conditions["StringEquals", default: [:]]["aws:PrincipalOrgID"] = principalOrgID }
            if let functionURLAuthType { conditions["StringEquals", default: [:]]["lambda:FunctionUrlAuthType"] = functionURLAuthType }
            if let invokedViaFunctionURL { conditions["Bool", default: [:]]["lambda:InvokedViaFunctionUrl"] = invokedViaFunctionURL ? "true" : "false" }
            if !conditions.isEmpty { object["Condition"] = conditions }
            return object
        }

        /// Whether the statement lets anyone call a function URL whose auth type is `NONE`.
        public var grantsPublicURL: Bool {
            principal == "*" && ["lambda:InvokeFunctionUrl", "lambda:*", "*"].contains(action)
                && (functionURLAuthType == nil || functionURLAuthType == "NONE") && sourceARN == nil && sourceAccount == nil && principalOrgID == nil
        }
    }

    public var statements: [Statement]
    /// Changes with every change of the policy; `RevisionId` of GetPolicy.
    public var revisionID: String

    public init(statements: [Statement] = [], revisionID: String) {
        self.statements = statements
        self.revisionID = revisionID
    }

    /// The policy document GetPolicy answers, on the resource `arn`.
    public func document(resource arn: String) -> String {
        let object: [String: Any] = ["Version": "2012-10-17", "Id": "default", "Statement": statements.map { $0.document(resource: arn) }]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
