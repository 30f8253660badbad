import Foundation
import SpoolModel
import Testing

@Suite("Queue mapping rules: settings, batch responses, batch assembly, scaling")
struct MappingRulesTests {
    @Test("defaults are AWS's and every range is enforced with AWS's wording")
    func settings() throws {
        #expect(try MappingRules.apply(MappingRequest(), to: MappingSettings(), fifo: false) == MappingSettings())
        func request(_ change: (inout MappingRequest) -> Void) -> MappingRequest {
            var request = MappingRequest()
            change(&request)
            return request
        }
        func message(_ change: (inout MappingRequest) -> Void, fifo: Bool = false) -> String? {
            do {
                _ = try MappingRules.apply(request(change), to: MappingSettings(), fifo: fifo)
                return nil
            } catch {
                return error.message
            }
        }
        #expect(message { $0.batchSize = 0 }?.contains("Member must have value greater than or equal to 1") == true)
        #expect(message { $0.batchSize = 10_001; $0.maximumBatchingWindowSeconds = 1 }?.contains("less than or equal to 10000") == true)
        #expect(message { $0.batchSize = 11 } == "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10")
        #expect(message { $0.batchSize = 11; $0.maximumBatchingWindowSeconds = 1 } == nil)
        #expect(message({ $0.batchSize = 11; $0.maximumBatchingWindowSeconds = 1 }, fifo: true)?.contains("FIFO") == true)
        #expect(message { $0.maximumBatchingWindowSeconds = 301 }?.contains("less than or equal to 300") == true)
        #expect(message { $0.scalingConfigGiven = true; $0.maximumConcurrency = 1 }?.contains("greater than or equal to 2") == true)
        #expect(message { $0.scalingConfigGiven = true; $0.maximumConcurrency = 1_001 }?.contains("less than or equal to 1000") == true)
        #expect(message { $0.functionResponseTypes = ["Other"] }?.contains("enum value set: [ReportBatchItemFailures]") == true)
        #expect(message { $0.filters = [#"{"a": "x"}"#] } == "Invalid filter pattern definition.")
        #expect(message { $0.filters = Array(repeating: #"{"a": ["x"]}"#, count: 6) }?.contains("maximum number of filters") == true)
        #expect(message { $0.given = ["DestinationConfig"] } == "Unsupported DestinationConfig parameter for given event source mapping type.")
        #expect(message { $0.unsupported = ["Tags"] }?.contains("not supported yet") == true)
    }

    @Test("an update merges into the stored settings; ScalingConfig {} and FilterCriteria {} clear theirs")
    func merging() throws {
        let stored = MappingSettings(batchSize: 50, maximumBatchingWindowSeconds: 2, functionResponseTypes: ["ReportBatchItemFailures"],
                                     filters: [#"{"a": ["x"]}"#], maximumConcurrency: 5)
        var request = MappingRequest()
        request.batchSize = 5
        var merged = try MappingRules.apply(request, to: stored, fifo: false)
        #expect(merged.batchSize == 5 && merged.maximumBatchingWindowSeconds == 2 && merged.maximumConcurrency == 5 && merged.filters.count == 1)
        request = MappingRequest()
        request.scalingConfigGiven = true
        request.filters = []
        merged = try MappingRules.apply(request, to: stored, fifo: false)
        #expect(merged.maximumConcurrency == nil && merged.filters.isEmpty && merged.batchSize == 50)
    }

    @Test("batch responses follow Lambda's success and failure table")
    func batchResponses() {
        let ids: Set<String> = ["a", "b", "c"]
        func parse(_ text: String) -> BatchResponse { BatchResponse.parse(Data(text.utf8), identifiers: ids) }
        for success in ["", "null", "{}", "\"\"", #"{"batchItemFailures": []}"#, #"{"batchItemFailures": null}"#] {
            #expect(parse(success) == .succeeded, "\(success)")
        }
        #expect(parse(#"{"batchItemFailures": [{"itemIdentifier": "b"}]}"#) == .partial(["b"]))
        #expect(parse(#"{"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "c"}]}"#) == .partial(["a", "c"]))
        for failure in ["not json", #"{"batchItemFailures": [{"itemIdentifier": ""}]}"#, #"{"batchItemFailures": [{"itemIdentifier": null}]}"#,
                        #"{"foo": [{"itemIdentifier": "a"}]}"#, #"{"batchItemFailures": [{"itemIdentifier": "zzz"}]}"#,
                        #"{"batchItemFailures": [{}]}"#, #"{"batchItemFailures": "a"}"#, "[1]"] {
            if case .failed = parse(failure) {} else { Issue.record("\(failure) should fail the batch") }
        }
    }

    @Test("a batch is ready when full, when the payload limit is reached, or when its window closes")
    func assembly() {
        var full = BatchAssembly<Int>(batchSize: 3, maximumBytes: 1_000, windowMillis: 0)
        #expect(!full.isReady(now: 0))
        for n in 0..<3 { do { let added = full.add(n, bytes: 10, now: 0); #expect(added) } }
        #expect(full.isReady(now: 0) && full.remaining == 0)

        var sized = BatchAssembly<Int>(batchSize: 100, maximumBytes: 100, windowMillis: 60_000)
        do { let added = sized.add(1, bytes: 40, now: 5); #expect(added) }
        do { let added = sized.add(2, bytes: 40, now: 6); #expect(added) }
        #expect(!sized.isReady(now: 7))
        do { let added = sized.add(3, bytes: 40, now: 7); #expect(!added, "a record that would pass the limit is refused") }
        #expect(sized.isReady(now: 7) && sized.elements == [1, 2] && sized.bytes == 14 + 40 + 41)

        var windowed = BatchAssembly<Int>(batchSize: 100, maximumBytes: 1_000_000, windowMillis: 2_000)
        #expect(windowed.deadline == nil)
        do { let added = windowed.add(1, bytes: 10, now: 1_000); #expect(added) }
        #expect(windowed.deadline == 3_000 && !windowed.isReady(now: 2_999) && windowed.isReady(now: 3_000))

        var huge = BatchAssembly<Int>(batchSize: 10, maximumBytes: 100, windowMillis: 0)
        do { let added = huge.add(1, bytes: 500, now: 0); #expect(added, "an oversized record still goes, alone") }
    }

    @Test("scaling starts at five, earns 300 a minute while backlogged, stops at 1,000, and falls back when idle")
    func scaling() {
        var scaling = MappingScaling(now: 0)
        #expect(scaling.limit(maximumConcurrency: nil) == 5 && scaling.limit(maximumConcurrency: 2) == 2)
        scaling.observe(backlogged: true, now: 10_000)
        #expect(scaling.level == 55)
        scaling.observe(backlogged: false, now: 70_000)
        scaling.observe(backlogged: true, now: 70_100)
        #expect(scaling.level == 55, "time not spent backlogged earns nothing")
        scaling.observe(backlogged: true, now: 70_100 + 600_000)
        #expect(scaling.level == 1_000)
        scaling.idle(now: 700_000)
        #expect(scaling.level == 5)
    }
}
