import Foundation
import Logging
import SpoolExecutor
import SpoolModel
import SpoolStorage
import SpoolSignals
import Synchronization

/// The function registry: creates, reads, updates and deletes functions, keeps their code in the data
/// directory, and tells the function runner (admission and the executor) about every change.
///
/// Definitions are cached in memory after the first read; every write goes through here, so the cache
/// is never stale within one server.
package final class FunctionRegistry: Sendable {
    package let identity: AWSIdentity
    let store: any FunctionStore
    /// Runs the functions; told of every change to their settings.
    package let runner: FunctionRunner
    /// `DATA_DIR/functions`: one folder per function, one sub-folder per code revision.
    let codeRoot: String
    /// The packages every node shares (a cluster); `nil` alone, where the data directory is the only copy.
    let codeStore: (any FunctionCodeStore)?
    /// Where changes to functions also go: the other nodes of a cluster, which drop what they cached.
    let relay = Relay<String>()
    let clock: any SpoolClock
    let logger: Logger
    /// The Node.js installations `nodejsNN.x` runtimes are checked against when a function is created or changed.
    let node: NodeInstallations
    /// Whether this node's environments run in the sandbox, which is what enforces `EphemeralStorage`.
    let sandboxed: Bool
    private let cache = Mutex<[String: FunctionDefinition]>([:])
    /// Published versions read so far, by environment key (`NAME:VERSION`): a version never changes, so only a
    /// deletion drops one.
    let versionCache = Mutex<[String: FunctionDefinition]>([:])
    private let deletionObservers = Mutex<[@Sendable (String) -> Void]>([])

    package init(store: any FunctionStore, runner: FunctionRunner, codeRoot: String, codeStore: (any FunctionCodeStore)? = nil,
                identity: AWSIdentity, node: NodeInstallations = NodeInstallations(), sandboxed: Bool = false,
                clock: any SpoolClock = WallClock(), logger: Logger = Logger(label: "spool.functions")) {
        self.store = store
        self.node = node
        self.sandboxed = sandboxed
        self.codeStore = codeStore
        self.runner = runner
        self.codeRoot = codeRoot
        self.identity = identity
        self.clock = clock
        self.logger = logger
    }

    /// Loads every stored function's concurrency settings into admission and the executor, and deletes
    /// functions an earlier start declared (configuration file, embedding program) that are not in
    /// `declared` any more. Run at start-up; returns the names deleted.
    @discardableResult
    package func start(keeping declared: Set<String> = []) async throws -> [String] {
        var marker: String?
        var stale: [String] = []
        while true {
            let page = try await store.listFunctions(after: marker, limit: 500)
            for stored in page {
                let definition = await materialized(located(stored))
                if definition.source != .api, !declared.contains(definition.name) {
                    stale.append(definition.name)
                    continue
                }
                remember(definition)
                if definition.provisionedConcurrency != nil {
                    if definition.source == .api {
                        await migrateLatestProvisioned(definition)
                    } else {
                        await runner.functionChanged(name: definition.name, to: definition)
                    }
                }
                await reconcileProvisioned(definition.name)
            }
            guard let last = page.last, page.count == 500 else { break }
            marker = last.name
        }
        for name in stale { _ = try await store.deleteFunction(named: name) }
        return stale
    }

    // MARK: Reading

    /// The definition a reference names: `$LATEST` without a qualifier, a published version, or the version an alias
    /// points to; `ResourceNotFoundException` if there is none.
    package func function(_ reference: FunctionReference) async throws -> FunctionDefinition {
        if let qualifier = reference.qualifier, qualifier != "$LATEST" {
            return try await qualified(reference.name, qualifier: qualifier, routed: false)
        }
        return try await latest(reference.name)
    }

    /// The function's `$LATEST` definition.
    func latest(_ name: String) async throws -> FunctionDefinition {
        let reference = FunctionReference(name: name)
        if let cached = cache.withLock({ $0[reference.name] }) { return cached }
        guard let stored = try await store.function(named: reference.name) else {
            throw SpoolError.functionNotFound(identity.functionARN(reference.name))
        }
        let definition = await materialized(located(stored))
        remember(definition)
        return definition
    }

    /// A page of the functions of the region `identity` acts in (of every region when `nil`), ordered by stored name,
    /// and the marker of the next page.
    package func list(in identity: AWSIdentity?, marker: String?, maxItems: Int) async throws -> (functions: [FunctionDefinition], nextMarker: String?) {
        let page = try await RegionPage.read(limit: maxItems, after: marker, identity: identity, fetch: { after, count in
            try await store.listFunctions(after: after, limit: count)
        }, name: \.name)
        let functions = page.items.map(located)
        return (functions, page.hasMore ? functions.last?.name : nil)
    }

    // MARK: Writing

    /// CreateFunction: validates the settings, unpacks the code, stores the function.
    package func create(name: String, settings: FunctionSettings, zip: Data, tags: [String: String]) async throws -> FunctionDefinition {
        guard FunctionReference.isValidName(AWSIdentity.plainName(name)) else { throw FunctionReference.invalid(AWSIdentity.plainName(name)) }
        guard settings.runtime != nil, settings.handler != nil else {
            throw SpoolError(.invalidParameterValue, "Runtime and Handler are mandatory parameters for functions created with deployment packages.")
        }
        var definition = FunctionDefinition(name: name, executor: .process, revisionID: Self.newRevision(), lastModified: clock.now())
        try settings.apply(to: &definition, identity: identity)
        try checkRuntime(settings.runtime)
        try checkStorage(settings.ephemeralStorageMB)
        definition.tags = tags
        if try await store.function(named: name) != nil {
            throw SpoolError(.resourceConflict, "Function already exist: \(name)")
        }
        let code = try CodePackage.unpack(zip: zip, under: folder(of: name), operation: "CreateFunction")
        definition.codeDirectory = code.directory
        definition.codeSHA256 = code.sha256
        definition.codeSize = code.size
        do {
            if let arns = settings.layerARNs {
                let layers = try await resolveLayers(arns, codeDirectory: code.directory)
                definition.layers = layers.isEmpty ? nil : layers
            }
            // Shared before the function exists, so no node ever finds a function whose code it cannot fetch.
            try await codeStore?.putCode(sha256: code.sha256, zip: zip)
            let stored = await locatedLayers(try await store.createFunction(definition))
            remember(stored)
            relayChange(name)
            logger.info("function created", metadata: ["function": "\(name)", "runtime": "\(definition.runtime ?? "")"])
            return stored
        } catch {
            CodePackage.remove(code.directory)
            try? await codeStore?.dropCodeIfUnused(sha256: code.sha256)
            throw error
        }
    }

    /// Refuses a Node.js runtime this Spool has no Node.js for (another major version, none installed).
    func checkRuntime(_ runtime: String?) throws(SpoolError) {
        guard let runtime, FunctionRuntime.nodeMajor(of: runtime) != nil else { return }
        _ = try node.executable(for: runtime)
    }

    /// Refuses an `EphemeralStorage` other than the default where no sandbox would enforce it.
    func checkStorage(_ size: Int?) throws(SpoolError) {
        guard let size, size != FunctionLimits.ephemeralStorageMB.lowerBound, !sandboxed else { return }
        throw SpoolError.notSupportedYet("EphemeralStorage other than 512 MB without the sandbox (this node runs functions with functions.isolation none)")
    }

    /// UpdateFunctionConfiguration.
    package func updateConfiguration(_ reference: FunctionReference, settings: FunctionSettings, revisionID: String?) async throws -> FunctionDefinition {
        var layers: [FunctionLayer]?
        if let arns = settings.layerARNs {
            layers = try await resolveLayers(arns, codeDirectory: try await latest(reference.name).codeDirectory)
        }
        try checkRuntime(settings.runtime)
        try checkStorage(settings.ephemeralStorageMB)
        return try await update(reference, revisionID: revisionID) { definition in
            try settings.apply(to: &definition, identity: self.identity)
            if let layers { definition.layers = layers.isEmpty ? nil : layers }
        }
    }

    /// UpdateFunctionCode; with `dryRun` the package is checked and nothing changes.
    package func updateCode(_ reference: FunctionReference, zip: Data, revisionID: String?, dryRun: Bool) async throws -> FunctionDefinition {
        if let qualifier = reference.qualifier, qualifier != "$LATEST" {
            throw SpoolError(.invalidParameterValue, "Unsupported qualifier \(qualifier): only $LATEST can be changed.")
        }
        let current = try await latest(reference.name)
        guard current.executor == .process else {
            throw SpoolError(.invalidParameterValue, "Function \(current.name) runs on the \(current.executor.rawValue) executor and has no code to update.")
        }
        let code = try CodePackage.unpack(zip: zip, under: folder(of: current.name), operation: "UpdateFunctionCode")
        do {
            try Self.checkUnzippedTotal(code.unzippedSize + (current.layers ?? []).reduce(0) { $0 + ($1.unzippedSize ?? 0) })
        } catch {
            CodePackage.remove(code.directory)
            throw error
        }
        if dryRun {
            CodePackage.remove(code.directory)
            var preview = current
            preview.codeSHA256 = code.sha256
            preview.codeSize = code.size
            return preview
        }
        let old = current.codeDirectory
        do {
            try await codeStore?.putCode(sha256: code.sha256, zip: zip)
            let updated = try await update(reference, revisionID: revisionID) { definition in
                definition.codeDirectory = code.directory
                definition.codeSHA256 = code.sha256
                definition.codeSize = code.size
            }
            if let old, old != code.directory, await !versionsUse(current.name, directory: old) { CodePackage.remove(old) }
            if current.codeSHA256 != code.sha256 { try? await codeStore?.dropCodeIfUnused(sha256: current.codeSHA256) }
            return updated
        } catch {
            CodePackage.remove(code.directory)
            try? await codeStore?.dropCodeIfUnused(sha256: code.sha256)
            throw error
        }
    }

    /// DeleteFunction: stops its environments, forgets it, removes its code; with a version number, that version only.
    package func delete(_ reference: FunctionReference) async throws {
        if let qualifier = reference.qualifier, qualifier != "$LATEST" {
            guard FunctionAlias.isVersionNumber(qualifier) else {
                throw SpoolError(.invalidParameterValue, "Deletion of aliases is not supported.")
            }
            return try await deleteVersion(reference.name, version: qualifier)
        }
        let versions = (try? await store.functionVersions(reference.name, after: nil, limit: 100_000)) ?? []
        guard let removed = try await store.deleteFunction(named: reference.name) else {
            throw SpoolError.functionNotFound(identity.functionARN(reference.name))
        }
        cache.withLock { _ = $0.removeValue(forKey: removed.name) }
        forgetVersions(of: removed.name)
        for version in versions { await runner.versionRemoved(key: version.environmentKey) }
        for sha in Set(versions.map(\.codeSHA256)).subtracting([removed.codeSHA256]) where !sha.isEmpty {
            try? await codeStore?.dropCodeIfUnused(sha256: sha)
        }
        for observer in deletionObservers.withLock({ $0 }) { observer(removed.name) }
        await runner.functionChanged(name: removed.name, to: nil)
        if removed.source == .api { try? FileManager.default.removeItem(atPath: folder(of: removed.name)) }
        if !removed.codeSHA256.isEmpty { try? await codeStore?.dropCodeIfUnused(sha256: removed.codeSHA256) }
        relayChange(removed.name)
        logger.info("function deleted", metadata: ["function": "\(removed.name)"])
    }

    /// Calls `observer` with the name of every function deleted from now on (to drop what is cached about it).
    package func onDelete(_ observer: @escaping @Sendable (String) -> Void) {
        deletionObservers.withLock { $0.append(observer) }
    }

    /// Creates or replaces a function declared in the configuration file or by the embedding program.
    package func declare(_ definition: FunctionDefinition) async throws {
        var definition = definition
        let existing = try await store.function(named: definition.name)
        definition.reservedConcurrency = definition.reservedConcurrency ?? existing?.reservedConcurrency
        let stored = try await store.putFunction(definition)
        remember(stored)
        await runner.functionChanged(name: stored.name, to: stored)
        relayChange(stored.name)
    }

    /// Applies `change` to the current definition under its revision and tells the executor.
    ///
    /// A change to code or configuration (`newRevision`) gets a new revision and `LastModified`, and
    /// environments of the old revision are retired. Concurrency settings and tags describe the function
    /// without changing what runs, so they keep the revision and its warm environments.
    func update(_ reference: FunctionReference, revisionID: String?, newRevision: Bool = true,
                _ change: (inout FunctionDefinition) throws -> Void) async throws -> FunctionDefinition {
        // Only `$LATEST` changes: a version is fixed, an alias is changed through UpdateAlias.
        if let qualifier = reference.qualifier, qualifier != "$LATEST" {
            throw SpoolError(.invalidParameterValue, "Unsupported qualifier \(qualifier): only $LATEST can be changed.")
        }
        var current = try await latest(reference.name)
        if let revisionID, revisionID != current.revisionID, let fresh = try await store.function(named: current.name) {
            current = located(fresh)  // the cache may be behind the store
        }
        var stored: FunctionDefinition?
        // What this node cached may be older than the stored row (another node of a cluster changed the function): a
        // change asked for without a RevisionId is applied to the stored row instead, read again.
        for attempt in 0..<3 where stored == nil {
            if let revisionID, revisionID != current.revisionID {
                throw SpoolError(.preconditionFailed, "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
            }
            var next = current
            try change(&next)
            if newRevision {
                next.revisionID = Self.newRevision()
                next.lastModified = clock.now()
            }
            do {
                stored = try await store.updateFunction(next, expectedRevision: current.revisionID)
            } catch let error as SpoolError where error.code == .preconditionFailed && attempt < 2 {
                guard let fresh = try await store.function(named: current.name) else { throw SpoolError.functionNotFound(identity.functionARN(current.name)) }
                current = located(fresh)
            }
        }
        guard let written = stored else { throw FunctionStoreRules.revisionMismatch }
        let changed = await locatedLayers(written)
        remember(changed)
        await runner.functionChanged(name: changed.name, to: changed)
        relayChange(changed.name)
        return changed
    }

    // MARK: Clusters

    package func relay(to send: @escaping @Sendable (String) -> Void) {
        relay.connect(send)
    }

    func relayChange(_ name: String) {
        relay(name)
    }

    /// Another node changed or deleted the function: what this node cached is read again from the store, and
    /// environments of an older revision retire as after a change made here.
    package func changedElsewhere(_ name: String) async {
        let stored: FunctionDefinition?
        do {
            stored = try await store.function(named: name)
        } catch {
            // Dropped from the cache all the same: the next use reads the store.
            cache.withLock { _ = $0.removeValue(forKey: name) }
            logger.warning("cannot read a function another node changed", metadata: ["function": "\(name)", "error": "\(error)"])
            return
        }
        await dropDeletedVersions(of: name)
        guard let stored else {
            guard cache.withLock({ $0.removeValue(forKey: name) }) != nil else { return }
            for observer in deletionObservers.withLock({ $0 }) { observer(name) }
            await runner.functionChanged(name: name, to: nil)
            try? FileManager.default.removeItem(atPath: folder(of: name))
            return
        }
        // Versions' and aliases' provisioned environments follow what the other node changed.
        await reconcileProvisioned(name)
        let cached = cache.withLock { $0[name] }
        guard cached?.revisionID != stored.revisionID || cached?.reservedConcurrency != stored.reservedConcurrency
            || cached?.provisionedConcurrency != stored.provisionedConcurrency || cached?.tags != stored.tags else { return }
        let definition = await materialized(located(stored))
        remember(definition)
        await runner.functionChanged(name: name, to: definition)
    }

    /// The definition with its code unpacked in this node's data directory, fetched from the shared store when this
    /// node has not unpacked it yet. Without a shared store, or when the package cannot be had, as it is (an
    /// invocation then reports the missing code).
    func materialized(_ definition: FunctionDefinition) async -> FunctionDefinition {
        await locatedLayers(materializedCode(definition))
    }

    /// The function's own code, unpacked from the shared store when this node lacks it.
    private func materializedCode(_ definition: FunctionDefinition) async -> FunctionDefinition {
        guard let codeStore, definition.source == .api, let directory = definition.codeDirectory, !definition.codeSHA256.isEmpty,
              !FileManager.default.fileExists(atPath: directory) else { return definition }
        do {
            guard let zip = try await codeStore.code(sha256: definition.codeSHA256) else {
                logger.error("the function's code is not in the shared store", metadata: ["function": "\(definition.name)"])
                return definition
            }
            try CodePackage.restore(zip: zip, into: directory)
            logger.info("function code unpacked from the shared store", metadata: ["function": "\(definition.name)", "codeSha256": "\(definition.codeSHA256)"])
        } catch {
            logger.error("cannot unpack the function's code", metadata: ["function": "\(definition.name)", "error": "\(error)"])
        }
        return definition
    }

    /// Drops the cached versions of a deleted function.
    func forgetVersions(of name: String) {
        versionCache.withLock { cache in
            for key in cache.keys where cache[key]?.name == name { cache.removeValue(forKey: key) }
        }
    }

    func remember(_ definition: FunctionDefinition) {
        cache.withLock { $0[definition.name] = definition }
        runner.remember(definition)
    }

    /// An API function's code as it lies under this server's code root: the stored path names the data directory
    /// the function was created in, which a restored backup or a server started from another folder does not share;
    /// the revision's folder name is what identifies the code.
    func located(_ definition: FunctionDefinition) -> FunctionDefinition {
        guard definition.source == .api, let stored = definition.codeDirectory else { return definition }
        var moved = definition
        moved.codeDirectory = (folder(of: definition.name) as NSString).appendingPathComponent((stored as NSString).lastPathComponent)
        return moved
    }

    func folder(of name: String) -> String {
        (codeRoot as NSString).appendingPathComponent(name)
    }

    static func newRevision() -> String {
        UUID().uuidString.lowercased()
    }
}
