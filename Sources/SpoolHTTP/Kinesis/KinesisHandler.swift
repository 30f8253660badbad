import Foundation
import Hummingbird
import Logging
import NIOFoundationEssentialsCompat
import SpoolEngine
import SpoolModel
import SpoolStorage

/// The Kinesis JSON 1.1 facade: decodes `Kinesis_20131202.<Operation>` requests, calls the stream service and
/// answers in the shapes botocore parses, errors included.
struct KinesisHandler: Sendable {
    let streams: StreamService
    let subscriptions = ShardSubscriptions()

    static let contentType = "application/x-amz-json-1.1"
    static let targetPrefix = "Kinesis_20131202."

    /// Runs one operation; what it throws is answered in Kinesis's error shape by `APIErrorMiddleware`. `cbor`: the
    /// request is in CBOR (`application/x-amz-cbor-1.1`) and so is the answer.
    /// `region`: the region the request was signed for, whose streams its names mean (the home region when `nil`).
    func handle(operation: String, body: ByteBuffer, requestID: String, region: String? = nil, cbor: Bool = false) async throws -> Response {
        try await dispatch(operation, cbor ? try KinesisCBOR.jsonBody(body) : body, requestID, cbor: cbor, identity: streams.identity.acting(in: region))
    }

    /// A document of the answer, in the request's wire format, and that format's content type.
    static func payload(_ value: some Encodable, cbor: Bool) -> (data: Data, contentType: String) {
        let json = AWSJSON.encode(value)
        return cbor ? (KinesisCBOR.document(fromJSON: json), KinesisCBOR.contentType) : (json, contentType)
    }

    private func dispatch(_ operation: String, _ body: ByteBuffer, _ id: String, cbor: Bool, identity: AWSIdentity) async throws -> Response {
        /// The stored name of a stream the request names in its region.
        func q(_ name: String?) -> String? { name.map(identity.stored) }
        func ok(_ value: some Encodable, _ requestID: String) -> Response {
            let payload = Self.payload(value, cbor: cbor)
            return Response(status: .ok, headers: [.contentType: payload.contentType, AWSJSON.requestID: requestID],
                            body: .init(byteBuffer: ByteBuffer(data: payload.data)))
        }
        func input<T: Decodable>(_ type: T.Type) throws -> T { try AWSJSON.decode(type, from: body) }
        switch operation {
        case "CreateStream":
            let request = try input(KinesisWire.CreateStreamInput.self)
            try await streams.createStream(name: identity.stored(request.StreamName), shardCount: request.ShardCount, mode: request.StreamModeDetails?.StreamMode,
                                           tags: request.Tags ?? [:])
            return ok(EmptyOutput(), id)
        case "DeleteStream":
            let request = try input(KinesisWire.DeleteStreamInput.self)
            try await streams.deleteStream(name: q(request.StreamName), arn: request.StreamARN, enforceConsumerDeletion: request.EnforceConsumerDeletion ?? false)
            return ok(EmptyOutput(), id)
        case "DescribeStream":
            return ok(try await describeStream(try input(KinesisWire.DescribeStreamInput.self), identity), id)
        case "DescribeStreamSummary":
            let request = try input(KinesisWire.StreamRef.self)
            let stream = try await streams.stream(name: q(request.StreamName), arn: request.StreamARN)
            return ok(KinesisWire.DescribeStreamSummaryOutput(StreamDescriptionSummary: .init(
                StreamName: AWSIdentity.plainName(stream.name), StreamARN: arn(stream), StreamModeDetails: .init(StreamMode: stream.mode),
                RetentionPeriodHours: stream.retentionHours, StreamCreationTimestamp: seconds(stream.createdAt),
                OpenShardCount: stream.shardCount, ConsumerCount: try await streams.store.streamConsumers(streamID: stream.id).count)), id)
        case "ListStreams":
            return ok(try await listStreams(try input(KinesisWire.ListStreamsInput.self), identity), id)
        case "ListShards":
            return ok(try await listShards(try input(KinesisWire.ListShardsInput.self), identity), id)
        case "PutRecord":
            let request = try input(KinesisWire.PutRecordInput.self)
            if let ordering = request.SequenceNumberForOrdering, !StreamSequenceNumber.matchesModelPattern(ordering) {
                throw SpoolError.validation(field: "sequenceNumberForOrdering", value: ordering, constraint: "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})")
            }
            let stream = try await streams.stream(name: q(request.StreamName), arn: request.StreamARN)
            // Records of one shard always get increasing numbers, which is what SequenceNumberForOrdering asks for.
            let placed = try await streams.put([.init(data: request.Data, partitionKey: request.PartitionKey, explicitHashKey: request.ExplicitHashKey)],
                                               into: stream, field: "")
            return ok(KinesisWire.PutRecordOutput(ShardId: placed[0].shardID, SequenceNumber: placed[0].sequenceNumber), id)
        case "PutRecords":
            let request = try input(KinesisWire.PutRecordsInput.self)
            guard StreamLimits.putRecordsEntries.contains(request.Records.count) else {
                throw SpoolError.validation(field: "records", value: "\(request.Records.count) records",
                                            constraint: request.Records.isEmpty ? "Member must have length greater than or equal to 1" : "Member must have length less than or equal to 500")
            }
            let total = request.Records.reduce(0) { $0 + $1.Data.count + $1.PartitionKey.utf8.count }
            guard total <= StreamLimits.putRecordsBytes else {
                throw SpoolError(.invalidArgument, "Records size exceeds 5 MB limit")
            }
            let stream = try await streams.stream(name: q(request.StreamName), arn: request.StreamARN)
            let placed = try await streams.put(request.Records.map { .init(data: $0.Data, partitionKey: $0.PartitionKey, explicitHashKey: $0.ExplicitHashKey) },
                                               into: stream, field: "records")
            return ok(KinesisWire.PutRecordsOutput(Records: placed.map { .init(SequenceNumber: $0.sequenceNumber, ShardId: $0.shardID) }), id)
        case "GetShardIterator":
            let request = try input(KinesisWire.GetShardIteratorInput.self)
            let stream = try await streams.stream(name: q(request.StreamName), arn: request.StreamARN)
            let iterator = try await streams.shardIterator(stream: stream, shardID: request.ShardId, type: request.ShardIteratorType,
                                                           sequenceNumber: request.StartingSequenceNumber, timestamp: request.Timestamp)
            return ok(KinesisWire.GetShardIteratorOutput(ShardIterator: iterator), id)
        case "GetRecords":
            let request = try input(KinesisWire.GetRecordsInput.self)
            let limit = request.Limit ?? StreamLimits.getRecordsLimit.upperBound
            guard StreamLimits.getRecordsLimit.contains(limit) else {
                throw SpoolError.validation(field: "limit", value: "\(limit)", constraint: limit < 1
                    ? "Member must have value greater than or equal to 1" : "Member must have value less than or equal to 10000")
            }
            // An iterator wrapped in quotes (copied from a JSON answer) is taken as the iterator, as Kinesis takes it.
            let iterator = request.ShardIterator.count > 1 && request.ShardIterator.hasPrefix("\"") && request.ShardIterator.hasSuffix("\"")
                ? String(request.ShardIterator.dropFirst().dropLast()) : request.ShardIterator
            let page = try await streams.records(iterator: iterator, limit: limit)
            let records = page.records.map { record($0, of: page.stream) }
            return ok(KinesisWire.GetRecordsOutput(Records: records, NextShardIterator: page.next, MillisBehindLatest: page.millisBehind,
                                                   ChildShards: page.children.map { $0.map(childShard) }), id)
        case "IncreaseStreamRetentionPeriod", "DecreaseStreamRetentionPeriod":
            let request = try input(KinesisWire.RetentionInput.self)
            try await streams.changeRetention(name: q(request.StreamName), arn: request.StreamARN, hours: request.RetentionPeriodHours,
                                              increase: operation.hasPrefix("Increase"))
            return ok(EmptyOutput(), id)
        case "AddTagsToStream":
            let request = try input(KinesisWire.AddTagsInput.self)
            try checkTagCount(request.Tags.count, field: "tags", maximum: 200)
            try await streams.tag(try await streams.stream(name: q(request.StreamName), arn: request.StreamARN), tags: request.Tags)
            return ok(EmptyOutput(), id)
        case "RemoveTagsFromStream":
            let request = try input(KinesisWire.RemoveTagsInput.self)
            try checkTagCount(request.TagKeys.count, field: "tagKeys", maximum: 50)
            try await streams.untag(try await streams.stream(name: q(request.StreamName), arn: request.StreamARN), keys: request.TagKeys)
            return ok(EmptyOutput(), id)
        case "ListTagsForStream":
            let request = try input(KinesisWire.ListTagsForStreamInput.self)
            let limit = request.Limit ?? 50
            guard (1...50).contains(limit) else {
                throw SpoolError.validation(field: "limit", value: "\(limit)", constraint: "Member must have value between 1 and 50")
            }
            let stream = try await streams.stream(name: q(request.StreamName), arn: request.StreamARN)
            let after = stream.tags.keys.sorted().filter { request.ExclusiveStartTagKey == nil || $0 > request.ExclusiveStartTagKey! }
            return ok(KinesisWire.ListTagsForStreamOutput(Tags: after.prefix(limit).map { .init(Key: $0, Value: stream.tags[$0]!) },
                                                          HasMoreTags: after.count > limit), id)
        case "TagResource":
            let request = try input(KinesisWire.TagResourceInput.self)
            try checkTagCount(request.Tags.count, field: "tags", maximum: 200)
            try await streams.tag(try await resource(request.ResourceARN), tags: request.Tags)
            return ok(EmptyOutput(), id)
        case "UntagResource":
            let request = try input(KinesisWire.UntagResourceInput.self)
            try checkTagCount(request.TagKeys.count, field: "tagKeys", maximum: 50)
            try await streams.untag(try await resource(request.ResourceARN), keys: request.TagKeys)
            return ok(EmptyOutput(), id)
        case "ListTagsForResource":
            let stream = try await resource(try input(KinesisWire.ResourceInput.self).ResourceARN)
            return ok(KinesisWire.ListTagsForResourceOutput(Tags: stream.tags.keys.sorted().map { .init(Key: $0, Value: stream.tags[$0]!) }), id)
        case "SplitShard":
            let request = try input(KinesisWire.SplitShardInput.self)
            let stream = try await streams.stream(name: q(request.StreamName), arn: request.StreamARN)
            try await streams.splitShard(stream: stream, shardID: request.ShardToSplit, newStartingHashKey: request.NewStartingHashKey)
            return ok(EmptyOutput(), id)
        case "MergeShards":
            let request = try input(KinesisWire.MergeShardsInput.self)
            let stream = try await streams.stream(name: q(request.StreamName), arn: request.StreamARN)
            try await streams.mergeShards(stream: stream, shardID: request.ShardToMerge, adjacentShardID: request.AdjacentShardToMerge)
            return ok(EmptyOutput(), id)
        case "UpdateShardCount":
            let request = try input(KinesisWire.UpdateShardCountInput.self)
            let stream = try await streams.stream(name: q(request.StreamName), arn: request.StreamARN)
            let counts = try await streams.updateShardCount(stream: stream, target: request.TargetShardCount, scalingType: request.ScalingType)
            return ok(KinesisWire.UpdateShardCountOutput(StreamName: AWSIdentity.plainName(stream.name), CurrentShardCount: counts.current, TargetShardCount: counts.target,
                                                         StreamARN: arn(stream)), id)
        case "UpdateStreamMode":
            throw SpoolError.notSupportedYet("\(operation)")
        case "RegisterStreamConsumer":
            let request = try input(KinesisWire.RegisterStreamConsumerInput.self)
            if let tags = request.Tags, !tags.isEmpty { throw SpoolError.notSupportedYet("Tags of stream consumers") }
            let (stream, consumer) = try await streams.registerConsumer(streamARN: request.StreamARN, name: request.ConsumerName)
            // Kinesis answers CREATING and activates the consumer within seconds; Spool's is ACTIVE from the next call on.
            return ok(KinesisWire.RegisterStreamConsumerOutput(Consumer: wire(consumer, of: stream, status: "CREATING")), id)
        case "DescribeStreamConsumer":
            let request = try input(KinesisWire.ConsumerRef.self)
            let (stream, consumer) = try await streams.consumer(arn: request.ConsumerARN, streamARN: request.StreamARN, name: request.ConsumerName)
            var described = wire(consumer, of: stream, status: "ACTIVE")
            described.StreamARN = arn(stream)
            return ok(KinesisWire.DescribeStreamConsumerOutput(ConsumerDescription: described), id)
        case "ListStreamConsumers":
            return ok(try await listStreamConsumers(try input(KinesisWire.ListStreamConsumersInput.self)), id)
        case "DeregisterStreamConsumer":
            let request = try input(KinesisWire.ConsumerRef.self)
            try await streams.deregisterConsumer(arn: request.ConsumerARN, streamARN: request.StreamARN, name: request.ConsumerName)
            return ok(EmptyOutput(), id)
        case "SubscribeToShard":
            return try await subscribeToShard(try input(KinesisWire.SubscribeToShardInput.self), requestID: id, cbor: cbor)
        case "PutResourcePolicy":
            let request = try input(KinesisWire.PutResourcePolicyInput.self)
            let stream = try await resource(request.ResourceARN)
            guard let data = request.Policy.data(using: .utf8), (try? JSONSerialization.jsonObject(with: data)) is [String: Any],
                  request.Policy.utf8.count <= 20_480 else {
                throw SpoolError(.invalidArgument, "The policy is not a valid JSON policy document of at most 20480 bytes.")
            }
            try await streams.store.setStreamResourcePolicy(streamID: stream.id, policy: request.Policy)
            return ok(EmptyOutput(), id)
        case "GetResourcePolicy":
            let stream = try await resource(try input(KinesisWire.ResourceInput.self).ResourceARN)
            // Without a policy, Kinesis answers an empty document.
            return ok(KinesisWire.GetResourcePolicyOutput(Policy: try await streams.store.streamResourcePolicy(streamID: stream.id) ?? "{}"), id)
        case "DeleteResourcePolicy":
            let stream = try await resource(try input(KinesisWire.ResourceInput.self).ResourceARN)
            guard try await streams.store.streamResourcePolicy(streamID: stream.id) != nil else {
                throw SpoolError(.resourceNotFound, "No resource policy found for resource \(arn(stream)).")
            }
            try await streams.store.setStreamResourcePolicy(streamID: stream.id, policy: nil)
            return ok(EmptyOutput(), id)
        case "StartStreamEncryption", "StopStreamEncryption", "EnableEnhancedMonitoring", "DisableEnhancedMonitoring", "DescribeLimits", "DescribeAccountSettings",
             "UpdateAccountSettings", "UpdateMaxRecordSize", "UpdateStreamWarmThroughput":
            throw SpoolError.notSupportedYet(operation)
        default:
            throw SpoolError(.unknownOperation, "The action \(operation) is not valid for this endpoint.")
        }
    }

    func arn(_ stream: StreamInfo) -> String { streams.identity.streamARN(stream.name) }

    /// The stream a `ResourceARN` names; consumer ARNs are refused as not supported yet.
    func resource(_ arn: String) async throws -> StreamInfo {
        if arn.contains("/consumer/") { throw SpoolError.notSupportedYet("Tags of stream consumers") }
        return try await streams.stream(name: nil, arn: arn)
    }

    func checkTagCount(_ count: Int, field: String, maximum: Int) throws {
        guard (1...maximum).contains(count) else {
            throw SpoolError.validation(field: field, value: "\(count) entries", constraint: count < 1
                ? "Member must have length greater than or equal to 1" : "Member must have length less than or equal to \(maximum)")
        }
    }

    func seconds(_ millis: Millis) -> Double { Double(millis) / 1_000 }

    func record(_ record: StreamRecord, of stream: StreamInfo) -> KinesisWire.Record {
        KinesisWire.Record(SequenceNumber: stream.sequenceNumber(record), ApproximateArrivalTimestamp: seconds(record.arrivalMillis),
                           Data: record.data.base64EncodedString(), PartitionKey: record.partitionKey)
    }

    func hashKeyRange(_ shard: ShardInfo) -> KinesisWire.HashKeyRange {
        .init(StartingHashKey: String(shard.hashRange.lowerBound), EndingHashKey: String(shard.hashRange.upperBound))
    }

    func childShard(_ shard: ShardInfo) -> KinesisWire.ChildShard {
        .init(ShardId: ShardMap.shardID(shard.index), ParentShards: shard.parents.map(ShardMap.shardID), HashKeyRange: hashKeyRange(shard))
    }

    /// A shard as ListShards and DescribeStream show it: its parents, and the ending sequence number once closed.
    func wire(_ shard: ShardInfo, of stream: StreamInfo) -> KinesisWire.Shard {
        KinesisWire.Shard(
            ShardId: ShardMap.shardID(shard.index), ParentShardId: shard.parent.map(ShardMap.shardID),
            AdjacentParentShardId: shard.adjacentParent.map(ShardMap.shardID), HashKeyRange: hashKeyRange(shard),
            SequenceNumberRange: .init(
                StartingSequenceNumber: stream.startingSequenceNumber(shardIndex: shard.index),
                EndingSequenceNumber: shard.closedAt.map { stream.sequenceNumber(shardIndex: shard.index, position: max(shard.nextPosition - 1, 0), arrivalMillis: $0) }))
    }

    /// The shards listed (open ones, closed ones within the retention period) after shard index `after`, at most `limit`;
    /// whether more follow.
    func shards(_ stream: StreamInfo, after: Int?, limit: Int, where include: (ShardInfo) -> Bool = { _ in true }) -> (page: [KinesisWire.Shard], more: Bool) {
        let listed = stream.listedShards(now: streams.clock.now()).filter { $0.index > (after ?? -1) && include($0) }
        return (listed.prefix(limit).map { wire($0, of: stream) }, listed.count > limit)
    }

    func describeStream(_ request: KinesisWire.DescribeStreamInput, _ identity: AWSIdentity) async throws -> KinesisWire.DescribeStreamOutput {
        let limit = request.Limit ?? 100
        guard (1...10_000).contains(limit) else {
            throw SpoolError.validation(field: "limit", value: "\(limit)", constraint: "Member must have value between 1 and 10000")
        }
        let stream = try await streams.stream(name: request.StreamName.map(identity.stored), arn: request.StreamARN)
        let after = try request.ExclusiveStartShardId.map { try shardIndex($0) }
        let listed = shards(stream, after: after, limit: limit)
        return KinesisWire.DescribeStreamOutput(StreamDescription: .init(
            StreamName: AWSIdentity.plainName(stream.name), StreamARN: arn(stream), StreamModeDetails: .init(StreamMode: stream.mode), Shards: listed.page,
            HasMoreShards: listed.more, RetentionPeriodHours: stream.retentionHours,
            StreamCreationTimestamp: seconds(stream.createdAt)))
    }

    /// The name a `NextToken` of ListStreams or ListStreamConsumers carries.
    func name(fromToken token: String) throws -> String {
        guard let name = NameToken.decode(token) else { throw SpoolError(.invalidArgument, "Invalid NextToken.") }
        return name
    }

    func shardIndex(_ id: String) throws -> Int {
        guard let index = ShardMap.shardIndex(id) else {
            throw SpoolError.validation(field: "exclusiveStartShardId", value: id, constraint: "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
        }
        return index
    }

    func listStreams(_ request: KinesisWire.ListStreamsInput, _ identity: AWSIdentity) async throws -> KinesisWire.ListStreamsOutput {
        let limit = request.Limit ?? 100
        guard (1...10_000).contains(limit) else {
            throw SpoolError.validation(field: "limit", value: "\(limit)", constraint: "Member must have value between 1 and 10000")
        }
        let after = try request.NextToken.map(name(fromToken:)) ?? request.ExclusiveStartStreamName.map(identity.stored)
        let page = try await streams.listStreams(in: identity, after: after, limit: limit)
        return KinesisWire.ListStreamsOutput(
            StreamNames: page.streams.map { AWSIdentity.plainName($0.name) }, HasMoreStreams: page.hasMore,
            NextToken: page.hasMore ? page.streams.last.map { NameToken.encode($0.name) } : nil,
            StreamSummaries: page.streams.map {
                .init(StreamName: AWSIdentity.plainName($0.name), StreamARN: arn($0), StreamModeDetails: .init(StreamMode: $0.mode), StreamCreationTimestamp: seconds($0.createdAt))
            })
    }

    /// ListShards, with Kinesis's filters: `AT_LATEST` the open shards, `AT_TRIM_HORIZON`/`FROM_TRIM_HORIZON` every shard
    /// still listed, `AT_TIMESTAMP` the shards open at the time, `FROM_TIMESTAMP` those and every later one,
    /// `AFTER_SHARD_ID` the shards after one.
    func listShards(_ request: KinesisWire.ListShardsInput, _ identity: AWSIdentity) async throws -> KinesisWire.ListShardsOutput {
        let limit = request.MaxResults ?? 1_000
        guard (1...10_000).contains(limit) else {
            throw SpoolError.validation(field: "maxResults", value: "\(limit)", constraint: "Member must have value between 1 and 10000")
        }
        if let filter = request.ShardFilter {
            let types = ["AFTER_SHARD_ID", "AT_TRIM_HORIZON", "FROM_TRIM_HORIZON", "AT_LATEST", "AT_TIMESTAMP", "FROM_TIMESTAMP"]
            guard types.contains(filter.Type) else {
                throw SpoolError.validation(field: "shardFilter.type", value: filter.Type, constraint: "Member must satisfy enum value set: [\(types.joined(separator: ", "))]")
            }
        }
        var after: Int?
        let stream: StreamInfo
        if let token = request.NextToken {
            if request.StreamName != nil || request.StreamARN != nil {
                throw SpoolError(.invalidArgument, "NextToken and StreamName cannot be provided together.")
            }
            guard let data = Data(base64Encoded: token), case let parts = String(decoding: data, as: UTF8.self).split(separator: "|"),
                  parts.count == 2, let index = Int(parts[1])
            else { throw SpoolError(.invalidArgument, "Invalid NextToken.") }
            stream = try await streams.stream(name: String(parts[0]), arn: nil)
            // The token carries the stored name: it lists the streams of the region it was handed out in.
            guard identity.isInRegion(stream.name) else { throw SpoolError(.invalidArgument, "Invalid NextToken.") }
            after = index
        } else {
            stream = try await streams.stream(name: request.StreamName.map(identity.stored), arn: request.StreamARN)
            if let id = request.ExclusiveStartShardId { after = try shardIndex(id) }
            if let filter = request.ShardFilter, filter.Type == "AFTER_SHARD_ID", let id = filter.ShardId { after = try shardIndex(id) }
        }
        let filter = request.ShardFilter
        let at = filter?.Timestamp.map { Millis(($0 * 1_000).rounded(.down)) }
        if let filter, filter.Type == "AT_TIMESTAMP" || filter.Type == "FROM_TIMESTAMP", at == nil {
            throw SpoolError(.invalidArgument, "Timestamp is required for the \(filter.Type) shard filter.")
        }
        let listed = shards(stream, after: after, limit: limit) { shard in
            switch filter?.Type {
            case "AT_LATEST": shard.isOpen
            case "AT_TIMESTAMP": shard.createdAt <= at! && (shard.closedAt.map { $0 > at! } ?? true)
            case "FROM_TIMESTAMP": shard.closedAt.map { $0 > at! } ?? true
            default: true
            }
        }
        let last = listed.page.last.flatMap { ShardMap.shardIndex($0.ShardId) }
        let next = listed.more ? last.map { Data("\(stream.name)|\($0)".utf8).base64EncodedString() } : nil
        return KinesisWire.ListShardsOutput(Shards: listed.page, NextToken: next)
    }
}
