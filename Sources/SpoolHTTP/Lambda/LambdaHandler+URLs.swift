import Foundation
import Hummingbird
import NIOFoundationEssentialsCompat
import SpoolEngine
import SpoolModel

/// Function URL configurations: Create (201), Get, Update, Delete (204), List.
extension LambdaHandler {
    func addURLRoutes(to router: Router<SpoolRequestContext>) {
        let path = "2021-10-31/functions/:name/url"
        router.post(RouterPath(stringLiteral: path)) { request, context in
            try await self.respond(context) { id in
                let input = try await Self.decode(URLConfigInput.self, request, limit: 262_144, operation: "CreateFunctionUrlConfig")
                let config = try await self.registry.createURL(try self.reference(context, request), authType: input.AuthType,
                                                               cors: input.Cors?.model, invokeMode: input.InvokeMode)
                return Self.json(URLConfigOutput(config, base: self.base(request), registry: self.registry, withModified: false), id, status: .created)
            }
        }
        router.get(RouterPath(stringLiteral: path)) { request, context in
            try await self.respond(context) { id in
                let config = try await self.registry.url(try self.reference(context, request))
                return Self.json(URLConfigOutput(config, base: self.base(request), registry: self.registry), id)
            }
        }
        router.put(RouterPath(stringLiteral: path)) { request, context in
            try await self.respond(context) { id in
                let input = try await Self.decode(URLConfigInput.self, request, limit: 262_144, operation: "UpdateFunctionUrlConfig")
                let config = try await self.registry.updateURL(try self.reference(context, request), authType: input.AuthType,
                                                               cors: input.Cors?.model, invokeMode: input.InvokeMode)
                return Self.json(URLConfigOutput(config, base: self.base(request), registry: self.registry), id)
            }
        }
        router.delete(RouterPath(stringLiteral: path)) { request, context in
            try await self.respond(context) { id in
                try await self.registry.deleteURL(try self.reference(context, request))
                return Self.empty(.noContent, id)
            }
        }
        router.get(RouterPath(stringLiteral: "2021-10-31/functions/:name/urls")) { request, context in
            try await self.respond(context) { id in
                let page = try await self.registry.urls(try self.reference(context, nil), marker: request.uri.queryParameters["Marker"].map(String.init),
                                                        maxItems: try Self.maxItems(request, default: FunctionRegistry.urlPageLimit))
                return Self.json(ListURLConfigsOutput(FunctionUrlConfigs: page.urls.map { URLConfigOutput($0, base: self.base(request), registry: self.registry) },
                                                      NextMarker: page.nextMarker), id)
            }
        }
    }

    /// `http://host:port` as the client reached Spool.
    func base(_ request: Request) -> String {
        request.head.authority.map { "http://\($0)" } ?? defaultBaseURL
    }

    struct URLConfigInput: Decodable {
        var AuthType: String?
        var Cors: CORSShape?
        var InvokeMode: String?
    }

    /// `Cors` as the API spells it.
    struct CORSShape: Codable {
        var AllowCredentials: Bool?
        var AllowHeaders: [String]?
        var AllowMethods: [String]?
        var AllowOrigins: [String]?
        var ExposeHeaders: [String]?
        var MaxAge: Int?

        var model: FunctionURLConfig.CORS {
            .init(allowCredentials: AllowCredentials, allowHeaders: AllowHeaders, allowMethods: AllowMethods, allowOrigins: AllowOrigins,
                  exposeHeaders: ExposeHeaders, maxAge: MaxAge)
        }

        init(_ cors: FunctionURLConfig.CORS) {
            AllowCredentials = cors.allowCredentials
            AllowHeaders = cors.allowHeaders
            AllowMethods = cors.allowMethods
            AllowOrigins = cors.allowOrigins
            ExposeHeaders = cors.exposeHeaders
            MaxAge = cors.maxAge
        }
    }

    struct URLConfigOutput: Encodable {
        var FunctionUrl: String
        var FunctionArn: String
        var AuthType: String
        var Cors: CORSShape?
        var CreationTime: String
        var LastModifiedTime: String?
        var InvokeMode: String

        init(_ config: FunctionURLConfig, base: String, registry: FunctionRegistry, withModified: Bool = true) {
            FunctionUrl = FunctionURLHandler.url(of: config, base: base)
            FunctionArn = registry.urlARN(config.functionName, config.qualifier)
            AuthType = config.authType
            Cors = config.cors.map(CORSShape.init)
            CreationTime = Self.time(config.createdAt)
            LastModifiedTime = withModified ? Self.time(config.modifiedAt) : nil
            InvokeMode = config.invokeMode
        }

        /// `2026-12-07T22:58:01.123456Z`, as Lambda writes these times.
        static func time(_ millis: Millis) -> String {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSS'000Z'"
            return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
        }
    }

    struct ListURLConfigsOutput: Encodable {
        var FunctionUrlConfigs: [URLConfigOutput]
        var NextMarker: String?
    }
}
