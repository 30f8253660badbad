import Foundation
import SpoolModel
import SpoolStorage

/// Enhanced fan-out: the consumers registered on a stream, and what SubscribeToShard reads for one.
extension StreamService {
    /// Kinesis allows 20 consumers per stream.
    package static let consumerLimit = 20

    package func consumerARN(_ stream: StreamInfo, _ consumer: StreamConsumer) -> String {
        identity.consumerARN(stream: stream.name, consumer: consumer.name, createdSeconds: consumer.createdAt / 1_000)
    }

    /// RegisterStreamConsumer.
    package func registerConsumer(streamARN: String, name: String) async throws -> (stream: StreamInfo, consumer: StreamConsumer) {
        if let problem = StreamName.problem(name) { throw SpoolError.validation(field: "consumerName", value: name, constraint: problem) }
        let stream = try await stream(name: nil, arn: streamARN)
        switch try await store.registerStreamConsumer(streamID: stream.id, name: name, now: clock.now(), limit: Self.consumerLimit) {
        case .registered(let consumer):
            return (stream, consumer)
        case .nameInUse:
            throw SpoolError(.resourceInUse, "Consumer \(name) under stream \(AWSIdentity.plainName(stream.name)) already exists for account \(identity.accountID).")
        case .limitReached:
            throw SpoolError(.overLimit, "Consumer limit of \(Self.consumerLimit) exceeded for stream \(AWSIdentity.plainName(stream.name)) under account \(identity.accountID).")
        }
    }

    /// The consumer a request names, by `ConsumerARN` or by `StreamARN` and `ConsumerName`.
    package func consumer(arn: String?, streamARN: String?, name: String?) async throws -> (stream: StreamInfo, consumer: StreamConsumer) {
        let streamName: String
        let consumerName: String
        var createdSeconds: Int64?
        if let arn {
            guard let parsed = identity.consumer(fromARN: arn) else { throw SpoolError(.invalidArgument, "Invalid ConsumerARN: \(arn)") }
            (streamName, consumerName, createdSeconds) = parsed
        } else if let streamARN, let name {
            guard let parsed = identity.streamName(fromARN: streamARN) else { throw SpoolError(.invalidArgument, "Invalid StreamARN: \(streamARN)") }
            (streamName, consumerName) = (parsed, name)
        } else {
            throw SpoolError(.invalidArgument, "Either ConsumerARN or both StreamARN and ConsumerName must be provided.")
        }
        let stream = try await stream(name: streamName, arn: nil)
        let consumers = try await store.streamConsumers(streamID: stream.id)
        guard let consumer = consumers.first(where: { $0.name == consumerName && (createdSeconds == nil || $0.createdAt / 1_000 == createdSeconds) }) else {
            throw SpoolError(.resourceNotFound, "Consumer \(consumerName) under stream \(AWSIdentity.plainName(stream.name)) under account \(identity.accountID) not found.")
        }
        return (stream, consumer)
    }

    /// DeregisterStreamConsumer.
    package func deregisterConsumer(arn: String?, streamARN: String?, name: String?) async throws {
        let (stream, consumer) = try await consumer(arn: arn, streamARN: streamARN, name: name)
        guard try await store.deregisterStreamConsumer(streamID: stream.id, name: consumer.name) else {
            throw SpoolError(.resourceNotFound, "Consumer \(consumer.name) under stream \(AWSIdentity.plainName(stream.name)) under account \(identity.accountID) not found.")
        }
    }
}
