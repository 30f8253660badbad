/// A function as a caller names it: a bare name, a full or partial ARN, with or without a qualifier.
///
/// Lambda accepts `my-function`, `my-function:$LATEST`, `123456789012:function:my-function` and
/// `arn:aws:lambda:us-east-1:123456789012:function:my-function[:QUALIFIER]` wherever a function is named.
public struct FunctionReference: Sendable, Equatable {
    /// The function's stored name (`AWSIdentity.stored(_:)`): its name of 1–64 characters of `[a-zA-Z0-9-_]`,
    /// under its region's prefix outside the home region.
    public var name: String
    /// The qualifier the name carried, if any (`$LATEST`, a version or an alias).
    public var qualifier: String?

    public init(name: String, qualifier: String? = nil) {
        self.name = name
        self.qualifier = qualifier
    }

    /// Parses a function name as Lambda's `FunctionName` members accept it.
    ///
    /// - Parameters:
    ///   - text: what the caller sent.
    ///   - identity: the account an ARN must belong to, acting in the region a bare name belongs to.
    ///   - allowsQualifier: `false` for operations whose name may not carry a qualifier (CreateFunction).
    public static func parse(_ text: String, identity: AWSIdentity, allowsQualifier: Bool = true) throws(SpoolError) -> FunctionReference {
        guard !text.isEmpty, text.count <= 256 else {
            throw SpoolError.validation(field: "functionName", value: text, constraint: "Member must have length less than or equal to 140")
        }
        var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var region = identity.region
        if parts.first == "arn" {
            // arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
            guard parts.count >= 7, parts[1].hasPrefix("aws"), parts[2] == "lambda", parts[5] == "function" else {
                throw Self.invalid(text)
            }
            guard AWSIdentity.isRegionName(parts[3]) else { throw Self.invalid(text) }
            guard parts[4] == identity.accountID else { throw SpoolError.functionNotFound(text) }
            region = parts[3]
            parts = Array(parts.dropFirst(6))
        } else if parts.count >= 3, parts[1] == "function" {
            // ACCOUNT:function:NAME[:QUALIFIER]
            guard parts[0].count == 12, parts[0].allSatisfy(\.isASCIIDigit) else { throw Self.invalid(text) }
            guard parts[0] == identity.accountID else { throw SpoolError.functionNotFound(text) }
            parts = Array(parts.dropFirst(2))
        }
        guard (1...2).contains(parts.count) else { throw Self.invalid(text) }
        let name = parts[0]
        guard isValidName(name) else { throw Self.invalid(text) }
        var qualifier: String?
        if parts.count == 2 {
            let candidate = parts[1]
            guard isValidQualifier(candidate) else { throw Self.invalid(text) }
            guard allowsQualifier else {
                throw SpoolError(.invalidParameterValue, "Unsupported function name qualifier in \(text).")
            }
            qualifier = candidate
        }
        return FunctionReference(name: identity.stored(name, in: region), qualifier: qualifier)
    }

    /// Parses a function as the operator's tools name it: as Lambda's `FunctionName` does (a bare name is in the home
    /// region), or by its stored name `REGION/NAME`, as the operator's views show a function of another region.
    public static func parse(operatorName text: String, identity: AWSIdentity) throws(SpoolError) -> FunctionReference {
        guard let slash = text.firstIndex(of: "/") else { return try parse(text, identity: identity.acting(in: nil)) }
        let region = String(text[..<slash])
        let name = String(text[text.index(after: slash)...])
        guard AWSIdentity.isRegionName(region), isValidName(name) else { throw invalid(text) }
        return FunctionReference(name: identity.stored(name, in: region))
    }

    /// Combines the qualifier a name carried with a `Qualifier` parameter, as Lambda does: they must agree.
    public func resolvingQualifier(_ parameter: String?) throws(SpoolError) -> FunctionReference {
        guard let parameter, !parameter.isEmpty else { return self }
        guard Self.isValidQualifier(parameter) else {
            throw SpoolError.validation(field: "qualifier", value: parameter, constraint: "Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)")
        }
        if let qualifier, qualifier != parameter {
            throw SpoolError(.invalidParameterValue, "The derived qualifier from the function name does not match the specified qualifier.")
        }
        return FunctionReference(name: name, qualifier: parameter)
    }

    /// Spool keeps only the unpublished version: anything but `$LATEST` names a version or alias that does not exist.
    public func requireLatest(identity: AWSIdentity) throws(SpoolError) {
        if let qualifier, qualifier != "$LATEST" {
            throw SpoolError.functionNotFound(identity.functionARN(name) + ":" + qualifier)
        }
    }

    /// `[a-zA-Z0-9-_]{1,64}`.
    public static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && name.utf8.allSatisfy { isWordByte($0) }
    }

    public static func isValidQualifier(_ text: String) -> Bool {
        (1...128).contains(text.utf8.count) && text.utf8.allSatisfy { isWordByte($0) || $0 == UInt8(ascii: "$") || $0 == UInt8(ascii: ".") }
    }

    public static func isWordByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }

    /// The validation error for a malformed function name.
    public static func invalid(_ text: String) -> SpoolError {
        SpoolError.validation(
            field: "functionName", value: text,
            constraint: "Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
        )
    }
}

extension Character {
    /// `0`–`9` only (`isNumber` alone also takes other scripts' digits).
    public var isASCIIDigit: Bool { isASCII && isNumber }
}

extension AWSIdentity {
    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME` of a stored function name.
    public func functionARN(_ stored: String) -> String {
        "arn:aws:lambda:\(region(of: stored)):\(accountID):function:\(Self.plainName(stored))"
    }
}
