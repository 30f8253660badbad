import Foundation

/// A queue's access policy (`Policy`), as SQS validates it, and the part of it Spool can evaluate.
///
/// The policy is kept as the client wrote it. Spool has one account and its own credentials, so of a policy it can
/// evaluate only what does not depend on who else might call: statements with `"Effect": "Deny"`, no `Condition`,
/// a principal of everyone (`"*"`, `{"AWS": "*"}`) or of Spool's own account, and actions naming the request's
/// (`SQS:SendMessage`, `sqs:*`, `*`, wildcards). Such a statement refuses the request with `AccessDenied`; everything
/// else in the policy is stored and returned, not enforced (docs/security.md).
public struct QueuePolicy: Sendable, Equatable {
    public struct Statement: Sendable, Equatable {
        public var sid: String?
        public var effect: String
        public var principals: [String]
        public var actions: [String]
        public var hasCondition: Bool
    }

    public var text: String
    public var statements: [Statement]

    /// The actions `AddPermission` may grant.
    public static let shareableActions: Set<String> = [
        "*", "ChangeMessageVisibility", "DeleteMessage", "GetQueueAttributes", "GetQueueUrl", "ListDeadLetterSourceQueues",
        "PurgeQueue", "ReceiveMessage", "SendMessage",
    ]

    static func invalid() -> SpoolError {
        .invalidAttributeValue("Policy", reason: "Invalid value for the parameter Policy.")
    }

    /// Parses and validates a policy document: a JSON object whose `Statement` (one or a list) has an `Effect` of
    /// `Allow` or `Deny`, a `Principal`, and an `Action` (or `NotAction`).
    public static func parse(_ text: String) throws(SpoolError) -> QueuePolicy {
        guard let data = text.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw invalid()
        }
        let raw: [Any]
        switch object["Statement"] {
        case let list as [Any]: raw = list
        case let single as [String: Any]: raw = [single]
        default: throw invalid()
        }
        var statements: [Statement] = []
        for case let statement as [String: Any] in raw {
            guard let effect = statement["Effect"] as? String, effect == "Allow" || effect == "Deny" else { throw invalid() }
            let principals: [String]
            switch statement["Principal"] {
            case let star as String: principals = [star]
            case let map as [String: Any]: principals = map.values.flatMap { Self.strings($0) }
            default: throw invalid()
            }
            let actions = Self.strings(statement["Action"] ?? statement["NotAction"] as Any)
            guard !actions.isEmpty else { throw invalid() }
            statements.append(Statement(sid: statement["Sid"] as? String, effect: effect, principals: principals,
                                        actions: statement["Action"] == nil ? [] : actions, hasCondition: statement["Condition"] != nil))
        }
        guard statements.count == raw.count else { throw invalid() }
        return QueuePolicy(text: text, statements: statements)
    }

    static func strings(_ value: Any) -> [String] {
        switch value {
        case let one as String: [one]
        case let list as [Any]: list.compactMap { $0 as? String }
        default: []
        }
    }

    /// Whether a statement Spool can evaluate denies `action` (`SendMessage`, …) to callers of `account`.
    public func denies(_ action: String, account: String) -> Bool {
        statements.contains { statement in
            guard statement.effect == "Deny", !statement.hasCondition else { return false }
            let everyone = statement.principals.contains { $0 == "*" || $0 == account || $0 == "arn:aws:iam::\(account):root" }
            return everyone && statement.actions.contains { Self.matches($0, action: action) }
        }
    }

    static func matches(_ pattern: String, action: String) -> Bool {
        let pattern = pattern.lowercased()
        let full = "sqs:" + action.lowercased()
        if pattern == "*" || pattern == "sqs:*" { return true }
        guard pattern.hasPrefix("sqs:") else { return false }
        guard pattern.contains("*") || pattern.contains("?") else { return pattern == full }
        let expression = "^" + NSRegularExpression.escapedPattern(for: pattern)
            .replacingOccurrences(of: "\\*", with: ".*").replacingOccurrences(of: "\\?", with: ".") + "$"
        return full.range(of: expression, options: .regularExpression) != nil
    }

    /// `AddPermission`: a statement `label` allowing `actions` to `accounts`, added to `current` (or to a new policy).
    public static func adding(
        to current: QueuePolicy?, label: String, accounts: [String], actions: [String], queueARN: String
    ) throws(SpoolError) -> QueuePolicy {
        guard !label.isEmpty, label.count <= 80, label.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw .invalidParameter("Label", value: label, reason: "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length.")
        }
        guard !accounts.isEmpty else { throw .missingParameter("AWSAccountIds") }
        guard !actions.isEmpty else { throw .missingParameter("Actions") }
        for account in accounts where !(account.count == 12 && account.allSatisfy(\.isNumber)) {
            throw .invalidParameter("AWSAccountIds", value: account, reason: "Invalid account id.")
        }
        for action in actions where !shareableActions.contains(action) {
            throw .invalidParameter("Actions", value: action, reason: "Please refer to the appropriate WSDL for a list of valid actions.")
        }
        var document: [String: Any] = ["Version": "2012-10-17", "Id": queueARN + "/SQSDefaultPolicy", "Statement": [Any]()]
        if let current, let data = current.text.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            document = object
            if current.statements.contains(where: { $0.sid == label }) {
                throw .invalidParameter("Label", value: label, reason: "Already exists.")
            }
        }
        var statements = rawStatements(document)
        statements.append([
            "Sid": label, "Effect": "Allow",
            "Principal": ["AWS": accounts.map { "arn:aws:iam::\($0):root" }],
            "Action": actions.map { "SQS:\($0)" }, "Resource": queueARN,
        ] as [String: Any])
        document["Statement"] = statements
        return try parse(Self.serialize(document))
    }

    /// `RemovePermission`: the policy without the statement `label`; `nil` when none is left.
    public func removing(label: String) throws(SpoolError) -> QueuePolicy? {
        guard statements.contains(where: { $0.sid == label }),
              let data = text.data(using: .utf8), var document = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw .invalidParameter("Label", value: label, reason: "can't find label on existing policy.")
        }
        let kept = Self.rawStatements(document).filter { ($0 as? [String: Any])?["Sid"] as? String != label }
        if kept.isEmpty { return nil }
        document["Statement"] = kept
        return try Self.parse(Self.serialize(document))
    }

    static func rawStatements(_ document: [String: Any]) -> [Any] {
        (document["Statement"] as? [Any]) ?? (document["Statement"].map { [$0] } ?? [])
    }

    static func serialize(_ document: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
