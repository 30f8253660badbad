import Foundation
import HTTPTypes
import Hummingbird
import NIOFoundationEssentialsCompat
import SpoolEngine
import SpoolExecutor
import SpoolModel

/// `Invoke` (`RequestResponse`, `DryRun`, and `Event`, which `LambdaHandler+Async` stores).
extension LambdaHandler {
    static let invocationType = HTTPField.Name("X-Amz-Invocation-Type")!
    static let logType = HTTPField.Name("X-Amz-Log-Type")!
    static let clientContext = HTTPField.Name("X-Amz-Client-Context")!
    static let executedVersion = HTTPField.Name("X-Amz-Executed-Version")!
    static let functionError = HTTPField.Name("X-Amz-Function-Error")!
    static let logResult = HTTPField.Name("X-Amz-Log-Result")!

    /// `X-Amz-Invocation-Type` (one of `types`, `RequestResponse` by default) and `X-Amz-Log-Type` (`None` or `Tail`).
    static func invocationHeaders(_ request: Request, allowing types: [String]) throws -> (type: String, log: String) {
        let type = request.headers[invocationType] ?? "RequestResponse"
        guard types.contains(type) else {
            throw SpoolError.validation(field: "invocationType", value: type, constraint: "Member must satisfy enum value set: [\(types.joined(separator: ", "))]")
        }
        let log = request.headers[logType] ?? "None"
        guard log == "None" || log == "Tail" else {
            throw SpoolError.validation(field: "logType", value: log, constraint: "Member must satisfy enum value set: [None, Tail]")
        }
        return (type, log)
    }

    func invoke(_ request: Request, _ reference: FunctionReference, _ id: String) async throws -> Response {
        let (type, log) = try Self.invocationHeaders(request, allowing: ["Event", "RequestResponse", "DryRun"])
        if type == "Event" { return try await invokeEvent(request, reference, id) }
        let payload: ByteBuffer
        do {
            payload = try await request.body.collect(upTo: FunctionLimits.syncPayloadBytes)
        } catch {
            throw SpoolError(.requestTooLarge, "Request must be smaller than \(FunctionLimits.syncPayloadBytes) bytes for the InvokeFunction operation")
        }
        let invocation = FunctionInvoker.Request(function: reference, payload: payload, clientContext: request.headers[Self.clientContext], requestID: id,
                                                 logTail: log == "Tail")
        if type == "DryRun" {
            _ = try await invoker.validate(invocation)
            return Response(status: .noContent, headers: [AWSJSON.requestID: id])
        }
        let result = try await invoker.invoke(invocation)
        var headers: HTTPFields = [.contentType: "application/json", AWSJSON.requestID: id, Self.executedVersion: result.executedVersion]
        if result.outcome.isError { headers[Self.functionError] = "Unhandled" }
        if log == "Tail" {
            headers[Self.logResult] = Data(InvocationLog.tail(result.outcome.log, limit: FunctionLimits.logTailBytes).utf8).base64EncodedString()
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: result.outcome.payload))
    }
}

/// `InvokeWithResponseStream`: the answer is an event stream of `PayloadChunk` events, handed on as a runtime in
/// Lambda's streaming mode writes them (a runtime that answers whole sends one chunk), and a last `InvokeComplete`.
extension LambdaHandler {
    func addStreamingInvokeRoute(to router: Router<SpoolRequestContext>) {
        router.post("2021-11-15/functions/:name/response-streaming-invocations") { request, context in
            try await self.respond(context) { id in try await self.invokeWithResponseStream(request, try self.reference(context, request), id) }
        }
    }

    func invokeWithResponseStream(_ request: Request, _ reference: FunctionReference, _ id: String) async throws -> Response {
        let (type, log) = try Self.invocationHeaders(request, allowing: ["RequestResponse", "DryRun"])
        let payload: ByteBuffer
        do {
            payload = try await request.body.collect(upTo: FunctionLimits.syncPayloadBytes)
        } catch {
            throw SpoolError(.requestTooLarge, "Request must be smaller than \(FunctionLimits.syncPayloadBytes) bytes for the InvokeWithResponseStream operation")
        }
        let invocation = FunctionInvoker.Request(function: reference, payload: payload, clientContext: request.headers[Self.clientContext], requestID: id,
                                                 logTail: log == "Tail")
        if type == "DryRun" {
            _ = try await invoker.validate(invocation)
            return Response(status: .noContent, headers: [AWSJSON.requestID: id])
        }
        // Not found, throttled and bad input are answered before the stream starts, with their status codes.
        let stream = ResponseStream()
        let started = try await invoker.start(invocation, stream: stream)
        let run = invoker.run(started, streamingInto: stream)
        let body = ResponseBody { writer in
            for await chunk in stream.chunks {
                try await writer.write(EventStreamMessage.event("PayloadChunk", contentType: "application/octet-stream", payload: Data(buffer: chunk)))
            }
            let result = await run.value
            var complete: [String: String] = [:]
            if let outcome = result?.outcome {
                if outcome.isError {
                    let document = (try? JSONSerialization.jsonObject(with: Data(buffer: outcome.payload))) as? [String: Any]
                    complete["ErrorCode"] = document?["errorType"] as? String ?? "Unhandled"
                    complete["ErrorDetails"] = document?["errorMessage"] as? String ?? String(buffer: outcome.payload)
                } else if !stream.streamed, outcome.payload.readableBytes > 0 {
                    try await writer.write(EventStreamMessage.event("PayloadChunk", contentType: "application/octet-stream", payload: Data(buffer: outcome.payload)))
                }
                if log == "Tail" {
                    complete["LogResult"] = Data(InvocationLog.tail(outcome.log, limit: FunctionLimits.logTailBytes).utf8).base64EncodedString()
                }
            } else {
                complete["ErrorCode"] = "ServiceException"
                complete["ErrorDetails"] = "The invocation was cut off."
            }
            let document = (try? JSONSerialization.data(withJSONObject: complete, options: [.sortedKeys])) ?? Data("{}".utf8)
            try await writer.write(EventStreamMessage.event("InvokeComplete", contentType: "application/json", payload: document))
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: EventStreamMessage.contentType, AWSJSON.requestID: id,
                                               Self.executedVersion: started.executedVersion], body: body)
    }
}
