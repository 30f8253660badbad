import SpoolModel
import SpoolStorage

/// The promises every `MappingStore` backend keeps, as checks to run against a fresh store each.
public enum MappingStoreConformance {
    public struct Check: Sendable, CustomStringConvertible {
        public let name: String
        let body: @Sendable (any MappingStore) async throws -> Void

        public var description: String { name }

        public func run(on store: any MappingStore) async throws {
            try await body(store)
        }
    }

    static func mapping(_ uuid: String, function: String = "f", source: String = "arn:aws:sqs:us-east-1:000000000000:q",
                        state: MappingState = .creating) -> EventSourceMapping {
        EventSourceMapping(uuid: uuid, functionName: function, functionQualifier: nil, sourceARN: source, state: state,
                           stateTransitionReason: "USER_INITIATED",
                           settings: MappingSettings(batchSize: 100, maximumBatchingWindowSeconds: 5, functionResponseTypes: ["ReportBatchItemFailures"],
                                                     filters: [#"{"body":{"a":[1]}}"#], maximumConcurrency: 7),
                           enabled: true, lastModified: 1_000)
    }

    public static var checks: [Check] {
        [
            Check(name: "a created mapping reads back with every setting") { store in
                let created = try await store.createMapping(mapping("a"))
                let read = try await store.mapping(uuid: "a")
                try expect(read == created, "read \(String(describing: read)), created \(created)")
                try expect(try await store.mapping(uuid: "missing") == nil, "an unknown UUID reads as nil")
            },
            Check(name: "a second mapping of the same source and function is a conflict naming the first") { store in
                _ = try await store.createMapping(mapping("a"))
                do {
                    _ = try await store.createMapping(mapping("b"))
                    try expect(false, "the duplicate was stored")
                } catch let error as SpoolError {
                    try expect(error.code == .resourceConflict && error.message.contains("UUID a"), "error: \(error)")
                }
                _ = try await store.createMapping(mapping("c", function: "g"))
                try expect(try await store.listMappings(ListMappingsParams()).map(\.uuid) == ["a", "c"], "both distinct mappings are stored")
                do {
                    _ = try await store.updateMapping(UpdateMappingParams(uuid: "c", now: 2) { $0.functionName = "f" })
                    try expect(false, "an update made a duplicate")
                } catch let error as SpoolError {
                    try expect(error.code == .resourceConflict && error.message.contains("UUID a"), "error: \(error)")
                }
                try expect(try await store.mapping(uuid: "c")?.functionName == "g", "the refused update changed nothing")
            },
            Check(name: "lists by function and by source, in pages after a UUID") { store in
                for (uuid, function, source) in [("1", "f", "s1"), ("2", "g", "s1"), ("3", "f", "s2"), ("4", "f", "s3")] {
                    _ = try await store.createMapping(mapping(uuid, function: function, source: source))
                }
                try expect(try await store.listMappings(ListMappingsParams(functionName: "f")).map(\.uuid) == ["1", "3", "4"], "by function")
                try expect(try await store.listMappings(ListMappingsParams(sourceARN: "s1")).map(\.uuid) == ["1", "2"], "by source")
                try expect(try await store.listMappings(ListMappingsParams(functionName: "f", sourceARN: "s2")).map(\.uuid) == ["3"], "by both")
                try expect(try await store.listMappings(ListMappingsParams(afterUUID: "1", limit: 2)).map(\.uuid) == ["2", "3"], "a page")
            },
            Check(name: "an update changes the row in one transaction and an error leaves it untouched") { store in
                _ = try await store.createMapping(mapping("a"))
                let updated = try await store.updateMapping(UpdateMappingParams(uuid: "a", now: 5_000) { mapping in
                    mapping.settings.batchSize = 3
                    mapping.state = .updating
                })
                try expect(updated?.settings.batchSize == 3 && updated?.lastModified == 5_000, "updated: \(String(describing: updated))")
                do {
                    _ = try await store.updateMapping(UpdateMappingParams(uuid: "a", now: 6_000) { mapping in
                        mapping.settings.batchSize = 9
                        throw SpoolError(.resourceInUse, "refused")
                    })
                    try expect(false, "the change's error was swallowed")
                } catch let error as SpoolError where error.code == .resourceInUse {}
                let read = try await store.mapping(uuid: "a")
                try expect(read?.settings.batchSize == 3 && read?.lastModified == 5_000, "after a refused change: \(String(describing: read))")
                try expect(try await store.updateMapping(UpdateMappingParams(uuid: "zz", now: 1) { _ in }) == nil, "unknown UUID")
            },
            Check(name: "a state settles only from the state the supervisor saw") { store in
                _ = try await store.createMapping(mapping("a", state: .updating))
                try expect(try await store.settleMapping(uuid: "a", from: .creating, to: .enabled, now: 2) == false, "stale settle refused")
                try expect(try await store.settleMapping(uuid: "a", from: .updating, to: .enabled, now: 2), "settle from the current state")
                try expect(try await store.mapping(uuid: "a")?.state == .enabled, "settled")
            },
            Check(name: "only a mapping being deleted is removed") { store in
                _ = try await store.createMapping(mapping("a", state: .enabled))
                try await store.removeMapping(uuid: "a")
                try expect(try await store.mapping(uuid: "a") != nil, "an enabled mapping stays")
                _ = try await store.updateMapping(UpdateMappingParams(uuid: "a", now: 2) { $0.state = .deleting })
                try await store.removeMapping(uuid: "a")
                try expect(try await store.mapping(uuid: "a") == nil, "the deleting mapping is gone")
            },
        ]
    }

    static func expect(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) throws {
        try require(condition, message(), file: file, line: line)
    }
}
