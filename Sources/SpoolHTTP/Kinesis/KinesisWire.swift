import Foundation

/// Request and response members of the Kinesis operations Spool serves, named as the service model names them.
enum KinesisWire {
    struct StreamRef: Decodable {
        var StreamName: String?
        var StreamARN: String?
    }

    struct DeleteStreamInput: Decodable {
        var StreamName: String?
        var StreamARN: String?
        var EnforceConsumerDeletion: Bool?
    }

    struct ModeDetails: Codable { var StreamMode: String }

    struct CreateStreamInput: Decodable {
        var StreamName: String
        var ShardCount: Int?
        var StreamModeDetails: ModeDetails?
        var Tags: [String: String]?
    }

    struct DescribeStreamInput: Decodable {
        var StreamName: String?
        var StreamARN: String?
        var Limit: Int?
        var ExclusiveStartShardId: String?
    }

    struct ListStreamsInput: Decodable {
        var Limit: Int?
        var ExclusiveStartStreamName: String?
        var NextToken: String?
    }

    struct ShardFilter: Decodable {
        var `Type`: String
        var ShardId: String?
        var Timestamp: Double?
    }

    struct ListShardsInput: Decodable {
        var StreamName: String?
        var StreamARN: String?
        var NextToken: String?
        var ExclusiveStartShardId: String?
        var MaxResults: Int?
        var ShardFilter: ShardFilter?
        var StreamCreationTimestamp: Double?
    }

    struct PutRecordInput: Decodable {
        var StreamName: String?
        var StreamARN: String?
        var Data: Data
        var PartitionKey: String
        var ExplicitHashKey: String?
        var SequenceNumberForOrdering: String?
    }

    struct PutRecordsEntry: Decodable {
        var Data: Data
        var PartitionKey: String
        var ExplicitHashKey: String?
    }

    struct PutRecordsInput: Decodable {
        var StreamName: String?
        var StreamARN: String?
        var Records: [PutRecordsEntry]
    }

    struct GetShardIteratorInput: Decodable {
        var StreamName: String?
        var StreamARN: String?
        var ShardId: String
        var ShardIteratorType: String
        var StartingSequenceNumber: String?
        var Timestamp: Double?
    }

    struct GetRecordsInput: Decodable {
        var ShardIterator: String
        var Limit: Int?
        var StreamARN: String?
    }

    struct RetentionInput: Decodable {
        var StreamName: String?
        var StreamARN: String?
        var RetentionPeriodHours: Int
    }

    struct AddTagsInput: Decodable {
        var StreamName: String?
        var StreamARN: String?
        var Tags: [String: String]
    }

    struct RemoveTagsInput: Decodable {
        var StreamName: String?
        var StreamARN: String?
        var TagKeys: [String]
    }

    struct ListTagsForStreamInput: Decodable {
        var StreamName: String?
        var StreamARN: String?
        var ExclusiveStartTagKey: String?
        var Limit: Int?
    }

    struct TagResourceInput: Decodable {
        var ResourceARN: String
        var Tags: [String: String]
    }

    struct UntagResourceInput: Decodable {
        var ResourceARN: String
        var TagKeys: [String]
    }

    struct ResourceInput: Decodable { var ResourceARN: String }

    struct PutResourcePolicyInput: Decodable {
        var ResourceARN: String
        var Policy: String
    }

    struct GetResourcePolicyOutput: Encodable { var Policy: String }

    struct Tag: Encodable {
        var Key: String
        var Value: String
    }

    struct ListTagsForStreamOutput: Encodable {
        var Tags: [Tag]
        var HasMoreTags: Bool
    }

    struct ListTagsForResourceOutput: Encodable { var Tags: [Tag] }

    struct HashKeyRange: Encodable {
        var StartingHashKey: String
        var EndingHashKey: String
    }

    struct SequenceNumberRange: Encodable {
        var StartingSequenceNumber: String
        /// A closed shard's last sequence number.
        var EndingSequenceNumber: String?
    }

    struct Shard: Encodable {
        var ShardId: String
        var ParentShardId: String?
        var AdjacentParentShardId: String?
        var HashKeyRange: HashKeyRange
        var SequenceNumberRange: SequenceNumberRange
    }

    struct ChildShard: Encodable {
        var ShardId: String
        var ParentShards: [String]
        var HashKeyRange: HashKeyRange
    }

    struct SplitShardInput: Decodable {
        var StreamName: String?
        var StreamARN: String?
        var ShardToSplit: String
        var NewStartingHashKey: String
    }

    struct MergeShardsInput: Decodable {
        var StreamName: String?
        var StreamARN: String?
        var ShardToMerge: String
        var AdjacentShardToMerge: String
    }

    struct UpdateShardCountInput: Decodable {
        var StreamName: String?
        var StreamARN: String?
        var TargetShardCount: Int
        var ScalingType: String
    }

    struct UpdateShardCountOutput: Encodable {
        var StreamName: String
        var CurrentShardCount: Int
        var TargetShardCount: Int
        var StreamARN: String
    }

    struct EnhancedMetrics: Encodable { var ShardLevelMetrics: [String] = [] }

    struct StreamDescription: Encodable {
        var StreamName: String
        var StreamARN: String
        var StreamStatus = "ACTIVE"
        var StreamModeDetails: ModeDetails
        var Shards: [Shard]
        var HasMoreShards: Bool
        var RetentionPeriodHours: Int
        var StreamCreationTimestamp: Double
        var EnhancedMonitoring = [EnhancedMetrics()]
        var EncryptionType = "NONE"
    }

    struct DescribeStreamOutput: Encodable { var StreamDescription: StreamDescription }

    struct StreamDescriptionSummary: Encodable {
        var StreamName: String
        var StreamARN: String
        var StreamStatus = "ACTIVE"
        var StreamModeDetails: ModeDetails
        var RetentionPeriodHours: Int
        var StreamCreationTimestamp: Double
        var EnhancedMonitoring = [EnhancedMetrics()]
        var EncryptionType = "NONE"
        var OpenShardCount: Int
        var ConsumerCount: Int
    }

    struct DescribeStreamSummaryOutput: Encodable { var StreamDescriptionSummary: StreamDescriptionSummary }

    struct StreamSummary: Encodable {
        var StreamName: String
        var StreamARN: String
        var StreamStatus = "ACTIVE"
        var StreamModeDetails: ModeDetails
        var StreamCreationTimestamp: Double
    }

    struct ListStreamsOutput: Encodable {
        var StreamNames: [String]
        var HasMoreStreams: Bool
        var NextToken: String?
        var StreamSummaries: [StreamSummary]
    }

    struct ListShardsOutput: Encodable {
        var Shards: [Shard]
        var NextToken: String?
    }

    struct PutRecordOutput: Encodable {
        var ShardId: String
        var SequenceNumber: String
        var EncryptionType = "NONE"
    }

    struct PutRecordsResultEntry: Encodable {
        var SequenceNumber: String
        var ShardId: String
    }

    struct PutRecordsOutput: Encodable {
        var FailedRecordCount = 0
        var Records: [PutRecordsResultEntry]
        var EncryptionType = "NONE"
    }

    struct GetShardIteratorOutput: Encodable { var ShardIterator: String }

    struct Record: Encodable {
        var SequenceNumber: String
        var ApproximateArrivalTimestamp: Double
        var Data: String
        var PartitionKey: String
    }

    struct GetRecordsOutput: Encodable {
        var Records: [Record]
        /// Absent once the end of a closed shard is reached.
        var NextShardIterator: String?
        var MillisBehindLatest: Int64
        var ChildShards: [ChildShard]?
    }

    // MARK: Enhanced fan-out

    struct RegisterStreamConsumerInput: Decodable {
        var StreamARN: String
        var ConsumerName: String
        var Tags: [String: String]?
    }

    struct ConsumerRef: Decodable {
        var StreamARN: String?
        var ConsumerName: String?
        var ConsumerARN: String?
    }

    /// `Consumer`, and with its `StreamARN` Kinesis's `ConsumerDescription`.
    struct Consumer: Encodable {
        var ConsumerName: String
        var ConsumerARN: String
        var ConsumerStatus: String
        var ConsumerCreationTimestamp: Double
        var StreamARN: String?
    }

    struct RegisterStreamConsumerOutput: Encodable { var Consumer: Consumer }

    struct DescribeStreamConsumerOutput: Encodable { var ConsumerDescription: Consumer }

    struct ListStreamConsumersInput: Decodable {
        var StreamARN: String
        var NextToken: String?
        var MaxResults: Int?
        var StreamCreationTimestamp: Double?
    }

    struct ListStreamConsumersOutput: Encodable {
        var Consumers: [Consumer]
        var NextToken: String?
    }

    struct StartingPosition: Decodable {
        var `Type`: String
        var SequenceNumber: String?
        var Timestamp: Double?
    }

    struct SubscribeToShardInput: Decodable {
        var ConsumerARN: String
        var ShardId: String
        var StartingPosition: StartingPosition
    }

    struct SubscribeToShardEvent: Encodable {
        var Records: [Record]
        /// `null` in the last event of a closed shard, which lists its children.
        var ContinuationSequenceNumber: String?
        var MillisBehindLatest: Int64
        var ChildShards: [ChildShard]?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(Records, forKey: .Records)
            try container.encode(ContinuationSequenceNumber, forKey: .ContinuationSequenceNumber)
            try container.encode(MillisBehindLatest, forKey: .MillisBehindLatest)
            try container.encodeIfPresent(ChildShards, forKey: .ChildShards)
        }

        enum CodingKeys: String, CodingKey { case Records, ContinuationSequenceNumber, MillisBehindLatest, ChildShards }
    }
}
