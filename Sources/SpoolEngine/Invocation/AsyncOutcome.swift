import Foundation
import NIOCore
import NIOFoundationEssentialsCompat
import SpoolExecutor
import SpoolModel

/// How an executor's outcome reads to the asynchronous state machine.
enum AsyncOutcome {
    /// The attempt's failure, or `nil` for a success.
    static func failure(from outcome: InvocationOutcome) -> InvocationFailure? {
        let payload = String(buffer: outcome.payload)
        let message = errorMessage(in: outcome.payload) ?? payload
        switch outcome.status {
        case .success:
            return nil
        case .functionError(let type):
            return InvocationFailure(kind: .functionError, errorType: type, errorMessage: message, responsePayload: payload)
        case .timedOut:
            return InvocationFailure(kind: .timeout, errorType: "Sandbox.Timedout", errorMessage: message, responsePayload: payload)
        case .systemFailure(.atCapacity):
            return InvocationFailure(kind: .throttled, errorType: "TooManyRequestsException", errorMessage: "Rate Exceeded.")
        case .systemFailure(let failure):
            return InvocationFailure(kind: .systemFailure, errorType: "Spool.\(failure.rawValue)", errorMessage: message)
        }
    }

    /// Whether the function may have run (it then counts in `approximateInvokeCount`).
    static func functionRan(_ outcome: InvocationOutcome) -> Bool {
        switch outcome.status {
        case .success, .functionError, .timedOut: true
        case .systemFailure: false
        }
    }

    static func errorMessage(in payload: ByteBuffer) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: payload)) as? [String: Any] else { return nil }
        return object["errorMessage"] as? String
    }
}
