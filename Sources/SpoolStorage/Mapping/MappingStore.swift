import SpoolModel

/// Durable storage of event source mappings.
public protocol MappingStore: Sendable {
    /// Stores a new mapping, or throws `ResourceConflictException` when one already maps the same source
    /// to the same function (checked in the same transaction).
    func createMapping(_ mapping: EventSourceMapping) async throws -> EventSourceMapping
    /// The mapping with this UUID, or `nil`.
    func mapping(uuid: String) async throws -> EventSourceMapping?
    /// Mappings ordered by UUID, after `afterUUID`, optionally of one function and/or one source.
    func listMappings(_ params: ListMappingsParams) async throws -> [EventSourceMapping]
    /// Reads, changes and writes one mapping in one transaction; `nil` when there is no such mapping.
    func updateMapping(_ params: UpdateMappingParams) async throws -> EventSourceMapping?
    /// Moves a mapping from `from` to `to` if it is still in `from` (the supervisor settling a transition).
    func settleMapping(uuid: String, from: MappingState, to: MappingState, now: Millis) async throws -> Bool
    /// Removes a mapping that is `Deleting`.
    func removeMapping(uuid: String) async throws
}

public struct ListMappingsParams: Sendable {
    public var functionName: String?
    public var sourceARN: String?
    public var afterUUID: String?
    public var limit: Int

    public init(functionName: String? = nil, sourceARN: String? = nil, afterUUID: String? = nil, limit: Int = 100) {
        self.functionName = functionName
        self.sourceARN = sourceARN
        self.afterUUID = afterUUID
        self.limit = limit
    }
}

public struct UpdateMappingParams: Sendable {
    public var uuid: String
    public var now: Millis
    /// Applied to the stored mapping inside the transaction; a thrown error rolls it back.
    public var change: @Sendable (inout EventSourceMapping) throws -> Void

    public init(uuid: String, now: Millis, change: @escaping @Sendable (inout EventSourceMapping) throws -> Void) {
        self.uuid = uuid
        self.now = now
        self.change = change
    }
}

extension MappingStore {
    /// Every mapping, read in pages of 500 (the supervisor at start, the cluster's coordinator at each tick).
    package func allMappings() async throws -> [EventSourceMapping] {
        var all: [EventSourceMapping] = []
        while true {
            let page = try await listMappings(ListMappingsParams(afterUUID: all.last?.uuid, limit: 500))
            all += page
            guard page.count == 500 else { return all }
        }
    }
}
