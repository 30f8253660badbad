/// The states Lambda reports for an event source mapping (`State`).
///
/// The API moves a mapping into a transitional state (`Creating`, `Enabling`, `Disabling`, `Updating`,
/// `Deleting`); the mapping supervisor applies the change to the poller and then settles it in `Enabled` or
/// `Disabled`, or removes the mapping after `Deleting`.
public enum MappingState: String, Sendable, Equatable, CaseIterable {
    case creating = "Creating"
    case enabling = "Enabling"
    case enabled = "Enabled"
    case disabling = "Disabling"
    case disabled = "Disabled"
    case updating = "Updating"
    case deleting = "Deleting"

    /// Whether the supervisor still has to act on the mapping.
    public var isTransitional: Bool {
        switch self {
        case .enabled, .disabled: return false
        default: return true
        }
    }
}
