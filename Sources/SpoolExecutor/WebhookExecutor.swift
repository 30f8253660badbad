import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SpoolModel

/// Runs a function by POSTing its payload to the function's `webhookURL`.
///
/// A 2xx answer is success with the response body as the result; any other status is a function error
/// that records the status; a connection failure is a system failure (the engine retries it without
/// consuming an attempt); no answer within the function's timeout is a timeout.
package struct WebhookExecutor: FunctionExecutor {
    /// The most response body read; more is a `Function.ResponseSizeTooLarge` error, as with Lambda.
    static let maximumResponseBytes = FunctionLimits.syncPayloadBytes

    let client: HTTPClient
    let logger: Logger

    package init(client: HTTPClient = .shared, logger: Logger = Logger(label: "spool.webhook")) {
        self.client = client
        self.logger = logger
    }

    package func invoke(_ request: InvocationRequest) async -> InvocationOutcome {
        let id = request.requestID
        guard let url = request.function.webhookURL else {
            return .error(.systemFailure(.spawnFailed), type: "Runtime.InvalidEntrypoint", message: "RequestId: \(id) Error: the function has no webhook URL")
        }
        var outgoing = HTTPClientRequest(url: url)
        outgoing.method = .POST
        outgoing.headers.add(name: "Content-Type", value: "application/json")
        outgoing.headers.add(name: "Lambda-Runtime-Aws-Request-Id", value: id)
        outgoing.headers.add(name: "Lambda-Runtime-Invoked-Function-Arn", value: request.invokedFunctionARN)
        outgoing.headers.add(name: "Lambda-Runtime-Trace-Id", value: request.traceID)
        if let context = request.clientContext { outgoing.headers.add(name: "Lambda-Runtime-Client-Context", value: context) }
        outgoing.body = .bytes(request.payload)
        let timeout = request.function.timeoutSeconds
        var log = InvocationLog(requestID: id, version: request.function.versionName)
        let started = ContinuousClock.now
        func finish(_ outcome: InvocationOutcome) -> InvocationOutcome {
            var outcome = outcome
            outcome.durationMs = (ContinuousClock.now - started).milliseconds
            outcome.log = log.finished(durationMs: outcome.durationMs, memorySizeMB: request.function.memorySizeMB, maxMemoryUsedMB: nil, initDurationMs: nil)
            return outcome
        }
        do {
            let response = try await client.execute(outgoing, timeout: .seconds(Int64(timeout)))
            let body = try await response.body.collect(upTo: Self.maximumResponseBytes)
            let status = Int(response.status.code)
            log.append("webhook \(url) answered \(status)")
            if (200..<300).contains(status) {
                return finish(InvocationOutcome(status: .success, payload: body, httpStatus: status))
            }
            let text = String(buffer: body)
            var outcome = InvocationOutcome.error(
                .functionError(type: "Function.WebhookError"), type: "Function.WebhookError",
                message: "RequestId: \(id) Error: webhook answered \(status) \(response.status.reasonPhrase)\(text.isEmpty ? "" : ": " + String(text.prefix(1024)))"
            )
            outcome.httpStatus = status
            return finish(outcome)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            log.append("webhook \(url) did not answer within \(timeout) s")
            return finish(.error(.timedOut, type: "Sandbox.Timedout", message: "RequestId: \(id) Error: Task timed out after \(timeout).00 seconds"))
        } catch is NIOTooManyBytesError {
            return finish(.error(.functionError(type: "Function.ResponseSizeTooLarge"), type: "Function.ResponseSizeTooLarge",
                                 message: "Response payload size exceeded maximum allowed payload size (\(FunctionLimits.syncResponseBytesReported) bytes)."))
        } catch {
            logger.warning("webhook unreachable", metadata: ["function": "\(request.function.name)", "url": "\(url)", "error": "\(error)"])
            log.append("webhook \(url) unreachable: \(error)")
            return finish(.error(.systemFailure(.unreachable), type: "Spool.WebhookUnreachable", message: "RequestId: \(id) Error: webhook \(url) unreachable: \(error)"))
        }
    }
}
