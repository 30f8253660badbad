import SpoolModel
import SpoolStorage

/// The promises every `FunctionStore` backend keeps, as checks to run against a fresh store each.
public enum FunctionStoreConformance {
    /// One named check.
    public struct Check: Sendable, CustomStringConvertible {
        public let name: String
        let body: @Sendable (any FunctionStore) async throws -> Void

        public var description: String { name }

        /// Runs the check against `store`, which must hold no functions.
        public func run(on store: any FunctionStore) async throws {
            try await body(store)
        }
    }

    static func definition(_ name: String, revision: String = "r1", reserved: Int? = nil) -> FunctionDefinition {
        FunctionDefinition(name: name, executor: .process, runtime: "python3.12", handler: "app.handler",
                           environment: ["K": "V"], tags: ["t": "1"], codeDirectory: "/code/\(name)", codeSHA256: "sha", codeSize: 42,
                           revisionID: revision, lastModified: 1_000, reservedConcurrency: reserved)
    }

    /// Every check, in a stable order.
    public static let checks: [Check] = [
        Check(name: "a created function reads back exactly") { store in
            let created = try await store.createFunction(definition("alpha"))
            let read = try await store.function(named: "alpha")
            try require(read == created, "read back \(String(describing: read)), stored \(created)")
            try require(try await store.function(named: "beta") == nil, "an unknown name must read as nil")
        },
        Check(name: "creating a taken name is a ResourceConflictException and changes nothing") { store in
            _ = try await store.createFunction(definition("alpha"))
            var other = definition("alpha", revision: "r2")
            other.handler = "other.handler"
            try await requireError(.resourceConflict) { try await store.createFunction(other) }
            try require(try await store.function(named: "alpha")?.handler == "app.handler", "the first definition must survive")
        },
        Check(name: "functions list in name order, page by page") { store in
            for name in ["c", "a", "e", "b", "d"] { _ = try await store.createFunction(definition(name)) }
            let first = try await store.listFunctions(after: nil, limit: 2).map(\.name)
            let second = try await store.listFunctions(after: "b", limit: 2).map(\.name)
            let last = try await store.listFunctions(after: "d", limit: 2).map(\.name)
            try require(first == ["a", "b"] && second == ["c", "d"] && last == ["e"], "pages were \(first) \(second) \(last)")
        },
        Check(name: "an update applies only under the expected revision") { store in
            _ = try await store.createFunction(definition("alpha"))
            var next = definition("alpha", revision: "r2")
            next.timeoutSeconds = 30
            try await requireError(.preconditionFailed) { try await store.updateFunction(next, expectedRevision: "stale") }
            _ = try await store.updateFunction(next, expectedRevision: "r1")
            let read = try await store.function(named: "alpha")
            try require(read?.timeoutSeconds == 30 && read?.revisionID == "r2", "update not applied: \(String(describing: read))")
            try await requireError(.resourceNotFound) { try await store.updateFunction(definition("ghost"), expectedRevision: "r1") }
        },
        Check(name: "put creates or replaces a declared function") { store in
            var declared = definition("hook")
            declared.executor = .webhook
            declared.webhookURL = "http://127.0.0.1:1/x"
            _ = try await store.putFunction(declared)
            declared.webhookURL = "http://127.0.0.1:2/y"
            declared.revisionID = "r2"
            _ = try await store.putFunction(declared)
            try require(try await store.function(named: "hook")?.webhookURL == "http://127.0.0.1:2/y", "put must replace")
        },
        Check(name: "delete returns what was removed, once") { store in
            _ = try await store.createFunction(definition("alpha"))
            try require(try await store.deleteFunction(named: "alpha")?.name == "alpha", "delete must return the function")
            try require(try await store.deleteFunction(named: "alpha") == nil, "a second delete finds nothing")
            try require(try await store.function(named: "alpha") == nil, "a deleted function must not read back")
        },
        Check(name: "reserved concurrency sums over the other functions") { store in
            _ = try await store.createFunction(definition("a", reserved: 10))
            _ = try await store.createFunction(definition("b", reserved: 5))
            _ = try await store.createFunction(definition("c"))
            try require(try await store.reservedConcurrencyTotal(excluding: "a") == 5, "excluding a")
            try require(try await store.reservedConcurrencyTotal(excluding: "c") == 15, "excluding c")
            let usage = try await store.functionUsage()
            try require(usage == FunctionUsage(functionCount: 3, totalCodeSize: 126, totalReservedConcurrency: 15), "usage was \(usage)")
        },
        Check(name: "versions are numbered from 1, fixed, and not published again without a change") { store in
            let created = try await store.createFunction(definition("alpha"))
            let first = try await store.publishVersion(created, expectedRevision: "r1")
            try require(first.version == "1" && first.handler == "app.handler", "first version was \(first)")
            // Nothing changed: the same version comes back, and nothing is stored.
            try require(try await store.publishVersion(created, expectedRevision: "r1").version == "1", "an unchanged function publishes no new version")
            var next = definition("alpha", revision: "r2")
            next.handler = "next.handler"
            _ = try await store.updateFunction(next, expectedRevision: "r1")
            try await requireError(.preconditionFailed) { try await store.publishVersion(next, expectedRevision: "r1") }
            let second = try await store.publishVersion(next, expectedRevision: "r2")
            try require(second.version == "2", "second version was \(String(describing: second.version))")
            try require(try await store.functionVersion("alpha", version: 1)?.handler == "app.handler", "version 1 must keep its handler")
            let listed = try await store.functionVersions("alpha", after: nil, limit: 10).compactMap(\.version)
            try require(listed == ["1", "2"], "versions listed \(listed)")
            try require(try await store.functionVersions("alpha", after: 1, limit: 10).compactMap(\.version) == ["2"], "a page after 1")
            try await requireError(.resourceNotFound) { try await store.publishVersion(definition("ghost"), expectedRevision: "r1") }
        },
        Check(name: "a deleted version's number is not used again; a deleted function's versions go with it") { store in
            let created = try await store.createFunction(definition("alpha"))
            _ = try await store.publishVersion(created, expectedRevision: "r1")
            try require(try await store.deleteFunctionVersion("alpha", version: 1)?.version == "1", "delete returns the version")
            try require(try await store.deleteFunctionVersion("alpha", version: 1) == nil, "a second delete finds nothing")
            try require(try await store.publishVersion(created, expectedRevision: "r1").version == "2", "numbers are never reused")
            _ = try await store.createAlias(FunctionAlias(functionName: "alpha", name: "live", functionVersion: "2", revisionID: "a1"))
            _ = try await store.deleteFunction(named: "alpha")
            try require(try await store.functionVersions("alpha", after: nil, limit: 10).isEmpty, "versions must go with the function")
            try require(try await store.alias("alpha", name: "live") == nil, "aliases must go with the function")
            let again = try await store.createFunction(definition("alpha"))
            try require(try await store.publishVersion(again, expectedRevision: "r1").version == "1", "a new function starts at 1")
        },
        Check(name: "aliases: created once, listed by name, updated under their revision, and keep their versions") { store in
            let created = try await store.createFunction(definition("alpha"))
            _ = try await store.publishVersion(created, expectedRevision: "r1")
            let live = FunctionAlias(functionName: "alpha", name: "live", functionVersion: "1", description: "d", revisionID: "a1")
            try require(try await store.createAlias(live) == live, "create returns the alias")
            try await requireError(.resourceConflict) { try await store.createAlias(live) }
            try await requireError(.resourceNotFound) {
                try await store.createAlias(FunctionAlias(functionName: "ghost", name: "live", functionVersion: "1", revisionID: "a1"))
            }
            _ = try await store.createAlias(FunctionAlias(functionName: "alpha", name: "beta", functionVersion: "$LATEST", revisionID: "b1"))
            try require(try await store.aliases("alpha", after: nil, limit: 10).map(\.name) == ["beta", "live"], "aliases in name order")
            try require(try await store.aliases("alpha", after: "beta", limit: 10).map(\.name) == ["live"], "a page after beta")
            var routed = live
            routed.additionalVersionWeights = ["1": 0.5]
            routed.revisionID = "a2"
            try await requireError(.preconditionFailed) { try await store.updateAlias(routed, expectedRevision: "stale") }
            _ = try await store.updateAlias(routed, expectedRevision: "a1")
            try require(try await store.alias("alpha", name: "live") == routed, "the update must be stored")
            try await requireError(.resourceConflict) { try await store.deleteFunctionVersion("alpha", version: 1) }
            try await requireError(.resourceNotFound) {
                try await store.updateAlias(FunctionAlias(functionName: "alpha", name: "nope", functionVersion: "1", revisionID: "x"), expectedRevision: nil)
            }
            try require(try await store.deleteAlias("alpha", name: "live"), "delete finds the alias")
            try require(try await !store.deleteAlias("alpha", name: "live"), "a second delete finds nothing")
            try require(try await store.deleteFunctionVersion("alpha", version: 1) != nil, "a version no alias uses may be deleted")
        },
        Check(name: "function URLs: one per function and alias, found by id, gone with their function or alias") { store in
            _ = try await store.createFunction(definition("alpha"))
            _ = try await store.createAlias(FunctionAlias(functionName: "alpha", name: "live", functionVersion: "$LATEST", revisionID: "a1"))
            let own = FunctionURLConfig(functionName: "alpha", qualifier: nil, urlID: FunctionURLConfig.newID(), authType: "NONE", cors: nil,
                                        invokeMode: "BUFFERED", createdAt: 1, modifiedAt: 1)
            var live = own
            live.qualifier = "live"
            live.urlID = FunctionURLConfig.newID()
            live.cors = .init(allowOrigins: ["*"], maxAge: 60)
            _ = try await store.createFunctionURL(own)
            _ = try await store.createFunctionURL(live)
            var again = own
            again.urlID = FunctionURLConfig.newID()
            try await requireError(.resourceConflict) { try await store.createFunctionURL(again) }
            var ghost = own
            ghost.functionName = "ghost"
            try await requireError(.resourceNotFound) { try await store.createFunctionURL(ghost) }
            try require(try await store.functionURL(id: live.urlID) == live, "found by id")
            try require(try await store.functionURL("alpha", qualifier: nil) == own, "found by function")
            try require(try await store.functionURLs("alpha").map(\.qualifier) == [nil, "live"], "listed")
            var changed = own
            changed.authType = "AWS_IAM"
            changed.modifiedAt = 2
            _ = try await store.updateFunctionURL(changed)
            try require(try await store.functionURL(id: own.urlID)?.authType == "AWS_IAM", "the update must be stored")
            try await requireError(.resourceNotFound) { try await store.updateFunctionURL(ghost) }
            _ = try await store.deleteAlias("alpha", name: "live")
            try require(try await store.functionURL(id: live.urlID) == nil, "an alias's URL goes with it")
            try require(try await store.deleteFunctionURL("alpha", qualifier: nil), "delete finds the URL")
            try require(try await !store.deleteFunctionURL("alpha", qualifier: nil), "a second delete finds nothing")
            _ = try await store.createFunctionURL(again)
            _ = try await store.deleteFunction(named: "alpha")
            try require(try await store.functionURL(id: again.urlID) == nil, "a function's URL goes with it")
        },
        Check(name: "function policies: per qualifier, under their revision, gone with what they are on") { store in
            _ = try await store.createFunction(definition("alpha"))
            _ = try await store.createAlias(FunctionAlias(functionName: "alpha", name: "live", functionVersion: "$LATEST", revisionID: "a1"))
            let grant = FunctionPolicy(statements: [.init(id: "s1", action: "lambda:InvokeFunction", principal: "*")], revisionID: "p1")
            try await store.putFunctionPolicy("alpha", qualifier: nil, policy: grant, expectedRevision: nil)
            try await store.putFunctionPolicy("alpha", qualifier: "live", policy: grant, expectedRevision: nil)
            try require(try await store.functionPolicy("alpha", qualifier: nil) == grant, "read back")
            var next = grant
            next.revisionID = "p2"
            try await requireError(.preconditionFailed) { try await store.putFunctionPolicy("alpha", qualifier: nil, policy: next, expectedRevision: "stale") }
            try await requireError(.preconditionFailed) { try await store.putFunctionPolicy("alpha", qualifier: nil, policy: next, expectedRevision: nil) }
            try await store.putFunctionPolicy("alpha", qualifier: nil, policy: FunctionPolicy(revisionID: "p3"), expectedRevision: "p1")
            try require(try await store.functionPolicy("alpha", qualifier: nil) == nil, "an empty policy is deleted")
            _ = try await store.deleteAlias("alpha", name: "live")
            try require(try await store.functionPolicy("alpha", qualifier: "live") == nil, "an alias's policy goes with it")
        },
        Check(name: "layer versions: numbered from 1, never reused, newest per layer, policies under their revision") { store in
            guard let layers = store as? any LayerStore else { return try require(false, "the store keeps no layers") }
            func layer(_ name: String) -> LayerVersion {
                LayerVersion(layerName: name, version: 0, description: "d", compatibleRuntimes: ["python3.12"], compatibleArchitectures: [],
                             licenseInfo: nil, codeSHA256: "sha", codeSize: 10, unzippedSize: 20, createdAt: 1, policyRevisionID: "p0")
            }
            try require(try await layers.publishLayerVersion(layer("libs")).version == 1, "first version")
            try require(try await layers.publishLayerVersion(layer("libs")).version == 2, "second version")
            _ = try await layers.publishLayerVersion(layer("alpha"))
            try require(try await layers.deleteLayerVersion("libs", version: 2)?.version == 2, "delete returns the version")
            try require(try await layers.deleteLayerVersion("libs", version: 2) == nil, "a second delete finds nothing")
            try require(try await layers.publishLayerVersion(layer("libs")).version == 3, "numbers are never reused")
            try require(try await layers.layerVersions("libs", before: nil, limit: 10).map(\.version) == [3, 1], "newest first")
            try require(try await layers.layerVersions("libs", before: 3, limit: 10).map(\.version) == [1], "a page below 3")
            let latest = try await layers.latestLayerVersions(after: nil, limit: 10).map { "\($0.layerName):\($0.version)" }
            try require(latest == ["alpha:1", "libs:3"], "newest per layer: \(latest)")
            try require(try await layers.latestLayerVersions(after: "alpha", limit: 10).map(\.layerName) == ["libs"], "a page after alpha")
            let statement = LayerVersion.Statement(id: "s1", action: "lambda:GetLayerVersion", principal: "*", organizationID: nil)
            try await requireError(.preconditionFailed) {
                try await layers.setLayerPolicy("libs", version: 1, statements: [statement], revisionID: "p1", expectedRevision: "stale")
            }
            _ = try await layers.setLayerPolicy("libs", version: 1, statements: [statement], revisionID: "p1", expectedRevision: "p0")
            let read = try await layers.layerVersion("libs", version: 1)
            try require(read?.statements == [statement] && read?.policyRevisionID == "p1", "the policy must be stored")
            try await requireError(.resourceNotFound) {
                try await layers.setLayerPolicy("libs", version: 9, statements: [], revisionID: "x", expectedRevision: nil)
            }
        },
    ]
}
