import Foundation
import Hummingbird
import NIOFoundationEssentialsCompat
import SpoolEngine
import SpoolModel

/// Layers: PublishLayerVersion (201), Get/Delete/ListLayerVersion(s), GetLayerVersionByArn, ListLayers, and the layer
/// version policy (Add/Get/RemoveLayerVersionPermission).
extension LambdaHandler {
    func addLayerRoutes(to router: Router<SpoolRequestContext>) {
        let layers = "2018-10-31/layers"
        let versions = "\(layers)/:layer/versions"
        router.post(RouterPath(stringLiteral: versions)) { request, context in
            try await self.respond(context) { id in
                let input = try await Self.decode(PublishLayerInput.self, request, limit: Self.maximumCodeRequestBytes, operation: "PublishLayerVersion")
                try Self.checkDescription(input.Description)
                if let license = input.LicenseInfo, license.count > 512 {
                    throw SpoolError.validation(field: "licenseInfo", value: license, constraint: "Member must have length less than or equal to 512")
                }
                guard let content = input.Content else { throw SpoolError.validation(field: "content", value: "null", constraint: "Member must not be null") }
                let zip = try Self.zipFile(content.ZipFile, s3: content.S3Bucket ?? content.S3Key, image: nil)
                let layer = try await self.registry.publishLayer(name: try self.layerName(context), description: input.Description, zip: zip,
                                                                 runtimes: input.CompatibleRuntimes, architectures: input.CompatibleArchitectures,
                                                                 license: input.LicenseInfo)
                return Self.json(LayerVersionOutput(layer, base: self.base(request), registry: self.registry), id, status: .created)
            }
        }
        router.get(RouterPath(stringLiteral: versions)) { request, context in
            try await self.respond(context) { id in
                let query = request.uri.queryParameters
                let page = try await self.registry.layerVersions(try self.layerName(context), runtime: query["CompatibleRuntime"].map(String.init),
                                                                 architecture: query["CompatibleArchitecture"].map(String.init),
                                                                 marker: query["Marker"].map(String.init), maxItems: try Self.layerMaxItems(request))
                return Self.json(ListLayerVersionsOutput(LayerVersions: page.versions.map { LayerVersionItem($0, registry: self.registry) },
                                                         NextMarker: page.nextMarker), id)
            }
        }
        router.get(RouterPath(stringLiteral: "\(versions)/:version")) { request, context in
            try await self.respond(context) { id in
                let layer = try await self.registry.layerVersion(try self.layerName(context), version: try Self.layerVersionNumber(context))
                return Self.json(LayerVersionOutput(layer, base: self.base(request), registry: self.registry), id)
            }
        }
        router.delete(RouterPath(stringLiteral: "\(versions)/:version")) { _, context in
            try await self.respond(context) { id in
                try await self.registry.deleteLayerVersion(try self.layerName(context), version: try Self.layerVersionNumber(context))
                return Self.empty(.noContent, id)
            }
        }
        router.get(RouterPath(stringLiteral: layers)) { request, context in
            try await self.respond(context) { id in
                let query = request.uri.queryParameters
                if query["find"] == "LayerVersion" {
                    guard let arn = query["Arn"].map(String.init) else {
                        throw SpoolError.validation(field: "arn", value: "null", constraint: "Member must not be null")
                    }
                    let layer = try await self.registry.layerVersion(arn: arn)
                    return Self.json(LayerVersionOutput(layer, base: self.base(request), registry: self.registry), id)
                }
                let page = try await self.registry.layers(in: self.identity(context), runtime: query["CompatibleRuntime"].map(String.init),
                                                          architecture: query["CompatibleArchitecture"].map(String.init),
                                                          marker: query["Marker"].map(String.init), maxItems: try Self.layerMaxItems(request))
                return Self.json(ListLayersOutput(Layers: page.layers.map {
                    LayersListItem(LayerName: AWSIdentity.plainName($0.layerName), LayerArn: self.registry.identity.layerARN($0.layerName),
                                   LatestMatchingVersion: LayerVersionItem($0, registry: self.registry))
                }, NextMarker: page.nextMarker), id)
            }
        }
        let policy = "\(versions)/:version/policy"
        router.post(RouterPath(stringLiteral: policy)) { request, context in
            try await self.respond(context) { id in
                let input = try await Self.decode(LayerPermissionInput.self, request, limit: 65_536, operation: "AddLayerVersionPermission")
                let statement = LayerVersion.Statement(id: input.StatementId ?? "", action: input.Action ?? "", principal: input.Principal ?? "",
                                                       organizationID: input.OrganizationId)
                let added = try await self.registry.addLayerPermission(try self.layerName(context), version: try Self.layerVersionNumber(context),
                                                                       statement: statement,
                                                                       revisionID: request.uri.queryParameters["RevisionId"].map(String.init))
                return Self.json(LayerPermissionOutput(Statement: added.statement, RevisionId: added.revisionID), id, status: .created)
            }
        }
        router.get(RouterPath(stringLiteral: policy)) { _, context in
            try await self.respond(context) { id in
                let found = try await self.registry.layerPolicy(try self.layerName(context), version: try Self.layerVersionNumber(context))
                return Self.json(LayerPolicyOutput(Policy: found.policy, RevisionId: found.revisionID), id)
            }
        }
        router.delete(RouterPath(stringLiteral: "\(policy)/:statement")) { request, context in
            try await self.respond(context) { id in
                try await self.registry.removeLayerPermission(try self.layerName(context), version: try Self.layerVersionNumber(context),
                                                              statementID: context.parameters.get("statement") ?? "",
                                                              revisionID: request.uri.queryParameters["RevisionId"].map(String.init))
                return Self.empty(.noContent, id)
            }
        }
    }

    /// The stored name of the layer the path names, by name (in the request's region) or by ARN.
    func layerName(_ context: SpoolRequestContext) throws -> String {
        let raw = context.parameters.get("layer") ?? ""
        let text = raw.removingPercentEncoding ?? raw
        if text.hasPrefix("arn:") {
            guard let (name, _) = registry.identity.layer(fromARN: text) else {
                throw SpoolError.validation(field: "layerName", value: text,
                                            constraint: "Member must satisfy regular expression pattern: (arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+")
            }
            return name
        }
        guard LayerVersion.isValidName(text) else {
            throw SpoolError.validation(field: "layerName", value: text,
                                        constraint: "Member must satisfy regular expression pattern: (arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+")
        }
        return identity(context).stored(text)
    }

    static func layerVersionNumber(_ context: SpoolRequestContext) throws -> Int {
        let text = context.parameters.get("version") ?? ""
        guard let number = Int(text), number > 0 else {
            throw SpoolError(.invalidParameterValue, "Invalid layer version number: \(text)")
        }
        return number
    }

    /// `MaxItems` of the layer lists: 1–50.
    static func layerMaxItems(_ request: Request) throws -> Int {
        try maxItems(request, default: 50, upTo: 50)
    }

    struct PublishLayerInput: Decodable {
        struct Content: Decodable {
            var ZipFile: String?
            var S3Bucket: String?
            var S3Key: String?
            var S3ObjectVersion: String?
        }
        var Description: String?
        var Content: Content?
        var CompatibleRuntimes: [String]?
        var LicenseInfo: String?
        var CompatibleArchitectures: [String]?
    }

    struct LayerPermissionInput: Decodable {
        var StatementId: String?
        var Action: String?
        var Principal: String?
        var OrganizationId: String?
    }

    struct LayerVersionOutput: Encodable {
        struct LayerContent: Encodable {
            var Location: String
            var CodeSha256: String
            var CodeSize: Int64
        }
        var Content: LayerContent
        var LayerArn: String
        var LayerVersionArn: String
        var Description: String
        var CreatedDate: String
        var Version: Int
        var CompatibleRuntimes: [String]?
        var LicenseInfo: String?
        var CompatibleArchitectures: [String]?

        init(_ layer: LayerVersion, base: String, registry: FunctionRegistry) {
            let arn = registry.identity.layerARN(layer.layerName)
            Content = LayerContent(Location: "\(base)/_spool/layers/\(arn.replacingOccurrences(of: ":", with: "%3A"))%3A\(layer.version)/content.zip",
                            CodeSha256: layer.codeSHA256, CodeSize: layer.codeSize)
            LayerArn = arn
            LayerVersionArn = "\(arn):\(layer.version)"
            Description = layer.description
            CreatedDate = FunctionConfigurationOutput.timestamp(layer.createdAt)
            Version = layer.version
            CompatibleRuntimes = layer.compatibleRuntimes.isEmpty ? nil : layer.compatibleRuntimes
            LicenseInfo = layer.licenseInfo
            CompatibleArchitectures = layer.compatibleArchitectures.isEmpty ? nil : layer.compatibleArchitectures
        }
    }

    struct LayerVersionItem: Encodable {
        var LayerVersionArn: String
        var Version: Int
        var Description: String
        var CreatedDate: String
        var CompatibleRuntimes: [String]?
        var LicenseInfo: String?
        var CompatibleArchitectures: [String]?

        init(_ layer: LayerVersion, registry: FunctionRegistry) {
            LayerVersionArn = "\(registry.identity.layerARN(layer.layerName)):\(layer.version)"
            Version = layer.version
            Description = layer.description
            CreatedDate = FunctionConfigurationOutput.timestamp(layer.createdAt)
            CompatibleRuntimes = layer.compatibleRuntimes.isEmpty ? nil : layer.compatibleRuntimes
            LicenseInfo = layer.licenseInfo
            CompatibleArchitectures = layer.compatibleArchitectures.isEmpty ? nil : layer.compatibleArchitectures
        }
    }

    struct LayersListItem: Encodable {
        var LayerName: String
        var LayerArn: String
        var LatestMatchingVersion: LayerVersionItem
    }

    struct ListLayersOutput: Encodable {
        var Layers: [LayersListItem]
        var NextMarker: String?
    }

    struct ListLayerVersionsOutput: Encodable {
        var LayerVersions: [LayerVersionItem]
        var NextMarker: String?
    }

    struct LayerPermissionOutput: Encodable {
        var Statement: String
        var RevisionId: String
    }

    struct LayerPolicyOutput: Encodable {
        var Policy: String
        var RevisionId: String
    }
}
