import Foundation
import Logging
import NIOCore
import NIOFoundationEssentialsCompat
import SpoolExecutor
import SpoolModel

/// Synchronous invocation (`RequestResponse` and `DryRun`): resolves the function, checks the request
/// as Lambda does, and runs it through the function runner, throttled at once when no slot is free.
package struct FunctionInvoker: Sendable {
    let registry: FunctionRegistry
    let logger: Logger

    package init(registry: FunctionRegistry, logger: Logger = Logger(label: "spool.invoke")) {
        self.registry = registry
        self.logger = logger
    }

    /// What the caller of a synchronous Invoke gets.
    package struct Result: Sendable {
        package var requestID: String
        package var outcome: InvocationOutcome
        /// `$LATEST` or the version number that ran (`X-Amz-Executed-Version`).
        package var executedVersion = "$LATEST"
    }

    /// A synchronous invocation request after the HTTP layer read it.
    package struct Request: Sendable {
        package var function: FunctionReference
        package var payload: ByteBuffer
        /// `X-Amz-Client-Context`, base64 as sent.
        package var clientContext: String?
        package var requestID: String
        /// `LogType: Tail`: the answer carries the log, so it waits for the function's last lines.
        package var logTail: Bool

        package init(function: FunctionReference, payload: ByteBuffer, clientContext: String?, requestID: String, logTail: Bool = false) {
            self.logTail = logTail
            self.function = function
            self.payload = payload
            self.clientContext = clientContext
            self.requestID = requestID
        }
    }

    /// Checks a request without running it (`DryRun`): the function exists and the payload is acceptable.
    package func validate(_ request: Request) async throws -> (FunctionDefinition, ByteBuffer, String?) {
        // Through an alias, the version its weights pick for this invocation.
        let definition = try await registry.invocationTarget(request.function)
        guard request.payload.readableBytes <= FunctionLimits.syncPayloadBytes else {
            throw SpoolError(.requestTooLarge, "Request must be smaller than \(FunctionLimits.syncPayloadBytes) bytes for the InvokeFunction operation")
        }
        let payload = request.payload.readableBytes == 0 ? ByteBuffer(string: "{}") : request.payload
        try Self.requireJSON(Data(buffer: payload))
        return (definition, payload, try Self.decodeClientContext(request.clientContext))
    }

    /// Runs a synchronous invocation to its end.
    package func invoke(_ request: Request) async throws -> Result {
        try await finish(try await start(request))
    }

    /// An invocation admitted to run: the function exists, the payload is acceptable and a slot is taken. Throws
    /// what a caller must hear before any answer starts (not found, throttled, …).
    package struct Started: Sendable {
        let definition: FunctionDefinition
        let invocation: InvocationRequest
        let slot: FunctionRunner.Slot
        package var executedVersion: String { definition.versionName }
    }

    /// Validates and admits a synchronous invocation; `stream` receives a streamed response as the function writes it.
    package func start(_ request: Request, stream: ResponseStream? = nil) async throws -> Started {
        let (definition, payload, clientContext) = try await validate(request)
        let slot = try await registry.runner.tryAdmit(definition).mapError { $0.refusal.error }.get()
        var arn = registry.identity.functionARN(definition.name)
        if let qualifier = request.function.qualifier { arn += ":" + qualifier }
        var invocation = InvocationRequest(requestID: request.requestID, function: definition, invokedFunctionARN: arn,
                                           payload: payload, clientContext: clientContext, logTail: request.logTail)
        invocation.responseStream = stream
        return Started(definition: definition, invocation: invocation, slot: slot)
    }

    /// Runs an admitted invocation whose response streams into `stream`, in a task of its own; `stream` ends when the
    /// invocation has ended. The task's value is the result, `nil` when the run failed.
    package func run(_ started: Started, streamingInto stream: ResponseStream) -> Task<Result?, Never> {
        Task {
            defer { stream.finish() }
            return try? await finish(started)
        }
    }

    /// Runs an admitted invocation to its end.
    package func finish(_ started: Started) async throws -> Result {
        let (definition, invocation, slot, runner) = (started.definition, started.invocation, started.slot, registry.runner)
        let request = (requestID: invocation.requestID, logTail: invocation.logTail)
        let outcome: InvocationOutcome
        switch await runner.run(invocation, in: slot) {
        case .finished(let finished): outcome = finished
        case .throttled: throw Admission.Refusal.environments.error
        case .cutOff:
            throw SpoolError(.serviceFailure, "RequestId: \(request.requestID) Error: Spool is shutting down; the invocation was cut off.")
        }
        logger.debug("invoked", metadata: ["function": "\(definition.name)", "requestId": "\(request.requestID)", "status": "\(outcome.status)",
                                           "durationMs": "\(Int(outcome.durationMs))"])
        return Result(requestID: request.requestID, outcome: outcome, executedVersion: definition.versionName)
    }

    /// Lambda's rule for every Invoke payload, synchronous or not: the bytes as sent must be one JSON value.
    static func requireJSON(_ bytes: Data) throws {
        do {
            _ = try JSONSerialization.jsonObject(with: bytes, options: [.fragmentsAllowed])
        } catch {
            throw SpoolError(.invalidRequestContent, "Could not parse request body into json: Could not parse payload into json: \(error.localizedDescription)")
        }
    }

    /// `X-Amz-Client-Context` is base64 of a JSON object, at most 3,583 bytes; the runtime receives the JSON.
    static func decodeClientContext(_ text: String?) throws -> String? {
        guard let text, !text.isEmpty else { return nil }
        guard text.utf8.count <= FunctionLimits.clientContextBytes else {
            throw SpoolError.validation(field: "clientContext", value: String(text.prefix(32)) + "…", constraint: "Member must have length less than or equal to 3583")
        }
        guard let data = Data(base64Encoded: text),
              (try? JSONSerialization.jsonObject(with: data)) is [String: Any]
        else { throw SpoolError(.invalidRequestContent, "Client context must be a valid Base64-encoded JSON object.") }
        return String(decoding: data, as: UTF8.self)
    }
}
