import Foundation
import SpoolModel
import SpoolStorage

/// Function URL configurations (Create/Get/Update/Delete/ListFunctionUrlConfig(s)), validated as Lambda validates them.
extension FunctionRegistry {
    /// The page size of ListFunctionUrlConfigs when `MaxItems` is not given.
    package static let urlPageLimit = 50

    /// CreateFunctionUrlConfig.
    package func createURL(_ reference: FunctionReference, authType: String?, cors: FunctionURLConfig.CORS?, invokeMode: String?) async throws
        -> FunctionURLConfig
    {
        guard let authType else { throw SpoolError.validation(field: "authType", value: "null", constraint: "Member must not be null") }
        let qualifier = try await urlQualifier(reference)
        try Self.checkURLSettings(authType: authType, cors: cors, invokeMode: invokeMode)
        let now = clock.now()
        let config = FunctionURLConfig(functionName: reference.name, qualifier: qualifier, urlID: FunctionURLConfig.newID(), authType: authType,
                                       cors: cors, invokeMode: invokeMode ?? "BUFFERED", createdAt: now, modifiedAt: now)
        do {
            return try await store.createFunctionURL(config)
        } catch let error as SpoolError where error.code == .resourceConflict {
            throw SpoolError(.resourceConflict, "Failed to create function url config for [functionArn = \(urlARN(reference.name, qualifier))]. "
                + "Error message:  FunctionUrlConfig exists for this Lambda function")
        }
    }

    /// GetFunctionUrlConfig.
    package func url(_ reference: FunctionReference) async throws -> FunctionURLConfig {
        let qualifier = try await urlQualifier(reference)
        guard let config = try await store.functionURL(reference.name, qualifier: qualifier) else { throw FunctionStoreRules.functionURLNotFound }
        return config
    }

    /// UpdateFunctionUrlConfig: the members given change, the others stay.
    package func updateURL(_ reference: FunctionReference, authType: String?, cors: FunctionURLConfig.CORS?, invokeMode: String?) async throws
        -> FunctionURLConfig
    {
        var config = try await url(reference)
        if let authType { config.authType = authType }
        if let cors { config.cors = cors }
        if let invokeMode { config.invokeMode = invokeMode }
        try Self.checkURLSettings(authType: config.authType, cors: config.cors, invokeMode: config.invokeMode)
        config.modifiedAt = clock.now()
        return try await store.updateFunctionURL(config)
    }

    /// DeleteFunctionUrlConfig.
    package func deleteURL(_ reference: FunctionReference) async throws {
        let qualifier = try await urlQualifier(reference)
        guard try await store.deleteFunctionURL(reference.name, qualifier: qualifier) else { throw FunctionStoreRules.functionURLNotFound }
    }

    /// ListFunctionUrlConfigs: the function's own URL, then its aliases'; the marker is the last one listed.
    package func urls(_ reference: FunctionReference, marker: String?, maxItems: Int) async throws -> (urls: [FunctionURLConfig], nextMarker: String?) {
        _ = try await latest(reference.name)
        var all = try await store.functionURLs(reference.name)
        if let marker, let index = all.firstIndex(where: { $0.urlID == marker }) { all = Array(all[(index + 1)...]) }
        guard all.count > maxItems else { return (all, nil) }
        let page = Array(all.prefix(maxItems))
        return (page, page.last?.urlID)
    }

    /// The URL a request names by its id, or `nil`.
    package func url(id: String) async throws -> FunctionURLConfig? {
        guard FunctionURLConfig.isURLID(id) else { return nil }
        return try await store.functionURL(id: id)
    }

    /// The ARN a URL's function is reported by: qualified with its alias.
    package func urlARN(_ name: String, _ qualifier: String?) -> String {
        identity.functionARN(name) + (qualifier.map { ":" + $0 } ?? "")
    }

    /// A URL belongs to the function itself or to one of its aliases (never to a version or `$LATEST` by name), which
    /// must exist.
    func urlQualifier(_ reference: FunctionReference) async throws -> String? {
        _ = try await latest(reference.name)
        guard let qualifier = reference.qualifier else { return nil }
        guard FunctionAlias.isValidName(qualifier) else {
            throw SpoolError.validation(field: "qualifier", value: qualifier, constraint: "Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)")
        }
        guard try await store.alias(reference.name, name: qualifier) != nil else {
            throw SpoolError.functionNotFound(identity.functionARN(reference.name) + ":" + qualifier)
        }
        return qualifier
    }

    static func checkURLSettings(authType: String, cors: FunctionURLConfig.CORS?, invokeMode: String?) throws {
        guard authType == "NONE" || authType == "AWS_IAM" else {
            throw SpoolError.validation(field: "authType", value: authType, constraint: "Member must satisfy enum value set: [NONE, AWS_IAM]")
        }
        if let invokeMode {
            guard invokeMode == "BUFFERED" || invokeMode == "RESPONSE_STREAM" else {
                throw SpoolError.validation(field: "invokeMode", value: invokeMode, constraint: "Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]")
            }
        }
        try cors?.validate()
    }
}
