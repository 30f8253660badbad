import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOFoundationEssentialsCompat
import SpoolEngine
import SpoolExecutor
import SpoolModel

/// Lambda's REST-JSON function API: the registry, concurrency settings, Invoke and asynchronous invocation.
struct LambdaHandler: Sendable {
    let registry: FunctionRegistry
    let invoker: FunctionInvoker
    let asyncInvocations: AsyncInvocations
    let eventInvokeConfigs: EventInvokeConfigs
    let mappings: EventSourceMappings
    let defaultBaseURL: String

    /// The largest CreateFunction/UpdateFunctionCode body AWS accepts (base64 of a 50 MB zip and the JSON around it).
    static let maximumCodeRequestBytes = FunctionLimits.createRequestBytes

    func addRoutes(to router: Router<SpoolRequestContext>) {
        let functions = "2015-03-31/functions"
        router.post(RouterPath(stringLiteral: functions)) { request, context in
            try await self.respond(context) { id in try await self.createFunction(request, self.identity(context), id) }
        }
        router.get(RouterPath(stringLiteral: functions)) { request, context in
            try await self.respond(context) { id in try await self.listFunctions(request, self.identity(context), id) }
        }
        router.get(RouterPath(stringLiteral: "\(functions)/:name")) { request, context in
            try await self.respond(context) { id in try await self.getFunction(request, try self.reference(context, request), id) }
        }
        router.delete(RouterPath(stringLiteral: "\(functions)/:name")) { request, context in
            try await self.respond(context) { id in
                try await self.registry.delete(try self.reference(context, request))
                return Self.empty(.noContent, id)
            }
        }
        router.get(RouterPath(stringLiteral: "\(functions)/:name/configuration")) { request, context in
            try await self.respond(context) { id in
                let definition = try await self.registry.function(try self.reference(context, request))
                return Self.json(FunctionConfigurationOutput(definition, identity: self.registry.identity), id)
            }
        }
        router.put(RouterPath(stringLiteral: "\(functions)/:name/configuration")) { request, context in
            try await self.respond(context) { id in try await self.updateConfiguration(request, try self.reference(context, request), id) }
        }
        router.put(RouterPath(stringLiteral: "\(functions)/:name/code")) { request, context in
            try await self.respond(context) { id in try await self.updateCode(request, try self.reference(context, request), id) }
        }
        router.post(RouterPath(stringLiteral: "\(functions)/:name/invocations")) { request, context in
            try await self.respond(context) { id in try await self.invoke(request, try self.reference(context, request), id) }
        }
        router.get("_spool/functions/:name/code.zip") { request, context in
            try await self.respond(context) { id in try await self.codePackage(try self.reference(context, request), id) }
        }
        addConcurrencyRoutes(to: router)
        addTagRoutes(to: router)
        addAsyncRoutes(to: router)
        addMappingRoutes(to: router)
        addVersionRoutes(to: router)
        addURLRoutes(to: router)
        addLayerRoutes(to: router)
        addPolicyRoutes(to: router)
        addStreamingInvokeRoute(to: router)
        router.get("_spool/layers/:arn/content.zip") { _, context in
            try await self.respond(context) { id in
                let raw = context.parameters.get("arn") ?? ""
                let layer = try await self.registry.layerVersion(arn: raw.removingPercentEncoding ?? raw)
                let path = self.registry.layerContentPath(layer)
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw SpoolError(.resourceNotFound, "The content of the layer version is not on this node.")
                }
                return Response(status: .ok, headers: [.contentType: "application/zip", AWSJSON.requestID: id], body: .init(byteBuffer: ByteBuffer(data: data)))
            }
        }
    }

    // MARK: Operations

    func createFunction(_ request: Request, _ identity: AWSIdentity, _ id: String) async throws -> Response {
        let input = try await Self.decode(LambdaWire.ConfigurationInput.self, request, limit: Self.maximumCodeRequestBytes, operation: "CreateFunction")
        guard let name = input.FunctionName else { throw SpoolError.validation(field: "functionName", value: "null", constraint: "Member must not be null") }
        guard input.Role != nil else { throw SpoolError.validation(field: "role", value: "null", constraint: "Member must not be null") }
        let reference = try FunctionReference.parse(name, identity: identity, allowsQualifier: false)
        let settings = try input.settings()
        let zip = try Self.zipFile(input.Code?.ZipFile, s3: input.Code?.S3Bucket ?? input.Code?.S3Key, image: input.Code?.ImageUri)
        var definition = try await registry.create(name: reference.name, settings: settings, zip: zip, tags: input.Tags ?? [:])
        // `Publish`: version 1 is published with the function, and the answer describes it.
        if input.Publish == true {
            definition = try await registry.publishVersion(reference, codeSHA256: nil, description: nil, revisionID: definition.revisionID)
        }
        return Self.json(FunctionConfigurationOutput(definition, identity: registry.identity), id, status: .created)
    }

    func listFunctions(_ request: Request, _ identity: AWSIdentity, _ id: String) async throws -> Response {
        let query = request.uri.queryParameters
        var maxItems = 50
        if let text = query["MaxItems"].map(String.init) {
            guard let value = Int(text), (1...10_000).contains(value) else {
                throw SpoolError.validation(field: "maxItems", value: text, constraint: "Member must have value between 1 and 10000")
            }
            maxItems = value
        }
        if let version = query["FunctionVersion"].map(String.init), version != "ALL" {
            throw SpoolError.validation(field: "functionVersion", value: version, constraint: "Member must satisfy enum value set: [ALL]")
        }
        let page = try await registry.list(in: identity, marker: query["Marker"].map(String.init), maxItems: maxItems)
        return Self.json(ListFunctionsOutput(Functions: page.functions.map { FunctionConfigurationOutput($0, identity: registry.identity) },
                                             NextMarker: page.nextMarker), id)
    }

    func getFunction(_ request: Request, _ reference: FunctionReference, _ id: String) async throws -> Response {
        let definition = try await registry.function(reference)
        let base = request.head.authority.map { "http://\($0)" } ?? defaultBaseURL
        let output = GetFunctionOutput(
            Configuration: FunctionConfigurationOutput(definition, identity: registry.identity),
            Code: definition.executor == .process
                ? .init(Location: "\(base)/_spool/functions/\(codeName(definition.name))/code.zip" + (definition.version.map { "?Qualifier=\($0)" } ?? "")) : nil,
            Tags: definition.tags.isEmpty ? nil : definition.tags,
            Concurrency: definition.reservedConcurrency.map { .init(ReservedConcurrentExecutions: $0) }
        )
        return Self.json(output, id)
    }

    func updateConfiguration(_ request: Request, _ reference: FunctionReference, _ id: String) async throws -> Response {
        let input = try await Self.decode(LambdaWire.ConfigurationInput.self, request, limit: 1_048_576, operation: "UpdateFunctionConfiguration")
        var named = input
        named.FunctionName = reference.name
        let definition = try await registry.updateConfiguration(reference, settings: try named.settings(), revisionID: input.RevisionId)
        return Self.json(FunctionConfigurationOutput(definition, identity: registry.identity), id)
    }

    func updateCode(_ request: Request, _ reference: FunctionReference, _ id: String) async throws -> Response {
        let input = try await Self.decode(LambdaWire.UpdateCodeInput.self, request, limit: Self.maximumCodeRequestBytes, operation: "UpdateFunctionCode")
        if input.PublishTo != nil { throw SpoolError.notSupportedYet("PublishTo (LATEST_PUBLISHED)") }
        try LambdaWire.ConfigurationInput.checkArchitectures(input.Architectures)
        let zip = try Self.zipFile(input.ZipFile, s3: input.S3Bucket ?? input.S3Key, image: input.ImageUri)
        var definition = try await registry.updateCode(reference, zip: zip, revisionID: input.RevisionId, dryRun: input.DryRun ?? false)
        // `Publish`: the new code is published as a version at once, and the answer describes that version.
        if input.Publish == true, input.DryRun != true {
            definition = try await registry.publishVersion(reference, codeSHA256: definition.codeSHA256, description: nil, revisionID: definition.revisionID)
        }
        return Self.json(FunctionConfigurationOutput(definition, identity: registry.identity), id)
    }

    func codePackage(_ reference: FunctionReference, _ id: String) async throws -> Response {
        let definition = try await registry.function(reference)
        guard let directory = definition.codeDirectory, let data = FileManager.default.contents(atPath: directory + ".zip") else {
            throw SpoolError.functionNotFound(registry.identity.functionARN(reference.name))
        }
        return Response(status: .ok, headers: [.contentType: "application/zip", AWSJSON.requestID: id], body: .init(byteBuffer: ByteBuffer(data: data)))
    }

    // MARK: Helpers

    /// The account acting in the region the request was signed for, whose functions its bare names mean.
    func identity(_ context: SpoolRequestContext) -> AWSIdentity {
        registry.identity.acting(in: context.region)
    }

    /// How the code location names a function: its name in the home region, its ARN (percent-encoded) in any other.
    func codeName(_ stored: String) -> String {
        guard registry.identity.region(of: stored) != registry.identity.homeRegion else { return stored }
        return registry.identity.functionARN(stored).replacingOccurrences(of: ":", with: "%3A")
    }

    /// The function named by the `:name` path parameter (percent-decoded) and the `Qualifier` query parameter, in the
    /// region the request acts in unless it is an ARN.
    func reference(_ context: SpoolRequestContext, _ request: Request?) throws -> FunctionReference {
        let raw = context.parameters.get("name") ?? ""
        // Foundation's percent decoding costs more than the rest of the lookup; most names have nothing to decode.
        let name = raw.utf8.contains(UInt8(ascii: "%")) ? raw.removingPercentEncoding ?? raw : raw
        let reference = try FunctionReference.parse(name, identity: identity(context))
        return try reference.resolvingQualifier(request?.uri.queryParameters["Qualifier"].map(String.init))
    }

    /// Runs an operation with the request's id; what it throws is answered by `APIErrorMiddleware`.
    func respond(_ context: SpoolRequestContext, _ body: (String) async throws -> Response) async throws -> Response {
        try await body(context.requestID)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ request: Request, limit: Int, operation: String) async throws -> T {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch {
            throw SpoolError(.requestTooLarge, "Request must be smaller than \(limit) bytes for the \(operation) operation")
        }
        do {
            return try AWSJSON.decode(type, from: body)
        } catch let error as SpoolError where error.code == .missingParameter {
            throw SpoolError(.invalidRequestContent, error.message)
        }
    }

    static func zipFile(_ base64: String?, s3: String?, image: String?) throws -> Data {
        if s3 != nil { throw SpoolError.notSupportedYet("Code from S3") }
        if image != nil { throw SpoolError.notSupportedYet("Container image code") }
        guard let base64 else {
            throw SpoolError(.invalidParameterValue, "Please provide a source for function code.")
        }
        guard let data = Data(base64Encoded: base64) else {
            throw SpoolError(.invalidParameterValue, "Could not unzip uploaded file. Please check your file, then try to upload again.")
        }
        return data
    }

    static func json(_ value: some Encodable, _ id: String, status: HTTPResponse.Status = .ok) -> Response {
        var response = AWSJSON.response(value, contentType: "application/json", requestID: id)
        response.status = status
        return response
    }

    static func empty(_ status: HTTPResponse.Status, _ id: String) -> Response {
        Response(status: status, headers: [AWSJSON.requestID: id])
    }
}
