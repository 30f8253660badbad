import Foundation
import Hummingbird
import NIOFoundationEssentialsCompat
import SpoolEngine
import SpoolModel

/// Versions (PublishVersion, ListVersionsByFunction) and aliases (Create/Get/Update/Delete/ListAliases).
extension LambdaHandler {
    func addVersionRoutes(to router: Router<SpoolRequestContext>) {
        let functions = "2015-03-31/functions/:name"
        router.post(RouterPath(stringLiteral: "\(functions)/versions")) { request, context in
            try await self.respond(context) { id in
                let input = try await Self.decode(PublishVersionInput.self, request, limit: 65_536, operation: "PublishVersion")
                try Self.checkDescription(input.Description)
                if input.PublishTo != nil { throw SpoolError.notSupportedYet("PublishTo (LATEST_PUBLISHED)") }
                let version = try await self.registry.publishVersion(try self.reference(context, nil), codeSHA256: input.CodeSha256,
                                                                     description: input.Description, revisionID: input.RevisionId)
                return Self.json(FunctionConfigurationOutput(version, identity: self.registry.identity), id, status: .created)
            }
        }
        router.get(RouterPath(stringLiteral: "\(functions)/versions")) { request, context in
            try await self.respond(context) { id in
                let page = try await self.registry.versions(try self.reference(context, nil), marker: request.uri.queryParameters["Marker"].map(String.init),
                                                            maxItems: try Self.maxItems(request, default: FunctionRegistry.versionPageLimit))
                return Self.json(ListVersionsOutput(Versions: page.versions.map { FunctionConfigurationOutput($0, identity: self.registry.identity) },
                                                    NextMarker: page.nextMarker), id)
            }
        }
        router.post(RouterPath(stringLiteral: "\(functions)/aliases")) { request, context in
            try await self.respond(context) { id in
                let input = try await Self.decode(AliasInput.self, request, limit: 65_536, operation: "CreateAlias")
                guard let name = input.Name else { throw SpoolError.validation(field: "name", value: "null", constraint: "Member must not be null") }
                guard let version = input.FunctionVersion else {
                    throw SpoolError.validation(field: "functionVersion", value: "null", constraint: "Member must not be null")
                }
                try Self.checkDescription(input.Description)
                let reference = try self.reference(context, nil)
                let alias = try await self.registry.createAlias(reference, name: name, functionVersion: version, description: input.Description,
                                                                weights: input.RoutingConfig?.AdditionalVersionWeights)
                return Self.json(AliasOutput(alias, identity: self.registry.identity), id, status: .created)
            }
        }
        router.get(RouterPath(stringLiteral: "\(functions)/aliases")) { request, context in
            try await self.respond(context) { id in
                let version = request.uri.queryParameters["FunctionVersion"].map(String.init)
                let page = try await self.registry.aliases(try self.reference(context, nil), functionVersion: version,
                                                           marker: request.uri.queryParameters["Marker"].map(String.init),
                                                           maxItems: try Self.maxItems(request, default: FunctionRegistry.versionPageLimit))
                return Self.json(ListAliasesOutput(Aliases: page.aliases.map { AliasOutput($0, identity: self.registry.identity) },
                                                   NextMarker: page.nextMarker), id)
            }
        }
        router.get(RouterPath(stringLiteral: "\(functions)/aliases/:alias")) { _, context in
            try await self.respond(context) { id in
                let alias = try await self.registry.alias(try self.reference(context, nil), name: try Self.aliasName(context))
                return Self.json(AliasOutput(alias, identity: self.registry.identity), id)
            }
        }
        router.put(RouterPath(stringLiteral: "\(functions)/aliases/:alias")) { request, context in
            try await self.respond(context) { id in
                let input = try await Self.decode(AliasInput.self, request, limit: 65_536, operation: "UpdateAlias")
                try Self.checkDescription(input.Description)
                let alias = try await self.registry.updateAlias(try self.reference(context, nil), name: try Self.aliasName(context),
                                                                functionVersion: input.FunctionVersion, description: input.Description,
                                                                weights: input.RoutingConfig?.AdditionalVersionWeights, revisionID: input.RevisionId)
                return Self.json(AliasOutput(alias, identity: self.registry.identity), id)
            }
        }
        router.delete(RouterPath(stringLiteral: "\(functions)/aliases/:alias")) { _, context in
            try await self.respond(context) { id in
                try await self.registry.deleteAlias(try self.reference(context, nil), name: try Self.aliasName(context))
                return Self.empty(.noContent, id)
            }
        }
    }

    static func aliasName(_ context: SpoolRequestContext) throws -> String {
        let raw = context.parameters.get("alias") ?? ""
        return raw.removingPercentEncoding ?? raw
    }

    /// `MaxItems`, 1–10,000 (1–50 for the layer lists), as Lambda's list operations take it.
    static func maxItems(_ request: Request, default value: Int, upTo limit: Int = 10_000) throws -> Int {
        guard let text = request.uri.queryParameters["MaxItems"].map(String.init) else { return value }
        guard let number = Int(text), (1...limit).contains(number) else {
            throw SpoolError.validation(field: "maxItems", value: text, constraint: "Member must have value between 1 and \(limit)")
        }
        return number
    }

    static func checkDescription(_ text: String?) throws {
        if let text, text.count > 256 {
            throw SpoolError.validation(field: "description", value: text, constraint: "Member must have length less than or equal to 256")
        }
    }

    struct PublishVersionInput: Decodable {
        var CodeSha256: String?
        var Description: String?
        var RevisionId: String?
        var PublishTo: String?
    }

    struct AliasInput: Decodable {
        struct Routing: Decodable { var AdditionalVersionWeights: [String: Double]? }
        var Name: String?
        var FunctionVersion: String?
        var Description: String?
        var RoutingConfig: Routing?
        var RevisionId: String?
    }

    /// `AliasConfiguration`.
    struct AliasOutput: Encodable {
        struct Routing: Encodable { var AdditionalVersionWeights: [String: Double] }
        var AliasArn: String
        var Name: String
        var FunctionVersion: String
        var Description: String
        var RoutingConfig: Routing?
        var RevisionId: String

        init(_ alias: FunctionAlias, identity: AWSIdentity) {
            AliasArn = identity.functionARN(alias.functionName) + ":" + alias.name
            Name = alias.name
            FunctionVersion = alias.functionVersion
            Description = alias.description
            RoutingConfig = alias.additionalVersionWeights.isEmpty ? nil : Routing(AdditionalVersionWeights: alias.additionalVersionWeights)
            RevisionId = alias.revisionID
        }
    }

    struct ListAliasesOutput: Encodable {
        var Aliases: [AliasOutput]
        var NextMarker: String?
    }

    struct ListVersionsOutput: Encodable {
        var Versions: [FunctionConfigurationOutput]
        var NextMarker: String?
    }
}
