import Foundation

/// One filter of a mapping's `FilterCriteria`: an EventBridge-style pattern, parsed and checked at create
/// time, matched against each record.
///
/// The language is the subset Lambda documents for event filtering plus the operators EventBridge Pipes
/// share with it: exact values (strings, numbers, booleans, `null`, `""`), `prefix`, `suffix`,
/// `equals-ignore-case`, `anything-but` (values, or one `prefix`/`suffix`/`equals-ignore-case`), `numeric`
/// ranges, `exists`, nested objects and `$or`. Keys inside one pattern must all match (AND); values listed
/// for one key are alternatives (OR); an array in the event matches when any element does.
public struct FilterPattern: Sendable, Equatable {
    /// A pattern object: each key's rule, plus `$or` groups of which at least one alternative must match.
    public struct Rule: Sendable, Equatable {
        public var fields: [String: Field]
        public var alternatives: [[Rule]]
    }

    /// What a key of a pattern asks for: a nested pattern, or a list of matchers of which one must match.
    public indirect enum Field: Sendable, Equatable {
        case nested(Rule)
        case matchers([Matcher])
    }

    /// One allowed value or operator.
    public enum Matcher: Sendable, Equatable {
        case exact(FilterValue)
        case prefix(String, ignoringCase: Bool)
        case suffix(String, ignoringCase: Bool)
        case equalsIgnoreCase(String)
        /// Matches a present value that none of the inner matchers match.
        case anythingBut([Matcher])
        /// Lower and upper bounds (`>`/`>=`, `<`/`<=`) or `=`.
        case numeric([Comparison])
        case exists(Bool)
    }

    public struct Comparison: Sendable, Equatable {
        public var op: String
        public var value: Double
    }

    /// The longest pattern Lambda accepts, in characters.
    public static let maximumLength = 4096

    public let rule: Rule
    /// The pattern as the user wrote it, returned by the API unchanged.
    public let text: String

    /// Parses a pattern, or throws Lambda's `Invalid filter pattern definition.`
    public init(_ text: String) throws(SpoolError) {
        guard !text.isEmpty, text.count <= Self.maximumLength, case .object(let object)? = FilterValue.parse(text) else {
            throw Self.invalid
        }
        self.rule = try Self.rule(object)
        self.text = text
    }

    public static let invalid = SpoolError(.invalidParameterValue, "Invalid filter pattern definition.")

    static func rule(_ object: [String: FilterValue]) throws(SpoolError) -> Rule {
        guard !object.isEmpty else { throw invalid }
        var fields: [String: Field] = [:]
        var alternatives: [[Rule]] = []
        for (key, value) in object {
            if key == "$or" {
                guard case .array(let options) = value, options.count >= 2 else { throw invalid }
                var rules: [Rule] = []
                for option in options {
                    guard case .object(let inner) = option else { throw invalid }
                    rules.append(try rule(inner))
                }
                alternatives.append(rules)
                continue
            }
            switch value {
            case .object(let inner):
                fields[key] = .nested(try rule(inner))
            case .array(let values):
                guard !values.isEmpty else { throw invalid }
                var matchers: [Matcher] = []
                for value in values { matchers.append(try matcher(value)) }
                fields[key] = .matchers(matchers)
            default:
                // A bare value where a list belongs: EventBridge requires `"key": ["value"]`.
                throw invalid
            }
        }
        return Rule(fields: fields, alternatives: alternatives)
    }

    static func matcher(_ value: FilterValue) throws(SpoolError) -> Matcher {
        switch value {
        case .string, .number, .bool, .null:
            return .exact(value)
        case .array:
            throw invalid
        case .object(let object):
            guard object.count == 1, let (name, argument) = object.first else { throw invalid }
            switch (name, argument) {
            case ("prefix", .string(let text)):
                return .prefix(text, ignoringCase: false)
            case ("prefix", .object(let inner)):
                guard inner.count == 1, case .string(let text)? = inner["equals-ignore-case"] else { throw invalid }
                return .prefix(text, ignoringCase: true)
            case ("suffix", .string(let text)):
                return .suffix(text, ignoringCase: false)
            case ("suffix", .object(let inner)):
                guard inner.count == 1, case .string(let text)? = inner["equals-ignore-case"] else { throw invalid }
                return .suffix(text, ignoringCase: true)
            case ("equals-ignore-case", .string(let text)):
                return .equalsIgnoreCase(text)
            case ("exists", .bool(let flag)):
                return .exists(flag)
            case ("numeric", .array(let terms)):
                return .numeric(try comparisons(terms))
            case ("anything-but", _):
                return .anythingBut(try anythingBut(argument))
            default:
                throw invalid
            }
        }
    }

    static func anythingBut(_ argument: FilterValue) throws(SpoolError) -> [Matcher] {
        switch argument {
        case .string, .number:
            return [.exact(argument)]
        case .array(let values):
            guard !values.isEmpty else { throw invalid }
            var matchers: [Matcher] = []
            for value in values {
                switch value {
                case .string, .number: matchers.append(.exact(value))
                default: throw invalid
                }
            }
            return matchers
        case .object(let object):
            guard object.count == 1, let (name, inner) = object.first, case .string(let text) = inner else { throw invalid }
            switch name {
            case "prefix": return [.prefix(text, ignoringCase: false)]
            case "suffix": return [.suffix(text, ignoringCase: false)]
            case "equals-ignore-case": return [.equalsIgnoreCase(text)]
            default: throw invalid
            }
        default:
            throw invalid
        }
    }

    /// `["=", 5]`, or one lower and/or one upper bound: `[">", 0, "<=", 10]`.
    static func comparisons(_ terms: [FilterValue]) throws(SpoolError) -> [Comparison] {
        guard !terms.isEmpty, terms.count.isMultiple(of: 2), terms.count <= 4 else { throw invalid }
        var result: [Comparison] = []
        for index in stride(from: 0, to: terms.count, by: 2) {
            guard case .string(let op) = terms[index], case .number(let value, _) = terms[index + 1],
                  ["=", "<", "<=", ">", ">="].contains(op)
            else { throw invalid }
            result.append(Comparison(op: op, value: value))
        }
        let lower = result.filter { $0.op.hasPrefix(">") }.count
        let upper = result.filter { $0.op.hasPrefix("<") }.count
        let equal = result.filter { $0.op == "=" }.count
        guard lower <= 1, upper <= 1, equal == 0 || result.count == 1 else { throw invalid }
        if let low = result.first(where: { $0.op.hasPrefix(">") }), let high = result.first(where: { $0.op.hasPrefix("<") }),
           low.value > high.value {
            throw invalid
        }
        return result
    }
}
