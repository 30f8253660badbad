import Foundation
import Hummingbird
import NIOFoundationEssentialsCompat
import SpoolEngine
import SpoolModel

/// The event source mapping API: Create (202), Get, Update (202), Delete (202), List.
extension LambdaHandler {
    func addMappingRoutes(to router: Router<SpoolRequestContext>) {
        let path = "2015-03-31/event-source-mappings"
        router.post(RouterPath(stringLiteral: path)) { request, context in
            try await self.respond(context) { id in
                let (input, request) = try await Self.mappingInput(request, operation: "CreateEventSourceMapping", creating: true)
                let mapping = try await self.mappings.create(sourceARN: input.EventSourceArn, functionName: input.FunctionName, request: request,
                                                           in: self.identity(context))
                return Self.json(MappingOutput(mapping, identity: self.registry.identity), id, status: .accepted)
            }
        }
        router.get(RouterPath(stringLiteral: path)) { request, context in
            try await self.respond(context) { id in try await self.listMappings(request, self.identity(context), id) }
        }
        router.get(RouterPath(stringLiteral: path + "/:uuid")) { _, context in
            try await self.respond(context) { id in
                let mapping = try await self.mappings.get(context.parameters.get("uuid") ?? "", in: self.identity(context))
                return Self.json(MappingOutput(mapping, identity: self.registry.identity), id)
            }
        }
        router.put(RouterPath(stringLiteral: path + "/:uuid")) { request, context in
            try await self.respond(context) { id in
                let (input, request) = try await Self.mappingInput(request, operation: "UpdateEventSourceMapping", creating: false)
                let mapping = try await self.mappings.update(context.parameters.get("uuid") ?? "", functionName: input.FunctionName, request: request,
                                                           in: self.identity(context))
                return Self.json(MappingOutput(mapping, identity: self.registry.identity), id, status: .accepted)
            }
        }
        router.delete(RouterPath(stringLiteral: path + "/:uuid")) { _, context in
            try await self.respond(context) { id in
                let mapping = try await self.mappings.delete(context.parameters.get("uuid") ?? "", in: self.identity(context))
                return Self.json(MappingOutput(mapping, identity: self.registry.identity), id, status: .accepted)
            }
        }
    }

    func listMappings(_ request: Request, _ identity: AWSIdentity, _ id: String) async throws -> Response {
        let query = request.uri.queryParameters
        var maxItems = EventSourceMappings.pageLimit
        if let text = query["MaxItems"].map({ String($0) }) {
            guard let value = Int(text), (1...10_000).contains(value) else {
                throw SpoolError.validation(field: "maxItems", value: text, constraint: "Member must have value between 1 and 10000")
            }
            maxItems = value
        }
        let page = try await mappings.list(
            sourceARN: query["EventSourceArn"].map { String($0) }, functionName: query["FunctionName"].map { String($0) },
            marker: query["Marker"].map { String($0) }, maxItems: maxItems, in: identity)
        return Self.json(ListMappingsOutput(EventSourceMappings: page.mappings.map { MappingOutput($0, identity: registry.identity) },
                                            NextMarker: page.nextMarker), id)
    }

    /// Decodes a Create/Update body and sorts its members into what queue mappings take, what does not apply
    /// to them, and what Spool does not implement yet.
    static func mappingInput(_ request: Request, operation: String, creating: Bool) async throws -> (MappingInput, MappingRequest) {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: 1_048_576)
        } catch {
            throw SpoolError(.requestTooLarge, "Request must be smaller than 1048576 bytes for the \(operation) operation")
        }
        let input = try AWSJSON.decode(MappingInput.self, from: body)
        let keys = Set(((try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any])?.keys.map { $0 } ?? [])
        var result = MappingRequest()
        result.enabled = input.Enabled
        result.batchSize = input.BatchSize
        result.maximumBatchingWindowSeconds = input.MaximumBatchingWindowInSeconds
        result.functionResponseTypes = input.FunctionResponseTypes
        if let criteria = input.FilterCriteria { result.filters = criteria.Filters?.map(\.Pattern) ?? [] }
        if let scaling = input.ScalingConfig {
            result.scalingConfigGiven = true
            result.maximumConcurrency = scaling.MaximumConcurrency
        }
        result.startingPosition = input.StartingPosition
        result.startingPositionTimestamp = input.StartingPositionTimestamp
        result.parallelizationFactor = input.ParallelizationFactor
        result.bisectBatchOnFunctionError = input.BisectBatchOnFunctionError
        result.maximumRetryAttempts = input.MaximumRetryAttempts
        result.maximumRecordAgeSeconds = input.MaximumRecordAgeInSeconds
        result.tumblingWindowSeconds = input.TumblingWindowInSeconds
        if let destination = input.DestinationConfig {
            result.destinationConfigGiven = true
            result.onFailureDestination = destination.OnFailure?.Destination
            result.onSuccessGiven = destination.OnSuccess?.Destination != nil
        }
        result.given = keys
        result.unsupported = MappingInput.unimplementedMembers.filter(keys.contains)
        if !creating {
            for member in ["EventSourceArn", "StartingPosition", "StartingPositionTimestamp"] where keys.contains(member) {
                throw SpoolError(.invalidParameterValue, "\(member) cannot be updated.")
            }
        }
        return (input, result)
    }

    struct MappingInput: Decodable {
        struct Filter: Decodable { var Pattern: String? }
        struct Criteria: Decodable { var Filters: [Filter]? }
        struct Scaling: Decodable { var MaximumConcurrency: Int? }
        struct Target: Decodable { var Destination: String? }
        struct Destinations: Decodable {
            var OnFailure: Target?
            var OnSuccess: Target?
        }
        var EventSourceArn: String?
        var FunctionName: String?
        var Enabled: Bool?
        var BatchSize: Int?
        var MaximumBatchingWindowInSeconds: Int?
        var FunctionResponseTypes: [String]?
        var FilterCriteria: Criteria?
        var ScalingConfig: Scaling?
        var StartingPosition: String?
        var StartingPositionTimestamp: Double?
        var ParallelizationFactor: Int?
        var BisectBatchOnFunctionError: Bool?
        var MaximumRetryAttempts: Int?
        var MaximumRecordAgeInSeconds: Int?
        var TumblingWindowInSeconds: Int?
        var DestinationConfig: Destinations?

        /// Members Lambda accepts that Spool does not implement yet.
        static let unimplementedMembers = ["Tags", "KMSKeyArn", "MetricsConfig", "ProvisionedPollerConfig"]
    }

    struct MappingOutput: Encodable {
        struct Filter: Encodable { var Pattern: String }
        struct Criteria: Encodable { var Filters: [Filter] }
        struct Scaling: Encodable { var MaximumConcurrency: Int }
        var UUID: String
        var BatchSize: Int
        var MaximumBatchingWindowInSeconds: Int
        var EventSourceArn: String
        var EventSourceMappingArn: String
        var FunctionArn: String
        var FunctionResponseTypes: [String]
        var LastModified: Double
        var State: String
        var StateTransitionReason: String
        var FilterCriteria: Criteria?
        var ScalingConfig: Scaling?
        // Stream mappings only.
        var ParallelizationFactor: Int?
        var StartingPosition: String?
        var StartingPositionTimestamp: Double?
        var LastProcessingResult: String?
        var DestinationConfig: DestinationConfigOutput?
        var MaximumRecordAgeInSeconds: Int?
        var BisectBatchOnFunctionError: Bool?
        var MaximumRetryAttempts: Int?
        var TumblingWindowInSeconds: Int?

        struct OnFailureOutput: Encodable { var Destination: String? }
        struct DestinationConfigOutput: Encodable { var OnFailure: OnFailureOutput }

        init(_ mapping: EventSourceMapping, identity: AWSIdentity) {
            UUID = mapping.uuid
            BatchSize = mapping.settings.batchSize
            MaximumBatchingWindowInSeconds = mapping.settings.maximumBatchingWindowSeconds
            EventSourceArn = mapping.sourceARN
            EventSourceMappingArn = mapping.arn(identity)
            FunctionArn = mapping.functionARN(identity)
            FunctionResponseTypes = mapping.settings.functionResponseTypes
            LastModified = Double(mapping.lastModified) / 1000
            State = mapping.state.rawValue
            StateTransitionReason = mapping.stateTransitionReason
            FilterCriteria = mapping.settings.filters.isEmpty ? nil : Criteria(Filters: mapping.settings.filters.map { Filter(Pattern: $0) })
            ScalingConfig = mapping.settings.maximumConcurrency.map { Scaling(MaximumConcurrency: $0) }
            if let stream = mapping.settings.stream {
                ParallelizationFactor = stream.parallelizationFactor
                StartingPosition = stream.startingPosition.rawValue
                StartingPositionTimestamp = stream.startingPositionTimestamp.map { Double($0) / 1_000 }
                LastProcessingResult = mapping.lastProcessingResult
                DestinationConfig = DestinationConfigOutput(OnFailure: OnFailureOutput(Destination: stream.onFailureDestination))
                MaximumRecordAgeInSeconds = stream.maximumRecordAgeSeconds
                BisectBatchOnFunctionError = stream.bisectBatchOnFunctionError
                MaximumRetryAttempts = stream.maximumRetryAttempts
                TumblingWindowInSeconds = stream.tumblingWindowSeconds
            }
        }
    }

    struct ListMappingsOutput: Encodable {
        var EventSourceMappings: [MappingOutput]
        var NextMarker: String?
    }
}
