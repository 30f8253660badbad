import Foundation
import SpoolEngine
import SpoolModel
import SpoolSQLite
import SpoolStorage
import SpoolTesting
import Testing

@Suite("Stream service")
struct StreamServiceTests {
    func withService(_ body: (StreamService, TestClock) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-streams-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = TestClock()
        try await body(StreamService(store: try SQLiteStore(directory: directory), identity: AWSIdentity(), clock: clock), clock)
    }

    @Test("an iterator expires five minutes after it was issued; the one GetRecords returns is new")
    func iteratorsExpire() async throws {
        try await withService { service, clock in
            try await service.createStream(name: "s", shardCount: 1, mode: nil)
            let stream = try await service.stream(name: "s", arn: nil)
            _ = try await service.put([.init(data: Data("a".utf8), partitionKey: "p", explicitHashKey: nil)], into: stream, field: "")
            let iterator = try await service.shardIterator(stream: stream, shardID: "shardId-000000000000", type: "TRIM_HORIZON",
                                                           sequenceNumber: nil, timestamp: nil)
            clock.advance(by: 299_000)
            let page = try await service.records(iterator: iterator, limit: 10)
            #expect(page.records.count == 1)
            clock.advance(by: 2_000)
            await #expect(throws: SpoolError.self) { _ = try await service.records(iterator: iterator, limit: 10) }
            do {
                _ = try await service.records(iterator: iterator, limit: 10)
            } catch let error as SpoolError {
                #expect(error.code == .expiredIterator && error.message.hasPrefix("Iterator expired."))
            }
            // The iterator GetRecords handed back was issued at that call, so it is still good.
            #expect(try await service.records(iterator: try #require(page.next), limit: 10).records.isEmpty)
        }
    }

    @Test("records past the retention period are no longer read; a stream made again under a name starts empty")
    func retention() async throws {
        try await withService { service, clock in
            try await service.createStream(name: "s", shardCount: nil, mode: nil)
            var stream = try await service.stream(name: "s", arn: nil)
            #expect(stream.shardCount == 4 && stream.mode == "ON_DEMAND")
            _ = try await service.put([.init(data: Data("old".utf8), partitionKey: "p", explicitHashKey: "0")], into: stream, field: "")
            clock.advance(by: 23 * 3_600_000)
            _ = try await service.put([.init(data: Data("new".utf8), partitionKey: "p", explicitHashKey: "0")], into: stream, field: "")
            clock.advance(by: 2 * 3_600_000)
            let iterator = try await service.shardIterator(stream: stream, shardID: "shardId-000000000000", type: "TRIM_HORIZON",
                                                           sequenceNumber: nil, timestamp: nil)
            #expect(try await service.records(iterator: iterator, limit: 10).records.map { String(decoding: $0.data, as: UTF8.self) } == ["new"])
            let old = try await service.shardIterator(stream: stream, shardID: "shardId-000000000000", type: "TRIM_HORIZON",
                                                      sequenceNumber: nil, timestamp: nil)
            try await service.deleteStream(name: "s", arn: nil)
            try await service.createStream(name: "s", shardCount: 2, mode: "PROVISIONED")
            stream = try await service.stream(name: "s", arn: nil)
            #expect(stream.shardCount == 2)
            // An iterator of the deleted stream does not read the new one.
            await #expect(throws: SpoolError.self) { _ = try await service.records(iterator: old, limit: 10) }
        }
    }
}
