import Foundation
import SpoolModel

/// What every `MappingStore` backend answers the same way.
package enum MappingStoreRules {
    /// Lambda's conflict for a second mapping of one source to one function, naming the mapping that exists.
    package static func duplicate(_ mapping: EventSourceMapping, existing: String) -> SpoolError {
        if mapping.settings.stream != nil {
            return SpoolError(.resourceConflict, """
                The event source arn (" \(mapping.sourceARN) ") and function (" \(mapping.functionName) ") provided mapping already exists. \
                Please update or delete the existing mapping with UUID \(existing)
                """)
        }
        return SpoolError(.resourceConflict, """
            An event source mapping with SQS arn (" \(mapping.sourceARN) ") and function (" \(mapping.functionName) ") already exists. \
            Please update or delete the existing mapping with UUID \(existing)
            """)
    }

    /// The stream name in `arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`, or in a consumer's
    /// `…:stream/NAME/consumer/CONSUMER:CREATED` (a mapping through an enhanced fan-out consumer reads its stream).
    package static func streamName(_ arn: String) -> String {
        let tail = arn.range(of: ":stream/").map { String(arn[$0.upperBound...]) } ?? arn
        return tail.range(of: "/consumer/").map { String(tail[..<$0.lowerBound]) } ?? tail
    }

    /// A mapping from its stored columns (lists and stream settings as JSON).
    package static func mapping(
        uuid: String, functionName: String, functionQualifier: String?, sourceARN: String, state: String, stateReason: String, enabled: Bool,
        batchSize: Int, windowSeconds: Int, responseTypes: String, filters: String, maximumConcurrency: Int?, streamSettings: String?,
        lastModified: Millis, lastResult: String
    ) -> EventSourceMapping {
        let settings = MappingSettings(
            batchSize: batchSize, maximumBatchingWindowSeconds: windowSeconds,
            functionResponseTypes: ColumnJSON.decode([String].self, responseTypes) ?? [],
            filters: ColumnJSON.decode([String].self, filters) ?? [], maximumConcurrency: maximumConcurrency,
            stream: ColumnJSON.decode(StreamMappingSettings.self, streamSettings)
        )
        return EventSourceMapping(
            uuid: uuid, functionName: functionName, functionQualifier: functionQualifier, sourceARN: sourceARN,
            state: MappingState(rawValue: state) ?? .disabled, stateTransitionReason: stateReason,
            settings: settings, enabled: enabled, lastModified: lastModified, lastProcessingResult: lastResult
        )
    }

    /// The lanes of a mapping regrouped for a new ParallelizationFactor: every new lane of a shard starts where the
    /// slowest old lane stood (`shards`: per shard, its stream, the lowest lane position and the highest epoch), under
    /// a higher epoch, so no record is skipped (some may be handed over again).
    package static func regrouped(_ shards: [(streamID: Int64, shardIndex: Int, position: Int64, epoch: Int64)], factor: Int) -> [StreamCheckpointRow] {
        shards.flatMap { shard in
            (0..<factor).map { lane in
                StreamCheckpointRow(streamID: shard.streamID, shardIndex: shard.shardIndex, lane: lane, position: shard.position, epoch: shard.epoch + 1)
            }
        }
    }
}
