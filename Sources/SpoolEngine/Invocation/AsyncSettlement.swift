import Foundation
import SpoolModel
import SpoolStorage

/// Turns the decision about one attempt into the settle that stores it: the row's transition and
/// everything it causes (destination records, the dead-letter message, the dead letter), so that
/// they commit together.
struct AsyncSettlement {
    let identity: AWSIdentity
    let claimed: ClaimedInvocation
    let config: EventInvokeConfig
    /// `nil` when the function no longer exists.
    let definition: FunctionDefinition?
    let now: Millis

    /// The version that ran, as records report it.
    var executedVersion: String { definition?.versionName ?? "$LATEST" }

    /// The function ARN records report: always qualified.
    var functionARN: String { identity.functionARN(claimed.functionName) + ":" + (claimed.qualifier ?? "$LATEST") }

    /// A success: the event is done; the on-success destination gets the record.
    func succeeded(response: String) -> SettleInvocationParams {
        var effects: [InvocationEffect] = []
        if let destination = config.onSuccess {
            let record = InvocationRecord(condition: "Success", requestID: claimed.requestID, functionARN: functionARN,
                                          approximateInvokeCount: claimed.invokeCount, requestPayload: claimed.payload,
                                          response: .init(payload: response, functionError: nil, executedVersion: executedVersion), timestamp: now)
            effects += deliver(record.json(), to: destination)
        }
        return SettleInvocationParams(id: claimed.id, epoch: claimed.epoch, transition: .finish, effects: effects,
                                      origin: origin(attempts: claimed.invokeCount), now: now)
    }

    /// Whose records the destination effects carry, so that a destination that cannot take one keeps it as a dead letter.
    func origin(attempts: Int) -> EffectOrigin {
        EffectOrigin(requestID: claimed.requestID, functionName: claimed.functionName, qualifier: claimed.qualifier, attempts: attempts,
                     enqueuedAt: claimed.enqueuedAt)
    }

    /// A retry at `visibleAt` after `failure`.
    func retry(at visibleAt: Millis, after failure: InvocationFailure, functionRan: Bool) -> SettleInvocationParams {
        SettleInvocationParams(id: claimed.id, epoch: claimed.epoch,
                               transition: .retry(visibleAt: visibleAt, failure: failure, invokeCount: startedCount(functionRan)), effects: [], now: now)
    }

    /// Spool cut the attempt off (or never started it): claimable again at once, nothing used up.
    func released(started: Bool) -> SettleInvocationParams {
        SettleInvocationParams(id: claimed.id, epoch: claimed.epoch, transition: .release(invokeCount: startedCount(started)), effects: [], now: now)
    }

    /// Invocations started so far: the claim counted this attempt as started, which it was only if the function ran.
    func startedCount(_ started: Bool) -> Int {
        started ? claimed.invokeCount : max(claimed.invokeCount - 1, 0)
    }

    /// The event is given up: on-failure record, dead-letter message, and a dead letter, with the transition.
    /// - Parameters:
    ///   - failure: this attempt's failure, or `nil` when the event failed without running now.
    ///   - functionRan: whether the function ran in this attempt (it counts in `approximateInvokeCount`).
    func failed(_ condition: FailureCondition, failure: InvocationFailure?, functionRan: Bool) -> SettleInvocationParams {
        let invokeCount = startedCount(functionRan)
        let lastError = failure.flatMap { $0.consumesAttempt || claimed.lastError == nil ? $0 : nil } ?? claimed.lastError
        var effects: [InvocationEffect] = []
        if let destination = config.onFailure {
            var response: InvocationRecord.Response?
            if let lastError, lastError.consumesAttempt {
                response = .init(payload: lastError.responsePayload ?? Self.errorDocument(lastError), functionError: "Unhandled",
                                 executedVersion: executedVersion)
            }
            let record = InvocationRecord(condition: condition.rawValue, requestID: claimed.requestID, functionARN: functionARN,
                                          approximateInvokeCount: invokeCount, requestPayload: claimed.payload, response: response,
                                          timestamp: now)
            effects += deliver(record.json(), to: destination)
        }
        if let target = definition?.deadLetterTargetARN, let queueName = identity.queueName(fromARN: target) {
            effects.append(.sendMessage(queueName: queueName, message: deadLetterMessage(condition, lastError: lastError)))
        }
        effects.append(.deadLetter(DeadLetter(
            id: 0, requestID: claimed.requestID, functionName: claimed.functionName, qualifier: claimed.qualifier, payload: claimed.payload,
            reason: condition, attempts: invokeCount, lastError: lastError, enqueuedAt: claimed.enqueuedAt, failedAt: now,
            replayOf: claimed.replayOf
        )))
        return SettleInvocationParams(id: claimed.id, epoch: claimed.epoch, transition: .finish, effects: effects,
                                      origin: origin(attempts: invokeCount), now: now)
    }

    /// The raw event with `RequestID`, `ErrorCode` and `ErrorMessage` attributes (reference §2.4).
    func deadLetterMessage(_ condition: FailureCondition, lastError: InvocationFailure?) -> OutgoingMessage {
        let code: String = switch lastError?.kind {
        case .functionError?, .timeout?: "200"
        case .throttled?: "429"
        case .systemFailure?: "500"
        case nil: condition == .zeroReservedConcurrency ? "429" : "200"
        }
        let message = lastError.map(\.errorMessage).flatMap { $0.isEmpty ? nil : $0 } ?? Self.describe(condition)
        return OutgoingMessage(body: claimed.payload, attributes: [
            "RequestID": MessageAttributeValue(dataType: "String", stringValue: claimed.requestID),
            "ErrorCode": MessageAttributeValue(dataType: "Number", stringValue: code),
            "ErrorMessage": MessageAttributeValue(dataType: "String", stringValue: Self.truncated(message, bytes: AsyncLimits.deadLetterErrorMessageBytes)),
        ])
    }

    func deliver(_ record: String, to destination: String) -> [InvocationEffect] {
        switch Destination.parse(destination, identity: identity) {
        case .queue(let name)?: [.sendMessage(queueName: name, message: OutgoingMessage(body: record))]
        case .function(let name, let qualifier)?:
            [.invoke(NewInvocation(requestID: UUID().uuidString.lowercased(), functionName: name, qualifier: qualifier, payload: record))]
        case .url(let url)?: [.post(url: url, body: record)]
        case nil: []
        }
    }

    static func errorDocument(_ failure: InvocationFailure) -> String {
        "{\"errorMessage\":\(InvocationRecord.quoted(failure.errorMessage)),\"errorType\":\(InvocationRecord.quoted(failure.errorType))}"
    }

    static func describe(_ condition: FailureCondition) -> String {
        switch condition {
        case .retriesExhausted: "The function failed on every attempt."
        case .eventAgeExceeded: "The event reached its maximum age before it could be processed."
        case .zeroReservedConcurrency: "The function's reserved concurrency is 0."
        case .functionDeleted: "The function was deleted before the event could be processed."
        case .destinationUnreachable: "A destination could not take the invocation record."
        }
    }

    /// At most `bytes` of UTF-8, cut on a character boundary.
    static func truncated(_ text: String, bytes: Int) -> String {
        guard text.utf8.count > bytes else { return text }
        var result = ""
        for character in text {
            if result.utf8.count + character.utf8.count > bytes { break }
            result.append(character)
        }
        return result
    }
}
