import Foundation
import HTTPTypes
import Hummingbird
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

    func invoke(_ request: Request, _ reference: FunctionReference, _ id: String) async throws -> Response {
        let type = request.headers[Self.invocationType] ?? "RequestResponse"
        guard ["RequestResponse", "Event", "DryRun"].contains(type) else {
            throw SpoolError.validation(field: "invocationType", value: type, constraint: "Member must satisfy enum value set: [Event, RequestResponse, DryRun]")
        }
        let log = request.headers[Self.logType] ?? "None"
        guard log == "None" || log == "Tail" else {
            throw SpoolError.validation(field: "logType", value: log, constraint: "Member must satisfy enum value set: [None, Tail]")
        }
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
