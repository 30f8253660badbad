import Foundation

/// A JSON value as event filtering sees it: numbers keep whether they were written as integers, so that
/// exact matching tells `300` from `300.0` as Lambda's filtering does.
public enum FilterValue: Sendable, Equatable {
    case string(String)
    /// The number, and its text: integers as written, other numbers as `d:` and their value.
    case number(Double, text: String)
    case bool(Bool)
    case null
    case array([FilterValue])
    case object([String: FilterValue])

    /// Parses JSON text; `nil` when it is not JSON.
    public static func parse(_ text: String) -> FilterValue? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) else { return nil }
        return FilterValue(foundation: object)
    }

    /// Converts what `JSONSerialization` produced.
    public init(foundation value: Any) {
        switch value {
        case let text as String:
            self = .string(text)
        case let number as NSNumber:
            let type = String(cString: number.objCType)
            if type == "c" || String(describing: Swift.type(of: number)).contains("Boolean") {
                self = .bool(number.boolValue)
            } else if type == "d" || type == "f" {
                self = .number(number.doubleValue, text: "d:\(number.doubleValue)")
            } else {
                self = .number(number.doubleValue, text: number.stringValue)
            }
        case let array as [Any]:
            self = .array(array.map(FilterValue.init(foundation:)))
        case let object as [String: Any]:
            self = .object(object.mapValues(FilterValue.init(foundation:)))
        default:
            self = .null
        }
    }

    var isLeaf: Bool {
        switch self {
        case .object: return false
        default: return true
        }
    }
}
