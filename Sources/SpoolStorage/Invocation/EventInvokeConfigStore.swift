import SpoolModel

/// Event-invoke configurations (retry attempts, event age, destinations) per function and qualifier.
public protocol EventInvokeConfigStore: Sendable {
    /// The event-invoke configuration of a function and qualifier, or `nil`.
    func eventInvokeConfig(function: String, qualifier: String) async throws -> EventInvokeConfig?
    /// Stores a configuration, replacing any earlier one of the same function and qualifier.
    func putEventInvokeConfig(_ config: EventInvokeConfig) async throws
    /// Removes a configuration; `false` if there was none.
    func deleteEventInvokeConfig(function: String, qualifier: String) async throws -> Bool
    /// Every configuration of a function, by qualifier.
    func eventInvokeConfigs(function: String) async throws -> [EventInvokeConfig]
}
