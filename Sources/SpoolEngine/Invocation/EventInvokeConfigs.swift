import Foundation
import SpoolModel
import SpoolStorage
import Synchronization

/// Functions' asynchronous invocation settings (Put/Update/Get/Delete/ListFunctionEventInvokeConfig(s)),
/// validated as Lambda validates them and cached for the dispatcher, which reads them for every event.
package final class EventInvokeConfigs: Sendable {
    let store: any EventInvokeConfigStore
    let registry: FunctionRegistry
    let queues: QueueService
    /// By `FUNCTION:QUALIFIER`.
    private let cache = Mutex<[String: EventInvokeConfig]>([:])

    package init(store: any EventInvokeConfigStore, registry: FunctionRegistry, queues: QueueService) {
        self.store = store
        self.registry = registry
        self.queues = queues
        registry.onDelete { [weak self] name in self?.forget(name) }
    }

    /// Drops what is cached about a deleted function.
    func forget(_ name: String) {
        cache.withLock { cache in
            for key in cache.keys where key.hasPrefix(name + ":") { cache.removeValue(forKey: key) }
        }
    }

    var identity: AWSIdentity { registry.identity }

    /// The settings that apply to an event: those of the qualifier it was invoked with (a version, an alias, or
    /// `$LATEST` when unqualified), or AWS's defaults.
    package func effective(for function: String, qualifier: String? = nil) async throws -> EventInvokeConfig {
        let qualifier = qualifier ?? "$LATEST"
        let key = "\(function):\(qualifier)"
        if let cached = cache.withLock({ $0[key] }) { return cached }
        var config = try await store.eventInvokeConfig(function: function, qualifier: qualifier) ?? .defaults(for: function)
        config.qualifier = qualifier
        cache.withLock { $0[key] = config }
        return config
    }

    /// GetFunctionEventInvokeConfig.
    package func get(_ reference: FunctionReference) async throws -> EventInvokeConfig {
        let (name, qualifier) = try await resolve(reference)
        guard let config = try await store.eventInvokeConfig(function: name, qualifier: qualifier) else { throw notConfigured(name, qualifier) }
        return config
    }

    /// PutFunctionEventInvokeConfig: replaces the whole configuration.
    package func put(_ reference: FunctionReference, _ settings: EventInvokeSettings) async throws -> EventInvokeConfig {
        let (name, qualifier) = try await resolve(reference, missing: "The function doesn't exist.")
        try settings.validate()
        try await validateDestinations(settings, of: name)
        let config = settings.replacing(functionName: name, qualifier: qualifier, now: registry.clock.now())
        try await store.putEventInvokeConfig(config)
        cache.withLock { $0["\(name):\(qualifier)"] = config }
        return config
    }

    /// UpdateFunctionEventInvokeConfig: merges into the existing configuration (404 without one).
    package func update(_ reference: FunctionReference, _ settings: EventInvokeSettings) async throws -> EventInvokeConfig {
        let (name, qualifier) = try await resolve(reference, missing: "The function doesn't exist.")
        try settings.validate()
        try await validateDestinations(settings, of: name)
        guard let existing = try await store.eventInvokeConfig(function: name, qualifier: qualifier) else { throw notConfigured(name, qualifier) }
        let config = settings.merging(into: existing, now: registry.clock.now())
        try await store.putEventInvokeConfig(config)
        cache.withLock { $0["\(name):\(qualifier)"] = config }
        return config
    }

    /// DeleteFunctionEventInvokeConfig.
    package func delete(_ reference: FunctionReference) async throws {
        let (name, qualifier) = try await resolve(reference)
        guard try await store.deleteEventInvokeConfig(function: name, qualifier: qualifier) else { throw notConfigured(name, qualifier) }
        cache.withLock { _ = $0.removeValue(forKey: "\(name):\(qualifier)") }
    }

    /// ListFunctionEventInvokeConfigs (every qualifier of the function).
    package func list(_ reference: FunctionReference) async throws -> [EventInvokeConfig] {
        _ = try await registry.function(FunctionReference(name: reference.name))
        return try await store.eventInvokeConfigs(function: reference.name)
    }

    /// The function's name and the qualifier a configuration is stored under: the version or alias named (which must
    /// exist), `$LATEST` when unqualified.
    private func resolve(_ reference: FunctionReference, missing: String? = nil) async throws -> (String, String) {
        do {
            let definition = try await registry.function(reference)
            return (definition.name, reference.qualifier ?? "$LATEST")
        } catch let error as SpoolError where error.code == .resourceNotFound {
            if let missing { throw SpoolError(.resourceNotFound, missing) }
            throw error
        }
    }

    private func notConfigured(_ name: String, _ qualifier: String) -> SpoolError {
        SpoolError(.resourceNotFound, "The function \(identity.functionARN(name)):\(qualifier) doesn't have an EventInvokeConfig")
    }

    /// Each destination must be one Spool delivers to, exist, and not be the function itself.
    private func validateDestinations(_ settings: EventInvokeSettings, of name: String) async throws {
        for (member, value) in [("onSuccess", settings.onSuccess), ("onFailure", settings.onFailure)] {
            guard let value, !value.isEmpty else { continue }
            let described = member == "onSuccess"
                ? "DestinationConfig(onSuccess=OnSuccess(destination=\(value)), onFailure=null)"
                : "DestinationConfig(onSuccess=null, onFailure=OnFailure(destination=\(value)))"
            guard let destination = Destination.parse(value, identity: identity) else {
                throw SpoolError(.invalidParameterValue, "The provided destination config \(described) is invalid.")
            }
            switch destination {
            case .function(let target, let qualifier):
                if target == name { throw SpoolError(.invalidParameterValue, "You can't specify the function as a destination for itself.") }
                do {
                    _ = try await registry.function(FunctionReference(name: target, qualifier: qualifier))
                } catch {
                    throw SpoolError(.invalidParameterValue, "The destination ARN \(value) is invalid.")
                }
            case .queue(let queueName):
                guard let queue = try? await queues.queue(named: queueName) else {
                    throw SpoolError(.invalidParameterValue, "The destination ARN \(value) is invalid.")
                }
                if queue.isFIFO {
                    throw SpoolError(.invalidParameterValue, "The destination ARN \(value) is invalid: FIFO queues are not supported as destinations.")
                }
            case .url(let text):
                guard let url = URL(string: text), let host = url.host, !host.isEmpty else {
                    throw SpoolError(.invalidParameterValue, "The destination URL \(text) is invalid.")
                }
            }
        }
    }
}
