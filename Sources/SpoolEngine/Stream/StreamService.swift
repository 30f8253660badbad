import Foundation
import Logging
import SpoolModel
import SpoolSignals
import SpoolStorage

/// The Kinesis capability over a `StreamStore`: streams, puts routed to shards by hash key, iterators and
/// reads, with Kinesis's errors. Puts signal the stream's channel so that mapping pollers wake.
package final class StreamService: Sendable {
    package let store: any StreamStore
    package let identity: AWSIdentity
    package let clock: any SpoolClock
    /// One channel per stream id.
    package let signals: QueueSignals
    /// Closed when the server begins to shut down: streamed answers (SubscribeToShard) end at once, so that the
    /// HTTP server can drain.
    package let streamingEnds = WakeSignal()
    let logger: Logger

    package init(store: any StreamStore, identity: AWSIdentity, clock: any SpoolClock = WallClock(), signals: QueueSignals = QueueSignals(),
                logger: Logger = Logger(label: "spool.kinesis")) {
        self.store = store
        self.identity = identity
        self.clock = clock
        self.signals = signals
        self.logger = logger
    }

    // MARK: Streams

    /// CreateStream: `ON_DEMAND` streams (and requests naming no shard count) get 4 shards, as Kinesis starts them.
    package func createStream(name: String, shardCount: Int?, mode: String?, tags: [String: String] = [:]) async throws {
        try checkName(name)
        try StreamTags.validate(tags, existing: [:], stream: AWSIdentity.plainName(name), account: identity.accountID)
        let mode = mode ?? (shardCount == nil ? "ON_DEMAND" : "PROVISIONED")
        guard mode == "PROVISIONED" || mode == "ON_DEMAND" else {
            throw SpoolError.validation(field: "streamModeDetails.streamMode", value: mode, constraint: "Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]")
        }
        let count = shardCount ?? 4
        guard count >= 1 else {
            throw SpoolError.validation(field: "shardCount", value: "\(count)", constraint: "Member must have value greater than or equal to 1")
        }
        guard count <= StreamLimits.shardCount.upperBound else {
            throw SpoolError(.overLimit, "This request would exceed the shard limit for the account \(identity.accountID) in \(identity.region(of: name)). Current shard count for the account: 0. Limit: \(StreamLimits.shardCount.upperBound).")
        }
        do {
            _ = try await store.createStream(CreateStreamParams(name: name, shardCount: count, mode: mode, tags: tags, now: clock.now()))
        } catch let error as SpoolError where error.code == .resourceInUse {
            throw SpoolError(.resourceInUse, "Stream \(AWSIdentity.plainName(name)) under account \(identity.accountID) already exists.")
        }
    }

    /// The stream a request names by `StreamName` or `StreamARN`, or Kinesis's not-found error.
    package func stream(name: String?, arn: String?) async throws -> StreamInfo {
        let resolved: String
        if let arn {
            guard let fromARN = identity.streamName(fromARN: arn) else {
                throw SpoolError(.invalidArgument, "Invalid StreamARN: \(arn)")
            }
            if let name, name != fromARN { throw SpoolError(.invalidArgument, "StreamName and StreamARN name different streams.") }
            resolved = fromARN
        } else if let name {
            try checkName(name)
            resolved = name
        } else {
            throw SpoolError(.invalidArgument, "Either StreamName or StreamARN should be provided.")
        }
        guard let stream = try await store.stream(named: resolved) else { throw notFound(resolved) }
        return stream
    }

    /// DeleteStream; a stream with registered consumers is deleted only with `EnforceConsumerDeletion`, as on Kinesis.
    package func deleteStream(name: String?, arn: String?, enforceConsumerDeletion: Bool = false) async throws {
        let stream = try await stream(name: name, arn: arn)
        if !enforceConsumerDeletion, try await !store.streamConsumers(streamID: stream.id).isEmpty {
            throw SpoolError(.resourceInUse, "Stream \(AWSIdentity.plainName(stream.name)) under account \(identity.accountID) has registered consumers. Set EnforceConsumerDeletion to delete it with them.")
        }
        guard try await store.deleteStream(name: stream.name, now: clock.now()) else { throw notFound(stream.name) }
        signals.signal(stream.id)
    }

    /// A page of the streams of the region `identity` acts in, after a stored name.
    package func listStreams(in identity: AWSIdentity, after: String?, limit: Int) async throws -> (streams: [StreamInfo], hasMore: Bool) {
        let page = try await RegionPage.read(limit: limit, after: after, identity: identity, fetch: { after, count in
            try await store.listStreams(after: after, limit: count)
        }, name: \.name)
        return (page.items, page.hasMore)
    }

    /// Increase/DecreaseStreamRetentionPeriod.
    package func changeRetention(name: String?, arn: String?, hours: Int, increase: Bool) async throws {
        let stream = try await stream(name: name, arn: arn)
        guard StreamLimits.retentionHours.contains(hours) else {
            let bound = hours < StreamLimits.retentionHours.lowerBound ? "Minimum allowed retention period is 24 hours" : "Maximum allowed retention period is 8760 hours"
            throw SpoolError(.invalidArgument, "\(bound). Requested retention period (\(hours) hours) is too \(hours < 24 ? "short" : "long").")
        }
        if increase, hours < stream.retentionHours {
            throw SpoolError(.invalidArgument, "Requested retention period (\(hours) hours) for stream \(AWSIdentity.plainName(stream.name)) can not be shorter than existing retention period (\(stream.retentionHours) hours). Use DecreaseRetentionPeriod API.")
        }
        if !increase, hours > stream.retentionHours {
            throw SpoolError(.invalidArgument, "Requested retention period (\(hours) hours) for stream \(AWSIdentity.plainName(stream.name)) can not be longer than existing retention period (\(stream.retentionHours) hours). Use IncreaseRetentionPeriod API.")
        }
        try await store.setStreamRetention(name: stream.name, hours: hours)
    }

    // MARK: Tags

    package func tag(_ stream: StreamInfo, tags: [String: String]) async throws {
        try await store.tagStream(name: stream.name, tags: tags, account: identity.accountID)
    }

    package func untag(_ stream: StreamInfo, keys: [String]) async throws {
        try await store.untagStream(name: stream.name, keys: keys)
    }

    // MARK: Records

    /// One record of a PutRecord(s) request, as received.
    package struct Entry: Sendable {
        package var data: Data
        package var partitionKey: String
        package var explicitHashKey: String?

        package init(data: Data, partitionKey: String, explicitHashKey: String?) {
            self.data = data
            self.partitionKey = partitionKey
            self.explicitHashKey = explicitHashKey
        }
    }

    /// Where a put record went.
    package struct Placement: Sendable {
        package var shardID: String
        package var sequenceNumber: String
    }

    /// PutRecord and PutRecords: every entry is checked before any is stored; all are stored in one commit. A record
    /// routed to a shard that a reshard closed meanwhile is routed again on the stream as it is now.
    package func put(_ entries: [Entry], into stream: StreamInfo, field: String) async throws -> [Placement] {
        var hashKeys: [UInt128] = []
        hashKeys.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() {
            let prefix = entries.count == 1 && field.isEmpty ? "" : "\(field).\(index + 1)."
            let keyLength = entry.partitionKey.utf8.count
            guard StreamLimits.partitionKeyLength.contains(entry.partitionKey.count) else {
                throw SpoolError.validation(field: prefix + "partitionKey", value: entry.partitionKey,
                                            constraint: keyLength == 0 ? "Member must have length greater than or equal to 1" : "Member must have length less than or equal to 256")
            }
            guard entry.data.count + keyLength <= StreamLimits.maximumRecordBytes else {
                throw SpoolError.validation(field: prefix + "data", value: "java.nio.HeapByteBuffer[pos=0 lim=\(entry.data.count) cap=\(entry.data.count)]",
                                            constraint: "Member must have length less than or equal to \(StreamLimits.maximumRecordBytes)")
            }
            if let text = entry.explicitHashKey {
                guard let parsed = ShardMap.parseHashKey(text) else {
                    throw SpoolError(.invalidArgument, "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was \(text)")
                }
                hashKeys.append(parsed)
            } else {
                hashKeys.append(ShardMap.hashKey(entry.partitionKey))
            }
        }
        var stream = stream
        for attempt in 1...Self.routingAttempts {
            let records = zip(entries, hashKeys).map { entry, key in
                NewStreamRecord(shardIndex: stream.openShard(forHashKey: key), partitionKey: entry.partitionKey, data: entry.data)
            }
            let now = clock.now()
            let positions: [Int64]
            do {
                positions = try await store.putRecords(PutRecordsParams(streamID: stream.id, records: records, now: now))
            } catch let error as SpoolError where error.code == .resourceNotFound {
                throw notFound(stream.name)
            } catch StreamStoreError.shardClosed where attempt < Self.routingAttempts {
                guard let current = try await store.stream(named: stream.name), current.id == stream.id else { throw notFound(stream.name) }
                stream = current
                continue
            }
            SpoolMetrics.recordsPut(stream.name, records: records.count, bytes: entries.reduce(0) { $0 + $1.data.count + $1.partitionKey.utf8.count })
            signals.signal(stream.id)
            return zip(records, positions).map { record, position in
                Placement(shardID: ShardMap.shardID(record.shardIndex),
                          sequenceNumber: stream.sequenceNumber(shardIndex: record.shardIndex, position: position, arrivalMillis: now))
            }
        }
        throw SpoolError(.resourceInUse, "Stream \(AWSIdentity.plainName(stream.name)) under account \(identity.accountID) is being resharded. Retry the request.")
    }

    /// How often a put routes again when reshards keep closing its shards.
    static let routingAttempts = 5

    // MARK: Iterators

    /// GetShardIterator: resolves the position now (so `LATEST` means records put after this call).
    package func shardIterator(stream: StreamInfo, shardID: String, type: String, sequenceNumber: String?, timestamp: Double?) async throws -> String {
        guard let shard = ShardMap.shardIndex(shardID), stream.shard(shard) != nil else {
            throw SpoolError(.resourceNotFound, "Shard \(shardID) in stream \(AWSIdentity.plainName(stream.name)) under account \(identity.accountID) does not exist")
        }
        let now = clock.now()
        let after: Int64
        switch type {
        case "TRIM_HORIZON":
            after = -1
        case "LATEST":
            // Every record arrived before the end of time: the last position of the shard.
            after = try await store.position(before: .max, streamID: stream.id, shardIndex: shard)
        case "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER":
            guard let text = sequenceNumber else {
                throw SpoolError(.invalidArgument, "The StartingSequenceNumber parameter is required for the \(type) shard iterator type.")
            }
            guard let number = StreamSequenceNumber(text), number.streamCreatedSeconds == stream.createdAt / 1_000, number.shardIndex == shard else {
                throw SpoolError(.invalidArgument, "Invalid StartingSequenceNumber. It encodes \(StreamSequenceNumber(text) == nil ? "no valid Spool position" : "another shard or stream"), while it was used in a call to a shard with \(ShardMap.shardID(shard))")
            }
            // A shard's starting sequence number (arrival time 0, which no record has) stands before its first record.
            after = type == "AT_SEQUENCE_NUMBER" || number.arrivalMillis == 0 ? number.position - 1 : number.position
        case "AT_TIMESTAMP":
            guard let timestamp else {
                throw SpoolError(.invalidArgument, "The timestampInMillis parameter cannot be null for ShardIteratorType: AT_TIMESTAMP")
            }
            let millis = Millis((timestamp * 1_000).rounded(.down))
            guard millis <= now else {
                throw SpoolError(.invalidArgument, "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: \(millis), currentTimestampInMillis: \(now)")
            }
            after = try await store.position(before: millis, streamID: stream.id, shardIndex: shard)
        default:
            throw SpoolError.validation(field: "shardIteratorType", value: type,
                                        constraint: "Member must satisfy enum value set: [AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP]")
        }
        return ShardIterator(streamName: stream.name, streamCreated: stream.createdAt, shardIndex: shard, after: after, issuedAt: now).encoded
    }

    /// A sequence number to resume after, from which `AFTER_SEQUENCE_NUMBER` reads what `iterator` would read next: the
    /// shard's starting sequence number before its first record, else one at the iterator's last position (whose arrival
    /// part, 1, no reader looks at).
    package func resumeSequenceNumber(iterator text: String, stream: StreamInfo) -> String? {
        guard let iterator = ShardIterator(text) else { return nil }
        return iterator.after < 0 ? stream.startingSequenceNumber(shardIndex: iterator.shardIndex)
            : stream.sequenceNumber(shardIndex: iterator.shardIndex, position: iterator.after, arrivalMillis: 1)
    }

    /// What GetRecords read: `next` is `nil` once the reader has reached the end of a closed shard, whose
    /// `children` are then listed.
    package struct RecordsPage: Sendable {
        package var stream: StreamInfo
        package var records: [StreamRecord]
        package var next: String?
        package var millisBehind: Millis
        package var children: [ShardInfo]?
    }

    /// GetRecords: up to `limit` records after the iterator's position, the iterator to continue with, and
    /// how far behind the newest record the reader is.
    package func records(iterator text: String, limit: Int) async throws -> RecordsPage {
        guard let iterator = ShardIterator(text) else { throw SpoolError(.invalidArgument, "Invalid ShardIterator.") }
        let now = clock.now()
        if now - iterator.issuedAt > StreamLimits.iteratorLifetimeMillis {
            throw SpoolError(.expiredIterator, "Iterator expired. The iterator was created at time \(InvocationRecord.iso8601(iterator.issuedAt)) while right now it is \(InvocationRecord.iso8601(now)) which is further in the future than the tolerated delay of \(StreamLimits.iteratorLifetimeMillis) milliseconds.")
        }
        guard let stream = try await store.stream(named: iterator.streamName), stream.createdAt == iterator.streamCreated else {
            throw notFound(iterator.streamName)
        }
        let records = try await store.readRecords(ReadRecordsParams(
            streamID: stream.id, shardIndex: iterator.shardIndex, afterPosition: iterator.after, limit: limit,
            maximumBytes: StreamLimits.getRecordsBytes, notBefore: stream.retentionCutoff(now: now)))
        var next = iterator
        next.issuedAt = now
        if let last = records.last { next.after = last.position }
        var behind: Millis = 0
        // Behind when the shard has a record after the last one returned (a newer record is never expired).
        if let last = records.last, try await !store.readRecords(ReadRecordsParams(
            streamID: stream.id, shardIndex: iterator.shardIndex, afterPosition: last.position, limit: 1, maximumBytes: 1, notBefore: 0)).isEmpty {
            behind = max(0, now - last.arrivalMillis)
        }
        // The end of a closed shard (or nothing left of it within the retention period): no iterator to go on with, its
        // children instead.
        if let shard = stream.shard(iterator.shardIndex), let end = shard.endPosition, next.after >= end || records.isEmpty {
            return RecordsPage(stream: stream, records: records, next: nil, millisBehind: 0, children: stream.children(of: shard.index))
        }
        return RecordsPage(stream: stream, records: records, next: next.encoded, millisBehind: behind, children: nil)
    }

    /// Checks a stored name: the stream's own name, under its region's prefix outside the home region.
    func checkName(_ stored: String) throws {
        let name = AWSIdentity.plainName(stored)
        if let problem = StreamName.problem(name) {
            throw SpoolError.validation(field: "streamName", value: name, constraint: problem)
        }
    }

    func notFound(_ name: String) -> SpoolError {
        SpoolError(.resourceNotFound, "Stream \(AWSIdentity.plainName(name)) under account \(identity.accountID) not found.")
    }
}

/// A shard iterator: where a reader is, opaque to clients, valid for five minutes from when it was issued.
struct ShardIterator: Equatable {
    /// The stream's stored name (`REGION/NAME` outside the home region): an iterator reads the stream it was issued for,
    /// whichever region the GetRecords request is signed for.
    var streamName: String
    /// Tells a stream from one deleted and created again under the same name.
    var streamCreated: Millis
    var shardIndex: Int
    /// The last position read (-1: none).
    var after: Int64
    var issuedAt: Millis

    init(streamName: String, streamCreated: Millis, shardIndex: Int, after: Int64, issuedAt: Millis) {
        self.streamName = streamName
        self.streamCreated = streamCreated
        self.shardIndex = shardIndex
        self.after = after
        self.issuedAt = issuedAt
    }

    var encoded: String {
        Data("1|\(streamCreated)|\(shardIndex)|\(after)|\(issuedAt)|\(streamName)".utf8).base64EncodedString()
    }

    init?(_ text: String) {
        guard text.count <= 512, let data = Data(base64Encoded: text) else { return nil }
        let parts = String(decoding: data, as: UTF8.self).split(separator: "|", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "1", let created = Millis(parts[1]), let shard = Int(parts[2]), let after = Int64(parts[3]),
              let issued = Millis(parts[4]), StreamName.problem(AWSIdentity.plainName(String(parts[5]))) == nil
        else { return nil }
        self.init(streamName: String(parts[5]), streamCreated: created, shardIndex: shard, after: after, issuedAt: issued)
    }
}
