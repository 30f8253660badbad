import Foundation
import SpoolModel
import Testing

@Suite struct ShardMapTests {
    @Test func rangesSplitTheHashKeySpaceAsKinesisDoes() {
        // The ranges AWS reports for a 3-shard stream.
        let three = ShardMap(shardCount: 3)
        #expect(three.range(0) == 0...113_427_455_640_312_821_154_458_202_477_256_070_484)
        #expect(three.range(1) == 113_427_455_640_312_821_154_458_202_477_256_070_485...226_854_911_280_625_642_308_916_404_954_512_140_969)
        #expect(three.range(2).upperBound == UInt128.max)
        let four = ShardMap(shardCount: 4)
        #expect(four.range(1).lowerBound == UInt128(1) << 126)
        #expect(four.range(3) == (UInt128(3) << 126)...UInt128.max)
        let one = ShardMap(shardCount: 1)
        #expect(one.range(0) == 0...UInt128.max)
        for map in [three, four, ShardMap(shardCount: 7)] {
            for index in 0..<map.shardCount - 1 { #expect(map.range(index).upperBound + 1 == map.range(index + 1).lowerBound) }
        }
    }

    @Test func partitionKeysHashByMD5AndExplicitKeysWin() {
        #expect(ShardMap.hashKey("a") == UInt128("16955237001963240173058271559858726497")!)
        let four = ShardMap(shardCount: 4)
        #expect(four.shard(partitionKey: "a", explicitHashKey: nil) == 0)
        #expect(four.shard(partitionKey: "user-1", explicitHashKey: nil) == four.shard(forHashKey: ShardMap.hashKey("user-1")))
        #expect(four.shard(partitionKey: "a", explicitHashKey: UInt128.max) == 3)
        #expect(four.shard(partitionKey: "a", explicitHashKey: (UInt128(1) << 126) - 1) == 0)
        #expect(four.shard(partitionKey: "a", explicitHashKey: UInt128(1) << 126) == 1)
        #expect(ShardMap.parseHashKey("340282366920938463463374607431768211455") == UInt128.max)
        #expect(ShardMap.parseHashKey("340282366920938463463374607431768211456") == nil)
        #expect(ShardMap.parseHashKey("-1") == nil)
        #expect(ShardMap.parseHashKey("") == nil)
    }

    @Test func shardIDs() {
        #expect(ShardMap.shardID(0) == "shardId-000000000000")
        #expect(ShardMap.shardID(12) == "shardId-000000000012")
        #expect(ShardMap.shardIndex("shardId-000000000012") == 12)
        #expect(ShardMap.shardIndex("3") == 3)
        #expect(ShardMap.shardIndex("shard-1") == nil)
    }

    @Test func streamNamesAndARNs() {
        #expect(StreamName.problem("orders_v1.2-x") == nil)
        #expect(StreamName.problem("") != nil)
        #expect(StreamName.problem("bad/name") != nil)
        #expect(StreamName.problem(String(repeating: "a", count: 129)) != nil)
        let identity = AWSIdentity()
        #expect(identity.streamARN("s1") == "arn:aws:kinesis:us-east-1:000000000000:stream/s1")
        #expect(identity.streamName(fromARN: "arn:aws:kinesis:us-east-1:000000000000:stream/s1") == "s1")
        #expect(identity.streamName(fromARN: "arn:aws:kinesis:eu-west-1:000000000000:stream/s1") == "eu-west-1/s1")
        #expect(identity.streamARN("eu-west-1/s1") == "arn:aws:kinesis:eu-west-1:000000000000:stream/s1")
        #expect(identity.streamName(fromARN: "arn:aws:kinesis:us-east-1:111111111111:stream/s1") == nil)
        #expect(identity.streamName(fromARN: "arn:aws:sqs:us-east-1:000000000000:s1") == nil)
    }
}

@Suite struct StreamSequenceNumberTests {
    @Test func roundTripsAndOrdersWithinAShard() throws {
        let first = StreamSequenceNumber(streamCreatedSeconds: 1_700_000_000, shardIndex: 2, position: 9, arrivalMillis: 1_700_000_123_456)
        let text = first.text
        #expect(text.count == 56)
        #expect(StreamSequenceNumber.matchesModelPattern(text))
        #expect(StreamSequenceNumber(text) == first)
        let later = StreamSequenceNumber(streamCreatedSeconds: 1_700_000_000, shardIndex: 2, position: 10, arrivalMillis: 1_700_000_000_000)
        // Numeric order (equal width, so textual order) follows the position even when the clock went back.
        #expect(later.text > text)
        #expect(first < later)
        #expect(StreamSequenceNumber("123") == nil)
        #expect(StreamSequenceNumber(String(repeating: "9", count: 56)) == nil)
        #expect(!StreamSequenceNumber.matchesModelPattern("0123"))
        #expect(StreamSequenceNumber.matchesModelPattern("0"))
    }
}

@Suite struct StreamBatchingTests {
    let bisect = StreamRetryPolicy(maximumRetryAttempts: 0, bisectOnError: true)

    /// Runs a lane over `count` records, the function failing any batch holding `poison`; returns the batches
    /// invoked and the records discarded.
    func run(count: Int, batchSize: Int, poison: Set<Int>, policy: StreamRetryPolicy) -> (batches: [[Int]], discarded: [Int]) {
        var state = StreamRetryState()
        var next = 0
        var batches: [[Int]] = []
        var discarded: [Int] = []
        while next < count && batches.count < 1_000 {
            let size = min(state.nextBatchSize(batchSize: batchSize), count - next)
            let batch = Array(next..<(next + size))
            batches.append(batch)
            state.invoked()
            if poison.isDisjoint(with: batch) {
                state.advanced(by: size)
                next += size
                continue
            }
            if state.failed(count: size, policy: policy) == .discard {
                discarded += batch
                state.advanced(by: size)
                next += size
            }
        }
        return (batches, discarded)
    }

    @Test func bisectionIsolatesOnePoisonRecord() {
        let result = run(count: 10, batchSize: 10, poison: [6], policy: bisect)
        #expect(result.discarded == [6])
        #expect(result.batches == [Array(0..<10), [0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [5, 6, 7], [5, 6], [5], [6], [7], [8, 9]])
    }

    @Test func withoutBisectionTheWholeBatchIsRetriedThenDiscarded() {
        let result = run(count: 4, batchSize: 4, poison: [1], policy: StreamRetryPolicy(maximumRetryAttempts: 2))
        #expect(result.batches == [[0, 1, 2, 3], [0, 1, 2, 3], [0, 1, 2, 3]])
        #expect(result.discarded == [0, 1, 2, 3])
    }

    @Test func retriesApplyToTheIsolatedRecordAfterBisection() {
        let policy = StreamRetryPolicy(maximumRetryAttempts: 2, bisectOnError: true)
        let result = run(count: 2, batchSize: 2, poison: [1], policy: policy)
        #expect(result.batches == [[0, 1], [0], [1], [1], [1]])
        #expect(result.discarded == [1])
    }

    @Test func infiniteRetriesNeverDiscard() {
        var state = StreamRetryState()
        for _ in 0..<50 { #expect(state.failed(count: 3, policy: StreamRetryPolicy()) == .retry) }
        #expect(state.backoffMillis == 30_000)
        state.advanced(by: 3)
        #expect(state.backoffMillis == 0)
    }

    @Test func backoffDoublesAndBisectionDoesNotWait() {
        var state = StreamRetryState()
        _ = state.failed(count: 4, policy: StreamRetryPolicy(bisectOnError: true))
        #expect(state.backoffMillis == 0)
        _ = state.failed(count: 1, policy: StreamRetryPolicy())
        #expect(state.backoffMillis == 500)
        _ = state.failed(count: 1, policy: StreamRetryPolicy())
        #expect(state.backoffMillis == 1_000)
    }

    @Test func checkpointArithmetic() {
        #expect(StreamCheckpoint.beforeFailure(lowestFailedPosition: 40, current: 30) == 39)
        #expect(StreamCheckpoint.beforeFailure(lowestFailedPosition: 31, current: 30) == 30)
        #expect(StreamCheckpoint.beforeFailure(lowestFailedPosition: 20, current: 30) == 30)
        #expect(StreamCheckpoint.windowStart(1_700_000_012_345, windowSeconds: 10) == 1_700_000_010_000)
        #expect(StreamCheckpoint.windowStart(1_700_000_010_000, windowSeconds: 10) == 1_700_000_010_000)
    }

    @Test func lanesKeepAPartitionKeyTogether() {
        #expect(StreamCheckpoint.lane(partitionKey: "k", factor: 1) == 0)
        let lanes = Set((0..<200).map { StreamCheckpoint.lane(partitionKey: "key-\($0)", factor: 4) })
        #expect(lanes == [0, 1, 2, 3])
        #expect(StreamCheckpoint.lane(partitionKey: "key-7", factor: 4) == StreamCheckpoint.lane(partitionKey: "key-7", factor: 4))
    }

    @Test func ageLimitSkipsTheOldestRecords() {
        let policy = StreamRetryPolicy(maximumRecordAgeSeconds: 60)
        #expect(policy.expiredPrefix(arrivals: [0, 10_000, 70_000, 80_000], now: 75_000) == 2)
        #expect(StreamRetryPolicy().expiredPrefix(arrivals: [0], now: 1_000_000_000) == 0)
    }
}

@Suite struct KinesisEventTests {
    @Test func recordHasTheAWSShape() throws {
        let record = StreamRecord(shardIndex: 1, position: 4, partitionKey: "p\"1", data: Data("hello".utf8), arrivalMillis: 1_545_084_650_987)
        let text = KinesisEvent.record(record, sequenceNumber: "4955", streamARN: "arn:aws:kinesis:us-east-1:000000000000:stream/s",
                                       roleARN: "arn:aws:iam::000000000000:role/r", region: "us-east-1")
        let event = KinesisEvent.event([text], streamARN: "arn:aws:kinesis:us-east-1:000000000000:stream/s")
        let json = try #require(try JSONSerialization.jsonObject(with: event) as? [String: Any])
        let first = try #require((json["Records"] as? [[String: Any]])?.first)
        let kinesis = try #require(first["kinesis"] as? [String: Any])
        #expect(kinesis["partitionKey"] as? String == "p\"1")
        #expect(kinesis["data"] as? String == "aGVsbG8=")
        #expect(kinesis["approximateArrivalTimestamp"] as? Double == 1_545_084_650.987)
        #expect(first["eventID"] as? String == "shardId-000000000001:4955")
        #expect(first["eventName"] as? String == "aws:kinesis:record")
        #expect(json["window"] == nil)
    }

    @Test func windowMembers() throws {
        let window = KinesisEvent.Window(startMillis: 0, endMillis: 30_000, state: "{\"n\":1}", shardID: "shardId-000000000000", isFinal: true)
        let event = KinesisEvent.event([], window: window, streamARN: "arn:s")
        let json = try #require(try JSONSerialization.jsonObject(with: event) as? [String: Any])
        #expect((json["window"] as? [String: String])?["end"] == "1970-01-01T00:00:30.000Z")
        #expect((json["state"] as? [String: Int])?["n"] == 1)
        #expect(json["isFinalInvokeForWindow"] as? Bool == true)
        #expect(json["isWindowTerminatedEarly"] as? Bool == false)
    }

    @Test func failureRecordOmitsTheResponseForAgedRecords() throws {
        var record = StreamFailureRecord(requestID: "r", functionARN: "arn:f", condition: .recordAgeExceeded, approximateInvokeCount: 0,
                                         functionError: nil, timestamp: 0, shardID: "shardId-000000000000", startSequenceNumber: "1",
                                         endSequenceNumber: "2", firstArrival: 0, lastArrival: 1, batchSize: 2, streamARN: "arn:s")
        var json = try #require(try JSONSerialization.jsonObject(with: Data(record.json().utf8)) as? [String: Any])
        #expect(json["responseContext"] == nil)
        #expect((json["KinesisBatchInfo"] as? [String: Any])?["batchSize"] as? Int == 2)
        record.condition = .retryAttemptsExhausted
        record.functionError = "Unhandled"
        json = try #require(try JSONSerialization.jsonObject(with: Data(record.json().utf8)) as? [String: Any])
        #expect((json["responseContext"] as? [String: Any])?["functionError"] as? String == "Unhandled")
        #expect((json["requestContext"] as? [String: Any])?["condition"] as? String == "RetryAttemptsExhausted")
    }
}

@Suite struct StreamMappingRulesTests {
    func apply(_ change: (inout MappingRequest) -> Void) throws -> MappingSettings {
        var request = MappingRequest()
        change(&request)
        return try MappingRules.apply(request, to: MappingSettings.defaults(for: .stream), source: .stream)
    }

    @Test func defaultsAndRanges() throws {
        let settings = try apply { $0.startingPosition = "TRIM_HORIZON" }
        #expect(settings.batchSize == 100)
        #expect(settings.stream == StreamMappingSettings(startingPosition: .trimHorizon))
        // Streams take large batches without a window.
        #expect(try apply { $0.batchSize = 10_000 }.batchSize == 10_000)
        #expect(throws: SpoolError.self) { try apply { $0.parallelizationFactor = 11 } }
        #expect(throws: SpoolError.self) { try apply { $0.maximumRetryAttempts = -2 } }
        #expect(throws: SpoolError.self) { try apply { $0.maximumRecordAgeSeconds = 59 } }
        #expect(try apply { $0.maximumRecordAgeSeconds = -1 }.stream?.maximumRecordAgeSeconds == -1)
        #expect(try apply { $0.maximumRecordAgeSeconds = 60 }.stream?.maximumRecordAgeSeconds == 60)
        #expect(throws: SpoolError.self) { try apply { $0.tumblingWindowSeconds = 901 } }
        #expect(throws: SpoolError.self) { try apply { $0.startingPosition = "EARLIEST" } }
        #expect(throws: SpoolError.self) { try apply { $0.startingPosition = "AT_TIMESTAMP" } }
        #expect(try apply { $0.startingPosition = "AT_TIMESTAMP"; $0.startingPositionTimestamp = 1.5 }.stream?.startingPositionTimestamp == 1_500)
    }

    @Test func membersOfOtherSourcesAreRejected() {
        func message(_ source: MappingSource, _ member: String) -> String? {
            var request = MappingRequest()
            request.given = [member]
            do {
                _ = try MappingRules.apply(request, to: MappingSettings.defaults(for: source), source: source)
                return nil
            } catch { return error.message }
        }
        #expect(message(.stream, "ScalingConfig") == "Unsupported ScalingConfig parameter for given event source mapping type.")
        #expect(message(.stream, "Topics") == "Unsupported Topics parameter for given event source mapping type.")
        #expect(message(.queue(fifo: false), "ParallelizationFactor") == "Unsupported ParallelizationFactor parameter for given event source mapping type.")
        #expect(message(.stream, "BisectBatchOnFunctionError") == nil)
    }

    @Test func destinations() throws {
        #expect(try apply { $0.destinationConfigGiven = true; $0.onFailureDestination = "arn:aws:sqs:us-east-1:000000000000:q" }
            .stream?.onFailureDestination == "arn:aws:sqs:us-east-1:000000000000:q")
        #expect(throws: SpoolError.self) { try apply { $0.destinationConfigGiven = true; $0.onSuccessGiven = true } }
    }
}
