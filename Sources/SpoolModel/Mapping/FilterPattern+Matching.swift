/// Matching a parsed pattern against a record.
extension FilterPattern {
    /// Whether `event` (the record as a JSON object) matches this pattern.
    public func matches(_ event: [String: FilterValue]) -> Bool {
        Self.matches(rule, event)
    }

    static func matches(_ rule: Rule, _ event: [String: FilterValue]) -> Bool {
        for (key, field) in rule.fields where !matches(field, event[key]) { return false }
        for group in rule.alternatives where !group.contains(where: { matches($0, event) }) { return false }
        return true
    }

    static func matches(_ field: Field, _ value: FilterValue?) -> Bool {
        switch field {
        case .nested(let rule):
            switch value {
            case .object(let object)?: return matches(rule, object)
            // A missing object matches only rules that ask for absent fields.
            case nil: return matches(rule, [:])
            default: return false
            }
        case .matchers(let matchers):
            return matchers.contains { matches($0, value) }
        }
    }

    static func matches(_ matcher: Matcher, _ value: FilterValue?) -> Bool {
        if case .exists(let wanted) = matcher {
            guard let value else { return !wanted }
            if case .array(let elements) = value, elements.isEmpty { return !wanted }
            return wanted && value.isLeaf || !wanted && !value.isLeaf
        }
        guard let value else { return false }
        if case .array(let elements) = value {
            if case .anythingBut(let excluded) = matcher {
                return !elements.isEmpty && !elements.contains { element in excluded.contains { leaf($0, element) } }
            }
            return elements.contains { leaf(matcher, $0) }
        }
        return leaf(matcher, value)
    }

    /// One matcher against one scalar (or object) value.
    static func leaf(_ matcher: Matcher, _ value: FilterValue) -> Bool {
        switch matcher {
        case .exact(let expected):
            switch (expected, value) {
            case (.number(_, let a), .number(_, let b)): return a == b
            default: return expected == value
            }
        case .prefix(let text, let ignoringCase):
            guard case .string(let string) = value else { return false }
            return ignoringCase ? string.lowercased().hasPrefix(text.lowercased()) : string.hasPrefix(text)
        case .suffix(let text, let ignoringCase):
            guard case .string(let string) = value else { return false }
            return ignoringCase ? string.lowercased().hasSuffix(text.lowercased()) : string.hasSuffix(text)
        case .equalsIgnoreCase(let text):
            guard case .string(let string) = value else { return false }
            return string.lowercased() == text.lowercased()
        case .anythingBut(let excluded):
            switch value {
            case .string, .number: return !excluded.contains { leaf($0, value) }
            // Only strings and numbers can be "anything but" something.
            default: return false
            }
        case .numeric(let comparisons):
            guard case .number(let number, _) = value else { return false }
            return comparisons.allSatisfy { comparison in
                switch comparison.op {
                case "=": return number == comparison.value
                case "<": return number < comparison.value
                case "<=": return number <= comparison.value
                case ">": return number > comparison.value
                default: return number >= comparison.value
                }
            }
        case .exists:
            return true
        }
    }
}
