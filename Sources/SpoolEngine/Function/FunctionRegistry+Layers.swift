import Foundation
import Logging
import SpoolModel
import SpoolStorage

/// Layers (PublishLayerVersion, Get/List/DeleteLayerVersion(s), ListLayers, the layer version policy) and the layers a
/// function runs with. A version's content is unpacked once per node under `DATA/layers/NAME/VERSION`, and shared
/// through the store's packages in a cluster as functions' code is.
extension FunctionRegistry {
    /// The most layers one function may use.
    package static let maximumLayers = 5

    /// `DATA/layers`, beside the functions' code.
    var layerRoot: String {
        ((codeRoot as NSString).deletingLastPathComponent as NSString).appendingPathComponent("layers")
    }

    /// The zip a layer version was published with, for `Content.Location`.
    package func layerContentPath(_ layer: LayerVersion) -> String {
        layerDirectory(layer.layerName, version: layer.version) + ".zip"
    }

    func layerDirectory(_ name: String, version: Int) -> String {
        ((layerRoot as NSString).appendingPathComponent(name) as NSString).appendingPathComponent(String(version))
    }

    /// PublishLayerVersion: unpacks and keeps the zip, then numbers the version.
    package func publishLayer(name: String, description: String?, zip: Data, runtimes: [String]?, architectures: [String]?,
                              license: String?) async throws -> LayerVersion {
        guard LayerVersion.isValidName(AWSIdentity.plainName(name)) else {
            throw SpoolError.validation(field: "layerName", value: AWSIdentity.plainName(name),
                                        constraint: "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+")
        }
        // A layer may name any runtime Lambda knows (a layer for Node.js may be published before Spool runs Node.js).
        for runtime in runtimes ?? [] where !FunctionRuntime.known.contains(runtime) {
            throw SpoolError.validation(field: "compatibleRuntimes", value: runtime,
                                        constraint: "Member must satisfy enum value set: [\(FunctionRuntime.known.joined(separator: ", "))]")
        }
        guard (runtimes ?? []).count <= 15 else {
            throw SpoolError.validation(field: "compatibleRuntimes", value: "\(runtimes!.count) entries", constraint: "Member must have length less than or equal to 15")
        }
        for architecture in architectures ?? [] where architecture != "x86_64" && architecture != "arm64" {
            throw SpoolError.validation(field: "compatibleArchitectures", value: architecture, constraint: "Member must satisfy enum value set: [x86_64, arm64]")
        }
        let staging = (layerRoot as NSString).appendingPathComponent(".staging")
        let code = try CodePackage.unpack(zip: zip, under: staging, operation: "PublishLayerVersion")
        do {
            try await codeStore?.putCode(sha256: code.sha256, zip: zip)
            let layer = try await store.publishLayerVersion(LayerVersion(
                layerName: name, version: 0, description: description ?? "", compatibleRuntimes: runtimes ?? [],
                compatibleArchitectures: architectures ?? [], licenseInfo: license, codeSHA256: code.sha256, codeSize: code.size,
                unzippedSize: code.unzippedSize, createdAt: clock.now(), policyRevisionID: Self.newRevision()))
            let target = layerDirectory(name, version: layer.version)
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            CodePackage.remove(target)
            try FileManager.default.moveItem(atPath: code.directory, toPath: target)
            try FileManager.default.moveItem(atPath: code.directory + ".zip", toPath: target + ".zip")
            logger.info("layer version published", metadata: ["layer": "\(name)", "version": "\(layer.version)"])
            return layer
        } catch {
            CodePackage.remove(code.directory)
            throw error
        }
    }

    /// GetLayerVersion.
    package func layerVersion(_ name: String, version: Int) async throws -> LayerVersion {
        guard let layer = try await store.layerVersion(name, version: version) else { throw FunctionStoreRules.layerVersionNotFound(name, version) }
        return layer
    }

    /// The layer version an ARN names (GetLayerVersionByArn, a function's `Layers`).
    package func layerVersion(arn: String) async throws -> LayerVersion {
        guard let (name, version) = identity.layer(fromARN: arn), let version else {
            throw SpoolError.validation(field: "arn", value: arn,
                                        constraint: "Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+")
        }
        return try await layerVersion(name, version: version)
    }

    /// ListLayerVersions: newest first, those compatible with `runtime`/`architecture` when given.
    package func layerVersions(_ name: String, runtime: String?, architecture: String?, marker: String?, maxItems: Int) async throws
        -> (versions: [LayerVersion], nextMarker: String?)
    {
        if let marker, Int(marker) == nil { throw SpoolError(.invalidParameterValue, "Invalid marker: \(marker)") }
        // Newest first: a page continues below the version number it ended on.
        let page = try await FilteredPage.read(limit: maxItems, after: marker, fetch: { before, count in
            try await store.layerVersions(name, before: before.flatMap { Int($0) }, limit: count)
        }, key: { String($0.version) }) { Self.matches($0, runtime: runtime, architecture: architecture) }
        return (page.items, page.hasMore ? page.items.last.map { String($0.version) } : nil)
    }

    /// ListLayers: each layer of the region `acting` acts in, with its newest version matching the filters.
    package func layers(in acting: AWSIdentity, runtime: String?, architecture: String?, marker: String?, maxItems: Int) async throws
        -> (layers: [LayerVersion], nextMarker: String?)
    {
        var found: [LayerVersion] = []
        var after = marker
        while found.count <= maxItems {
            let page = try await store.latestLayerVersions(after: after, limit: 100)
            for newest in page where acting.isInRegion(newest.layerName) {
                if Self.matches(newest, runtime: runtime, architecture: architecture) {
                    found.append(newest)
                } else if let older = try await layerVersions(newest.layerName, runtime: runtime, architecture: architecture, marker: nil, maxItems: 1)
                    .versions.first {
                    found.append(older)
                }
            }
            guard page.count == 100, let last = page.last else { break }
            after = last.layerName
        }
        guard found.count > maxItems else { return (found, nil) }
        let shown = Array(found.prefix(maxItems))
        return (shown, shown.last?.layerName)
    }

    /// DeleteLayerVersion: the version can no longer be added to functions; functions that use it keep running it (its
    /// files stay), as on Lambda. Succeeds whether or not it existed.
    package func deleteLayerVersion(_ name: String, version: Int) async throws {
        if try await store.deleteLayerVersion(name, version: version) != nil {
            logger.info("layer version deleted", metadata: ["layer": "\(name)", "version": "\(version)"])
        }
    }

    /// AddLayerVersionPermission: a statement granting `lambda:GetLayerVersion` to an account, everyone, or an organization.
    package func addLayerPermission(_ name: String, version: Int, statement: LayerVersion.Statement, revisionID: String?) async throws
        -> (statement: String, revisionID: String)
    {
        guard statement.id.utf8.count <= 100, !statement.id.isEmpty, statement.id.utf8.allSatisfy({ FunctionReference.isWordByte($0) }) else {
            throw SpoolError.validation(field: "statementId", value: statement.id, constraint: "Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)")
        }
        guard statement.action == "lambda:GetLayerVersion" else {
            throw SpoolError.validation(field: "action", value: statement.action, constraint: "Member must satisfy regular expression pattern: lambda:GetLayerVersion")
        }
        guard Self.isLayerPrincipal(statement.principal) else {
            throw SpoolError.validation(field: "principal", value: statement.principal,
                                        constraint: "Member must satisfy regular expression pattern: \\d{12}|\\*|arn:(aws[a-zA-Z-]*):iam::\\d{12}:root")
        }
        let current = try await layerVersion(name, version: version)
        if current.statements.contains(where: { $0.id == statement.id }) {
            throw SpoolError(.resourceConflict, "The statement id (\(statement.id)) provided already exists. Please provide a new statement id, or remove the existing statement.")
        }
        let updated = try await store.setLayerPolicy(name, version: version, statements: current.statements + [statement],
                                                     revisionID: Self.newRevision(), expectedRevision: revisionID ?? current.policyRevisionID)
        return (Self.policyStatement(statement, arn: identity.layerARN(name) + ":\(version)"), updated.policyRevisionID)
    }

    /// RemoveLayerVersionPermission.
    package func removeLayerPermission(_ name: String, version: Int, statementID: String, revisionID: String?) async throws {
        let current = try await layerVersion(name, version: version)
        guard current.statements.contains(where: { $0.id == statementID }) else {
            throw SpoolError(.resourceNotFound, "Statement \(statementID) is not found in resource policy.")
        }
        _ = try await store.setLayerPolicy(name, version: version, statements: current.statements.filter { $0.id != statementID },
                                           revisionID: Self.newRevision(), expectedRevision: revisionID ?? current.policyRevisionID)
    }

    /// GetLayerVersionPolicy: the policy document and its revision.
    package func layerPolicy(_ name: String, version: Int) async throws -> (policy: String, revisionID: String) {
        let layer = try await layerVersion(name, version: version)
        guard !layer.statements.isEmpty else { throw SpoolError(.resourceNotFound, "No policy is associated with the given resource.") }
        let arn = identity.layerARN(name) + ":\(version)"
        let statements = layer.statements.map { Self.policyStatement($0, arn: arn) }.joined(separator: ",")
        return ("{\"Version\":\"2012-10-17\",\"Id\":\"default\",\"Statement\":[\(statements)]}", layer.policyRevisionID)
    }

    /// One statement as the policy document holds it.
    static func policyStatement(_ statement: LayerVersion.Statement, arn: String) -> String {
        var object: [String: Any] = ["Sid": statement.id, "Effect": "Allow", "Principal": statement.principal == "*" ? "*" : ["AWS": statement.principal],
                                     "Action": statement.action, "Resource": arn]
        if let organization = statement.organizationID { object["Condition"] = ["StringEquals": ["aws:PrincipalOrgID": organization]] }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func isLayerPrincipal(_ text: String) -> Bool {
        if text == "*" { return true }
        if text.count == 12, text.allSatisfy(\.isASCIIDigit) { return true }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count == 6 && parts[0] == "arn" && parts[1].hasPrefix("aws") && parts[2] == "iam" && parts[3].isEmpty
            && parts[4].count == 12 && parts[4].allSatisfy(\.isASCIIDigit) && parts[5] == "root"
    }

    static func matches(_ layer: LayerVersion, runtime: String?, architecture: String?) -> Bool {
        (runtime.map { layer.compatibleRuntimes.contains($0) } ?? true) && (architecture.map { layer.compatibleArchitectures.contains($0) } ?? true)
    }

    // MARK: A function's layers

    /// The layers a function's `Layers` names, in order: at most 5 versions of this account that exist, and, with the
    /// function's own unzipped code, at most 250 MB unzipped.
    package func resolveLayers(_ arns: [String], codeDirectory: String?) async throws -> [FunctionLayer] {
        guard arns.count <= Self.maximumLayers else {
            throw SpoolError(.invalidParameterValue, "Cannot reference more than \(Self.maximumLayers) layers.")
        }
        var layers: [FunctionLayer] = []
        var unzipped = codeDirectory.map(CodePackage.unzippedSize(of:)) ?? 0
        for arn in arns {
            guard let (name, version) = identity.layer(fromARN: arn), let version else {
                throw SpoolError(.invalidParameterValue, "Layer version \(arn) does not exist.")
            }
            guard let layer = try await store.layerVersion(name, version: version) else {
                throw SpoolError(.invalidParameterValue, "Layer version \(arn) does not exist.")
            }
            if layers.contains(where: { $0.layerName == name }) {
                throw SpoolError(.invalidParameterValue, "Two different versions of the same layer \(identity.layerARN(name)) cannot be specified.")
            }
            unzipped += layer.unzippedSize
            layers.append(FunctionLayer(layerName: name, version: version, codeSize: layer.codeSize, codeSHA256: layer.codeSHA256,
                                        unzippedSize: layer.unzippedSize))
        }
        try Self.checkUnzippedTotal(unzipped)
        return layers
    }

    /// The function's unzipped code and its layers together stay within Lambda's 250 MB.
    static func checkUnzippedTotal(_ unzipped: Int64) throws {
        guard unzipped <= Int64(FunctionLimits.unzippedPackageBytes) else {
            throw SpoolError(.invalidParameterValue, "Function code combined with layers exceeds the maximum allowed size of \(FunctionLimits.unzippedPackageBytes) bytes. The actual size is \(unzipped) bytes.")
        }
    }

    /// Where a definition's layers lie on this node, unpacked from the shared store when this node lacks them.
    func locatedLayers(_ definition: FunctionDefinition) async -> FunctionDefinition {
        guard let layers = definition.layers, !layers.isEmpty else { return definition }
        var located = definition
        located.layers = []
        for var layer in layers {
            let directory = layerDirectory(layer.layerName, version: layer.version)
            if !FileManager.default.fileExists(atPath: directory), let codeStore {
                do {
                    if let zip = try await codeStore.code(sha256: layer.codeSHA256) { try CodePackage.restore(zip: zip, into: directory) }
                } catch {
                    logger.error("cannot unpack a layer from the shared store", metadata: ["layer": "\(layer.layerName)", "error": "\(error)"])
                }
            }
            layer.directory = directory
            located.layers?.append(layer)
        }
        return located
    }
}
