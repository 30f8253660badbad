import Foundation
import HTTPTypes
import Hummingbird
import SpoolEngine
import SpoolModel
import SpoolStorage

/// Asynchronous invocation: `Invoke` with `Event`, the legacy `InvokeAsync`, and the event-invoke-config API.
extension LambdaHandler {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!

    /// `Invoke` with `X-Amz-Invocation-Type: Event`: 202 once the event is committed.
    func invokeEvent(_ request: Request, _ reference: FunctionReference, _ id: String) async throws -> Response {
        let enqueued = try await enqueue(request, reference, id)
        return Response(status: .accepted, headers: [AWSJSON.requestID: enqueued.requestID])
    }

    /// Reads the event (at most AWS's async limit) and stores it; both Invoke and InvokeAsync come here.
    func enqueue(_ request: Request, _ reference: FunctionReference, _ id: String) async throws -> EnqueuedInvocation {
        let payload: ByteBuffer
        do {
            payload = try await request.body.collect(upTo: AsyncLimits.payloadBytes)
        } catch {
            throw SpoolError(.requestTooLarge, "Request must be smaller than \(AsyncLimits.payloadBytes) bytes for the InvokeFunction operation")
        }
        return try await asyncInvocations.enqueue(.init(function: reference, payload: payload, requestID: id,
                                                        idempotencyKey: request.headers[Self.idempotencyKey]))
    }

    struct InvokeAsyncOutput: Encodable { var Status: Int }

    struct EventInvokeConfigInput: Decodable {
        struct Target: Decodable { var Destination: String? }
        struct Destinations: Decodable {
            var OnSuccess: Target?
            var OnFailure: Target?
        }
        var MaximumRetryAttempts: Int?
        var MaximumEventAgeInSeconds: Int?
        var DestinationConfig: Destinations?

        var settings: EventInvokeSettings {
            EventInvokeSettings(maximumRetryAttempts: MaximumRetryAttempts, maximumEventAgeSeconds: MaximumEventAgeInSeconds,
                                destinationsGiven: DestinationConfig != nil, onSuccess: DestinationConfig?.OnSuccess?.Destination,
                                onFailure: DestinationConfig?.OnFailure?.Destination)
        }
    }

    struct EventInvokeConfigOutput: Encodable {
        struct Target: Encodable { var Destination: String? }
        struct Destinations: Encodable {
            var OnSuccess: Target
            var OnFailure: Target
        }
        var LastModified: Double
        var FunctionArn: String
        var MaximumRetryAttempts: Int?
        var MaximumEventAgeInSeconds: Int?
        var DestinationConfig: Destinations

        init(_ config: EventInvokeConfig, identity: AWSIdentity) {
            LastModified = Double(config.lastModified) / 1000
            FunctionArn = identity.functionARN(config.functionName) + ":" + config.qualifier
            MaximumRetryAttempts = config.maximumRetryAttempts
            MaximumEventAgeInSeconds = config.maximumEventAgeSeconds
            DestinationConfig = Destinations(OnSuccess: Target(Destination: config.onSuccess), OnFailure: Target(Destination: config.onFailure))
        }
    }

    struct ListEventInvokeConfigsOutput: Encodable {
        var FunctionEventInvokeConfigs: [EventInvokeConfigOutput]
        var NextMarker: String?
    }

    func addAsyncRoutes(to router: Router<SpoolRequestContext>) {
        router.post("2014-11-13/functions/:name/invoke-async") { request, context in
            try await self.respond(context) { id in
                let enqueued = try await self.enqueue(request, try self.reference(context, nil), id)
                var response = Self.json(InvokeAsyncOutput(Status: 202), enqueued.requestID, status: .accepted)
                response.headers[AWSJSON.requestID] = enqueued.requestID
                return response
            }
        }
        let path = "2019-09-25/functions/:name/event-invoke-config"
        router.put(RouterPath(stringLiteral: path)) { request, context in
            try await self.respond(context) { id in
                let input = try await Self.decode(EventInvokeConfigInput.self, request, limit: 65_536, operation: "PutFunctionEventInvokeConfig")
                let config = try await self.eventInvokeConfigs.put(try self.reference(context, request), input.settings)
                return Self.json(EventInvokeConfigOutput(config, identity: self.registry.identity), id)
            }
        }
        router.post(RouterPath(stringLiteral: path)) { request, context in
            try await self.respond(context) { id in
                let input = try await Self.decode(EventInvokeConfigInput.self, request, limit: 65_536, operation: "UpdateFunctionEventInvokeConfig")
                let config = try await self.eventInvokeConfigs.update(try self.reference(context, request), input.settings)
                return Self.json(EventInvokeConfigOutput(config, identity: self.registry.identity), id)
            }
        }
        router.get(RouterPath(stringLiteral: path)) { request, context in
            try await self.respond(context) { id in
                let config = try await self.eventInvokeConfigs.get(try self.reference(context, request))
                return Self.json(EventInvokeConfigOutput(config, identity: self.registry.identity), id)
            }
        }
        router.delete(RouterPath(stringLiteral: path)) { request, context in
            try await self.respond(context) { id in
                try await self.eventInvokeConfigs.delete(try self.reference(context, request))
                return Self.empty(.noContent, id)
            }
        }
        router.get(RouterPath(stringLiteral: path + "/list")) { request, context in
            try await self.respond(context) { id in try await self.listEventInvokeConfigs(request, try self.reference(context, nil), id) }
        }
    }

    func listEventInvokeConfigs(_ request: Request, _ reference: FunctionReference, _ id: String) async throws -> Response {
        let query = request.uri.queryParameters
        var maxItems = 50
        if let text = query["MaxItems"].map({ String($0) }) {
            guard let value = Int(text), AsyncLimits.listMaxItems.contains(value) else {
                throw SpoolError.validation(field: "maxItems", value: text, constraint: "Member must have value between 1 and 50")
            }
            maxItems = value
        }
        let all = try await eventInvokeConfigs.list(reference)
        let marker = query["Marker"].map { String($0) }
        let remaining = marker.map { marker in all.filter { $0.qualifier > marker } } ?? all
        let page = Array(remaining.prefix(maxItems))
        let next = remaining.count > maxItems ? page.last?.qualifier : nil
        return Self.json(ListEventInvokeConfigsOutput(
            FunctionEventInvokeConfigs: page.map { EventInvokeConfigOutput($0, identity: registry.identity) }, NextMarker: next), id)
    }
}
