import Foundation
import Logging
import SpoolModel
import SpoolStorage
import Synchronization

/// Published versions (PublishVersion, ListVersionsByFunction, DeleteFunction with a version) and aliases
/// (Create/Get/Update/Delete/ListAliases), and how a qualifier resolves to the definition that runs.
extension FunctionRegistry {
    /// The page size of ListVersionsByFunction and ListAliases when `MaxItems` is not given.
    package static let versionPageLimit = 50

    // MARK: Resolving

    /// The definition an invocation of `reference` runs: through an alias with a routing configuration, the
    /// additional version with its weight's probability, else the alias's version, as Lambda routes.
    package func invocationTarget(_ reference: FunctionReference) async throws -> FunctionDefinition {
        guard let qualifier = reference.qualifier, qualifier != "$LATEST" else { return try await latest(reference.name) }
        return try await qualified(reference.name, qualifier: qualifier, routed: true)
    }

    /// A version by number, or an alias's version (`routed`: picked by the alias's weights).
    func qualified(_ name: String, qualifier: String, routed: Bool) async throws -> FunctionDefinition {
        guard FunctionAlias.isVersionNumber(qualifier) else {
            guard let alias = try await store.alias(name, name: qualifier) else {
                throw SpoolError.functionNotFound(identity.functionARN(name) + ":" + qualifier)
            }
            let version = routed ? alias.pickVersion() : alias.functionVersion
            return version == "$LATEST" ? try await latest(name) : try await published(name, version: version)
        }
        return try await published(name, version: qualifier)
    }

    /// A published version, with the function's current reserved concurrency (a function-wide setting, which the
    /// snapshot does not fix).
    func published(_ name: String, version: String) async throws -> FunctionDefinition {
        let key = "\(name):\(version)"
        var definition: FunctionDefinition
        if let cached = versionCache.withLock({ $0[key] }) {
            definition = cached
        } else {
            guard let number = Int(version), let stored = try await store.functionVersion(name, version: number) else {
                throw SpoolError.functionNotFound(identity.functionARN(name) + ":" + version)
            }
            definition = await materialized(located(stored))
            versionCache.withLock { $0[key] = definition }
        }
        definition.reservedConcurrency = try await latest(name).reservedConcurrency
        return definition
    }

    // MARK: Versions

    /// PublishVersion: a snapshot of `$LATEST` as the next version, unless nothing changed since the newest one
    /// (that one is returned). `codeSHA256` and `revisionID`, when given, must match `$LATEST`'s.
    package func publishVersion(_ reference: FunctionReference, codeSHA256: String?, description: String?, revisionID: String?) async throws -> FunctionDefinition {
        if let qualifier = reference.qualifier, qualifier != "$LATEST" {
            throw SpoolError(.invalidParameterValue, "Unsupported function name qualifier in \(qualifier): versions are published from $LATEST.")
        }
        let current = try await latest(reference.name)
        if let codeSHA256, codeSHA256 != current.codeSHA256 {
            throw SpoolError(.invalidParameterValue, "CodeSHA256 (\(codeSHA256)) is different from current CodeSHA256 in $LATEST (\(current.codeSHA256)). Please try again.")
        }
        if let revisionID, revisionID != current.revisionID { throw FunctionStoreRules.revisionMismatch }
        var snapshot = current
        snapshot.revisionID = Self.newRevision()
        snapshot.lastModified = clock.now()
        snapshot.provisionedConcurrency = nil
        snapshot.provisionedLastModified = nil
        if let description { snapshot.description = description }
        let version = try await store.publishVersion(snapshot, expectedRevision: current.revisionID)
        logger.info("function version published", metadata: ["function": "\(reference.name)", "version": "\(version.versionName)"])
        return located(version)
    }

    /// ListVersionsByFunction: `$LATEST` first, then the published versions in order; the marker is the last version
    /// number listed.
    package func versions(_ reference: FunctionReference, marker: String?, maxItems: Int) async throws -> (versions: [FunctionDefinition], nextMarker: String?) {
        let current = try await latest(reference.name)
        var listed: [FunctionDefinition] = []
        var after: Int?
        if let marker {
            guard let number = Int(marker), number >= 0 else { throw SpoolError(.invalidParameterValue, "Invalid marker: \(marker)") }
            after = number
        } else {
            listed.append(current)
        }
        let page = try await store.functionVersions(reference.name, after: after, limit: maxItems - listed.count + 1)
        listed += page.map(located)
        guard listed.count > maxItems else { return (listed, nil) }
        listed.removeLast()
        return (listed, listed.last?.version ?? "0")
    }

    /// DeleteFunction with a version number: that version only; its environments end and its code goes unless
    /// another version or `$LATEST` still runs it.
    func deleteVersion(_ name: String, version: String) async throws {
        guard let number = Int(version), let removed = try await store.deleteFunctionVersion(name, version: number) else {
            throw SpoolError.functionNotFound(identity.functionARN(name) + ":" + version)
        }
        versionCache.withLock { _ = $0.removeValue(forKey: removed.environmentKey) }
        await runner.versionRemoved(key: removed.environmentKey)
        await removeCodeIfUnused(removed)
        relayChange(name)
        logger.info("function version deleted", metadata: ["function": "\(name)", "version": "\(version)"])
    }

    /// Another node changed the function: versions this node cached that are gone from the store (deleted there, or
    /// with the function) are dropped and their environments end.
    func dropDeletedVersions(of name: String) async {
        let cached = versionCache.withLock { cache in cache.values.filter { $0.name == name } }
        for version in cached {
            guard let number = version.version.flatMap(Int.init),
                  (try? await store.functionVersion(name, version: number)) == .some(nil) else { continue }
            versionCache.withLock { _ = $0.removeValue(forKey: version.environmentKey) }
            await runner.versionRemoved(key: version.environmentKey)
        }
    }

    /// Removes a code folder (and, in a cluster, the shared package) once neither `$LATEST` nor any version uses it.
    func removeCodeIfUnused(_ definition: FunctionDefinition) async {
        guard definition.source == .api, let directory = definition.codeDirectory else { return }
        let latest = (try? await store.function(named: definition.name)).flatMap { $0 }
        guard !Self.sameFolder(latest?.codeDirectory, directory), await !versionsUse(definition.name, directory: directory) else { return }
        CodePackage.remove(located(definition).codeDirectory ?? directory)
        if !definition.codeSHA256.isEmpty { try? await codeStore?.dropCodeIfUnused(sha256: definition.codeSHA256) }
    }

    /// Whether a version still runs the code in `directory` (so an update of `$LATEST` keeps it).
    func versionsUse(_ name: String, directory: String) async -> Bool {
        let versions = (try? await store.functionVersions(name, after: nil, limit: 100_000)) ?? []
        return versions.contains { Self.sameFolder($0.codeDirectory, directory) }
    }

    /// Whether two code directories are the same revision's folder (stored paths may name another data directory).
    static func sameFolder(_ stored: String?, _ directory: String) -> Bool {
        stored.map { ($0 as NSString).lastPathComponent } == (directory as NSString).lastPathComponent
    }

    // MARK: Aliases

    /// CreateAlias.
    package func createAlias(_ reference: FunctionReference, name: String, functionVersion: String, description: String?,
                             weights: [String: Double]?) async throws -> FunctionAlias {
        try Self.checkAliasName(name)
        try await checkAliasTarget(reference.name, version: functionVersion, weights: weights ?? [:])
        let alias = FunctionAlias(functionName: reference.name, name: name, functionVersion: functionVersion, description: description ?? "",
                                  additionalVersionWeights: weights ?? [:], revisionID: Self.newRevision())
        do {
            let created = try await store.createAlias(alias)
            await reconcileProvisioned(reference.name)
            return created
        } catch let error as SpoolError where error.code == .resourceConflict {
            throw SpoolError(.resourceConflict, "Alias already exists: \(identity.functionARN(reference.name)):\(name)")
        }
    }

    /// GetAlias.
    package func alias(_ reference: FunctionReference, name: String) async throws -> FunctionAlias {
        _ = try await latest(reference.name)
        guard let alias = try await store.alias(reference.name, name: name) else {
            throw SpoolError(.resourceNotFound, "Cannot find alias arn: \(identity.functionARN(reference.name)):\(name)")
        }
        return alias
    }

    /// UpdateAlias: the members given change, the others stay.
    package func updateAlias(_ reference: FunctionReference, name: String, functionVersion: String?, description: String?,
                             weights: [String: Double]?, revisionID: String?) async throws -> FunctionAlias {
        var alias = try await self.alias(reference, name: name)
        if let revisionID, revisionID != alias.revisionID { throw FunctionStoreRules.revisionMismatch }
        let expected = alias.revisionID
        if let functionVersion { alias.functionVersion = functionVersion }
        if let description { alias.description = description }
        if let weights { alias.additionalVersionWeights = weights }
        try await checkAliasTarget(reference.name, version: alias.functionVersion, weights: alias.additionalVersionWeights)
        alias.revisionID = Self.newRevision()
        let updated = try await store.updateAlias(alias, expectedRevision: expected)
        // An alias with provisioned concurrency moves its environments with its versions and weights.
        if updated.provisionedConcurrency != nil {
            await reconcileProvisioned(reference.name)
            relayChange(reference.name)
        }
        return updated
    }

    /// DeleteAlias: succeeds whether or not the alias exists, as Lambda's does.
    package func deleteAlias(_ reference: FunctionReference, name: String) async throws {
        try Self.checkAliasName(name)
        _ = try await store.deleteAlias(reference.name, name: name)
        await reconcileProvisioned(reference.name)
    }

    /// ListAliases, optionally only those pointing or routing to `functionVersion`.
    package func aliases(_ reference: FunctionReference, functionVersion: String?, marker: String?, maxItems: Int) async throws
        -> (aliases: [FunctionAlias], nextMarker: String?)
    {
        _ = try await latest(reference.name)
        let page = try await FilteredPage.read(limit: maxItems, after: marker, fetch: { after, count in
            try await store.aliases(reference.name, after: after, limit: count)
        }, key: \.name) { alias in
            functionVersion.map { alias.functionVersion == $0 || alias.additionalVersionWeights.keys.contains($0) } ?? true
        }
        return (page.items, page.hasMore ? page.items.last?.name : nil)
    }

    static func checkAliasName(_ name: String) throws {
        guard FunctionAlias.isValidName(name) else {
            throw SpoolError.validation(field: "name", value: name, constraint: "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)")
        }
    }

    /// An alias points to `$LATEST` or a published version, and routes only to a published version.
    func checkAliasTarget(_ name: String, version: String, weights: [String: Double]) async throws {
        guard version == "$LATEST" || FunctionAlias.isVersionNumber(version) else {
            throw SpoolError.validation(field: "functionVersion", value: version, constraint: "Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)")
        }
        try FunctionAlias.checkRouting(weights, functionVersion: version)
        _ = try await latest(name)
        for target in [version] + weights.keys where target != "$LATEST" {
            guard let number = Int(target), try await store.functionVersion(name, version: number) != nil else {
                throw SpoolError(.resourceNotFound, "Function not found: \(identity.functionARN(name)):\(target)")
            }
        }
    }
}
