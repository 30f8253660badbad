import Foundation
import HTTPTypes
import Hummingbird
import SpoolEngine
import SpoolModel
import SpoolStorage
import SpoolSignals
import Synchronization

/// Enhanced fan-out: consumers and SubscribeToShard, which streams a shard's records as events.
extension KinesisHandler {
    /// A subscription lasts five minutes, as on Kinesis; the consumer then subscribes again.
    static let subscriptionMillis: Millis = 300_000
    /// Without new records an event (with none) is sent this often, carrying the continuation sequence number.
    static let heartbeatMillis: Millis = 5_000

    func wire(_ consumer: StreamConsumer, of stream: StreamInfo, status: String) -> KinesisWire.Consumer {
        KinesisWire.Consumer(ConsumerName: consumer.name, ConsumerARN: streams.consumerARN(stream, consumer), ConsumerStatus: status,
                             ConsumerCreationTimestamp: seconds(consumer.createdAt))
    }

    func listStreamConsumers(_ request: KinesisWire.ListStreamConsumersInput) async throws -> KinesisWire.ListStreamConsumersOutput {
        let limit = request.MaxResults ?? 100
        guard (1...10_000).contains(limit) else {
            throw SpoolError.validation(field: "maxResults", value: "\(limit)", constraint: limit < 1
                ? "Member must have value greater than or equal to 1" : "Member must have value less than or equal to 10000")
        }
        let stream = try await streams.stream(name: nil, arn: request.StreamARN)
        // The creation time tells a stream from an earlier one of the same name.
        if let created = request.StreamCreationTimestamp, Millis((created * 1_000).rounded(.down)) / 1_000 != stream.createdAt / 1_000 {
            throw SpoolError(.resourceNotFound, "Stream \(AWSIdentity.plainName(stream.name)) created at \(created) under account \(streams.identity.accountID) not found.")
        }
        let after = try request.NextToken.map(name(fromToken:))
        let remaining = try await streams.store.streamConsumers(streamID: stream.id).filter { after == nil || $0.name > after! }
        let page = remaining.prefix(limit)
        return KinesisWire.ListStreamConsumersOutput(
            Consumers: page.map { wire($0, of: stream, status: "ACTIVE") },
            NextToken: remaining.count > limit ? page.last.map { NameToken.encode($0.name) } : nil)
    }

    /// SubscribeToShard: an event stream (`application/vnd.amazon.eventstream`) of an `initial-response` and then
    /// `SubscribeToShardEvent`s as records arrive (an empty one every five seconds otherwise), for five minutes.
    func subscribeToShard(_ request: KinesisWire.SubscribeToShardInput, requestID: String, cbor: Bool) async throws -> Response {
        let (stream, _) = try await streams.consumer(arn: request.ConsumerARN, streamARN: nil, name: nil)
        let start = request.StartingPosition
        let first = try await streams.shardIterator(stream: stream, shardID: request.ShardId, type: start.Type,
                                                    sequenceNumber: start.SequenceNumber, timestamp: start.Timestamp)
        try subscriptions.begin("\(request.ConsumerARN)#\(request.ShardId)", now: streams.clock.now())
        // Before any record is delivered: a sequence number to resume after that reads from where this subscription starts.
        let startingContinuation = streams.resumeSequenceNumber(iterator: first, stream: stream) ?? stream.startingSequenceNumber(shardIndex: 0)
        let streams = self.streams
        let body = ResponseBody { writer in
            func send(_ type: String, _ value: some Encodable) async throws {
                let payload = Self.payload(value, cbor: cbor)
                try await writer.write(EventStreamMessage.event(type, contentType: payload.contentType, payload: payload.data))
            }
            try await send("initial-response", EmptyOutput())
            var iterator = first
            var continuation = startingContinuation
            var lastEvent: Millis?
            let end = streams.clock.now() + Self.subscriptionMillis
            while streams.clock.now() < end, !streams.signals.isClosed, !streams.streamingEnds.isClosed {
                let seen = streams.signals.generation(stream.id)
                let page: StreamService.RecordsPage
                do {
                    page = try await streams.records(iterator: iterator, limit: StreamLimits.getRecordsLimit.upperBound)
                } catch let error as SpoolError {
                    let shape = AWSErrorShape.kinesis(error)
                    let payload = Self.payload(["message": error.message], cbor: cbor)
                    try await writer.write(EventStreamMessage.exception(shape.type, contentType: payload.contentType, payload: payload.data))
                    break
                }
                if let last = page.records.last { continuation = stream.sequenceNumber(last) }
                guard let next = page.next else {
                    // The end of a closed shard: a last event names its children, and the subscription ends.
                    try await send("SubscribeToShardEvent", KinesisWire.SubscribeToShardEvent(
                        Records: page.records.map { record($0, of: stream) }, ContinuationSequenceNumber: nil, MillisBehindLatest: 0,
                        ChildShards: (page.children ?? []).map(childShard)))
                    break
                }
                iterator = next
                let now = streams.clock.now()
                if !page.records.isEmpty || lastEvent.map({ now - $0 >= Self.heartbeatMillis }) ?? true {
                    try await send("SubscribeToShardEvent", KinesisWire.SubscribeToShardEvent(
                        Records: page.records.map { record($0, of: stream) }, ContinuationSequenceNumber: continuation, MillisBehindLatest: page.millisBehind))
                    lastEvent = now
                }
                if page.millisBehind == 0 {
                    let timeout = min(end - now, (lastEvent ?? now) + Self.heartbeatMillis - now)
                    await WakeSignal.wait(any: [(streams.signals.channel(stream.id), seen), (streams.streamingEnds, 0)], timeout: .milliseconds(max(timeout, 1)))
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: EventStreamMessage.contentType, AWSJSON.requestID: requestID], body: body)
    }
}

/// When each consumer last subscribed to each shard: Kinesis refuses a second SubscribeToShard for the same consumer
/// and shard within five seconds of a successful one (`ResourceInUseException`). Kept per node.
final class ShardSubscriptions: Sendable {
    static let minimumIntervalMillis: Millis = 5_000
    private let started = Mutex<[String: Millis]>([:])

    func begin(_ key: String, now: Millis) throws {
        try started.withLock { started in
            if let last = started[key], now - last < Self.minimumIntervalMillis {
                throw SpoolError(.resourceInUse, "Another active subscription exists for this consumer: \(key.split(separator: "#").first ?? "").")
            }
            started = started.filter { now - $0.value < Self.minimumIntervalMillis }
            started[key] = now
        }
    }
}
