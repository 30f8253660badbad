import Foundation
import Logging
import NIOCore
import NIOFoundationEssentialsCompat
import SpoolModel
import SpoolStorage

/// Accepts asynchronous invocations (`Invoke` with `Event`, `InvokeAsync`): checks them as Lambda does,
/// stores them durably, and wakes the dispatcher. A caller is answered only after the commit.
package struct AsyncInvocations: Sendable {
    let store: any InvocationStore
    let registry: FunctionRegistry
    let dispatcher: AsyncDispatcher
    let settings: AsyncSettings

    package init(store: any InvocationStore, registry: FunctionRegistry, dispatcher: AsyncDispatcher, settings: AsyncSettings) {
        self.store = store
        self.registry = registry
        self.dispatcher = dispatcher
        self.settings = settings
    }

    /// One event as the HTTP layer read it.
    package struct Request: Sendable {
        package var function: FunctionReference
        package var payload: ByteBuffer
        package var requestID: String
        /// The `Idempotency-Key` header (a Spool extension).
        package var idempotencyKey: String?

        package init(function: FunctionReference, payload: ByteBuffer, requestID: String, idempotencyKey: String? = nil) {
            self.function = function
            self.payload = payload
            self.requestID = requestID
            self.idempotencyKey = idempotencyKey
        }
    }

    /// The longest `Idempotency-Key` accepted.
    package static let maximumIdempotencyKeyLength = 256

    /// Stores the event and returns its request id (the first request's, when the idempotency key repeats).
    package func enqueue(_ request: Request) async throws -> EnqueuedInvocation {
        let definition = try await registry.function(request.function)
        guard request.payload.readableBytes <= AsyncLimits.payloadBytes else {
            throw SpoolError(.requestTooLarge, "Request must be smaller than \(AsyncLimits.payloadBytes) bytes for the InvokeFunction operation")
        }
        // The bytes as sent are checked, so that invalid UTF-8 is refused rather than repaired into valid JSON.
        let bytes = request.payload.readableBytes == 0 ? Data("{}".utf8) : Data(buffer: request.payload)
        try FunctionInvoker.requireJSON(bytes)
        let payload = String(decoding: bytes, as: UTF8.self)
        if let key = request.idempotencyKey {
            guard !key.isEmpty, key.count <= Self.maximumIdempotencyKeyLength, key.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) else {
                throw SpoolError(.invalidParameterValue, "Idempotency-Key must be 1 to \(Self.maximumIdempotencyKeyLength) printable ASCII characters.")
            }
        }
        let now = registry.clock.now()
        var invocation = NewInvocation(
            requestID: request.requestID, functionName: definition.name, qualifier: request.function.qualifier, payload: payload,
            idempotencyKey: request.idempotencyKey, idempotencyExpiresAt: now + settings.idempotencyWindow
        )
        // With a slot free and nothing of the function waiting, the event is stored claimed and started at once.
        let slot = await dispatcher.reserveDirect(definition, now: now)
        if slot != nil { invocation.leaseUntil = now + registry.runner.leaseMillis(definition, margin: settings.leaseMargin) }
        let result: EnqueuedInvocation
        do {
            result = try await store.enqueueInvocations(EnqueueInvocationsParams(invocations: [invocation], now: now))[0]
        } catch {
            if let slot { dispatcher.unreserve(slot) }
            throw error
        }
        if result.stored {
            SpoolMetrics.asyncEventsReceived(definition.name)
        } else {
            SpoolMetrics.asyncIdempotentRepeats(definition.name)
        }
        if let slot, let claimed = result.claimed {
            await dispatcher.handOff(claimed, slot: slot)
        } else {
            if let slot { dispatcher.unreserve(slot) }
            if result.stored { dispatcher.notify(function: definition.name, visibleAt: now) }
        }
        return result
    }
}
