import Foundation
import SpoolModel

/// What every `InvocationStore`, `DeadLetterStore` and `DestinationDeliveryStore` backend decides the same way: the
/// dead letter of a record no destination took, and how a dead letter is replayed.
package enum InvocationStoreRules {
    /// The dead letter of an invocation record that could not reach `destination` (`DestinationUnreachable`).
    package static func undeliveredLetter(origin: EffectOrigin, record: String, problem: String, destination: DeadLetterDestination, now: Millis) -> DeadLetter {
        DeadLetter(
            id: 0, requestID: origin.requestID, functionName: origin.functionName, qualifier: origin.qualifier, payload: record,
            reason: .destinationUnreachable, attempts: origin.attempts,
            lastError: InvocationFailure(kind: .systemFailure, errorType: "Spool.DestinationUnreachable", errorMessage: problem),
            enqueuedAt: origin.enqueuedAt, failedAt: now, destination: destination.text)
    }

    /// The dead letter of an http(s) delivery given up on.
    package static func abandonedLetter(_ delivery: DestinationDelivery, error: String, now: Millis) -> DeadLetter {
        DeadLetter(
            id: 0, requestID: delivery.requestID ?? "delivery-\(delivery.id)", functionName: delivery.functionName ?? "",
            qualifier: nil, payload: delivery.body, reason: .destinationUnreachable, attempts: delivery.attempts,
            lastError: InvocationFailure(kind: .systemFailure, errorType: "Spool.DestinationUnreachable", errorMessage: error),
            enqueuedAt: delivery.createdAt, failedAt: now, destination: DeadLetterDestination.url(delivery.url).text)
    }

    /// How a dead letter is replayed: an event runs again as a new invocation of its function; a record no destination
    /// took is delivered where it was going (the function does not run again). `nil` when it was replayed already and
    /// the replay is not forced.
    package static func replay(of letter: DeadLetter, _ params: ReplayDeadLettersParams) -> (requestID: String, effect: InvocationEffect, origin: EffectOrigin?)? {
        guard params.force || letter.replayedAt == nil else { return nil }
        if let destination = letter.destination.flatMap(DeadLetterDestination.init(text:)) {
            let origin = destination.isURL
                ? EffectOrigin(requestID: letter.requestID, functionName: letter.functionName, qualifier: letter.qualifier,
                               attempts: letter.attempts, enqueuedAt: letter.enqueuedAt)
                : nil
            return (letter.requestID, redelivery(of: letter, to: destination), origin)
        }
        let requestID = params.makeRequestID()
        return (requestID, .invoke(NewInvocation(requestID: requestID, functionName: letter.functionName, qualifier: letter.qualifier,
                                                 payload: letter.payload, replayOf: letter.id)), nil)
    }

    /// The effect that delivers a dead letter's record to where it was going.
    package static func redelivery(of letter: DeadLetter, to destination: DeadLetterDestination) -> InvocationEffect {
        switch destination {
        case .queue(let name): .sendMessage(queueName: name, message: OutgoingMessage(body: letter.payload))
        case .function(let name):
            .invoke(NewInvocation(requestID: UUID().uuidString.lowercased(), functionName: name, qualifier: nil, payload: letter.payload))
        case .stream(let name): .putRecord(streamName: name, partitionKey: letter.requestID, data: Data(letter.payload.utf8))
        case .url(let url): .post(url: url, body: letter.payload)
        }
    }
}
