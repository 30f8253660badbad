import Foundation

/// One SQS message attribute: a data type (`String`, `Number`, `Binary`, optionally with a
/// `.label`) and its value. Binary values are raw bytes here and base64 on the wire.
public struct MessageAttributeValue: Sendable, Equatable, Codable {
    public var dataType: String
    public var stringValue: String?
    public var binaryValue: Data?

    public init(dataType: String, stringValue: String? = nil, binaryValue: Data? = nil) {
        self.dataType = dataType
        self.stringValue = stringValue
        self.binaryValue = binaryValue
    }

    /// The base type, without any custom label (`Number.float` → `Number`).
    public var baseType: String {
        String(dataType.split(separator: ".", maxSplits: 1).first ?? "")
    }

    /// Bytes this attribute counts toward the message size limit (name, type and value, as AWS counts).
    public func size(name: String) -> Int {
        name.utf8.count + dataType.utf8.count + (stringValue?.utf8.count ?? 0) + (binaryValue?.count ?? 0)
    }
}

/// Validation of message attributes as AWS applies it on SendMessage.
public enum MessageAttributes {
    /// At most 10 attributes per message.
    public static let maximumCount = 10

    /// Checks names, types and values; returns the total size in bytes the attributes add to the message.
    public static func validate(_ attributes: [String: MessageAttributeValue]) throws(SpoolError) -> Int {
        guard attributes.count <= maximumCount else {
            throw SpoolError(.invalidParameterValue, "Number of message attributes [\(attributes.count)] exceeds the allowed maximum [\(maximumCount)].")
        }
        var total = 0
        for (name, value) in attributes {
            try validateName(name)
            let base = value.baseType
            guard ["String", "Number", "Binary"].contains(base), value.dataType.utf8.count <= 256 else {
                throw SpoolError(.invalidParameterValue, "The type of message (user) attribute '\(name)' is invalid. You must use only the following supported type prefixes: Binary, Number, String.")
            }
            switch base {
            case "Binary":
                guard let bytes = value.binaryValue, !bytes.isEmpty else {
                    throw SpoolError(.invalidParameterValue, "Message (user) attribute '\(name)' must contain a non-empty value of type '\(value.dataType)'.")
                }
            default:
                guard let text = value.stringValue, !text.isEmpty else {
                    throw SpoolError(.invalidParameterValue, "Message (user) attribute '\(name)' must contain a non-empty value of type '\(value.dataType)'.")
                }
                if base == "Number", Double(text) == nil {
                    throw SpoolError(.invalidParameterValue, "Can't cast the value of message (user) attribute '\(name)' to a number.")
                }
                guard MessageBody.isValidText(text) else {
                    throw SpoolError(.invalidParameterValue, "Message (user) attribute '\(name)' contains invalid characters.")
                }
            }
            total += value.size(name: name)
        }
        return total
    }

    static func validateName(_ name: String) throws(SpoolError) {
        let lowered = name.lowercased()
        // Alphanumeric characters in Unicode's sense (letters and digits of any script, as SQS takes them), `_`, `-`, `.`.
        let allowed = name.unicodeScalars.allSatisfy { scalar in
            scalar.properties.isAlphabetic || scalar.properties.numericType == .decimal || scalar == "_" || scalar == "-" || scalar == "."
        }
        guard !name.isEmpty, name.utf8.count <= 256, allowed, !name.hasPrefix("."), !name.hasSuffix("."),
              !name.contains(".."), !lowered.hasPrefix("aws."), !lowered.hasPrefix("amazon.")
        else {
            throw SpoolError(.invalidParameterValue, "Message (user) attribute name '\(name)' is invalid.")
        }
    }

    /// Whether `name` is selected by a `MessageAttributeNames` list (`All`, `.*`, exact names, `prefix.*`).
    public static func isSelected(_ name: String, by patterns: [String]) -> Bool {
        patterns.contains { pattern in
            if pattern == "All" || pattern == ".*" { return true }
            if pattern.hasSuffix(".*") { return name.hasPrefix(String(pattern.dropLast(1))) }
            return pattern == name
        }
    }
}

/// Rules for message bodies.
public enum MessageBody {
    /// Whether every character is in the set SQS allows: `#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF`.
    public static func isValidText(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { scalar in
            let v = scalar.value
            return v == 0x9 || v == 0xA || v == 0xD || (0x20...0xD7FF).contains(v) || (0xE000...0xFFFD).contains(v)
                || (0x10000...0x10FFFF).contains(v)
        }
    }
}
