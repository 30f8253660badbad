import Logging
import SpoolExecutor
import SpoolModel
import SpoolStorage

/// Reserved and provisioned concurrency.
extension FunctionRegistry {
    /// PutFunctionConcurrency: reserves `value` concurrent executions, leaving the account's unreserved minimum.
    package func putReservedConcurrency(_ reference: FunctionReference, value: Int) async throws -> Int {
        let current = try await function(reference)
        guard value >= 0 else {
            throw SpoolError.validation(field: "reservedConcurrentExecutions", value: "\(value)", constraint: "Member must have value greater than or equal to 0")
        }
        let others = try await store.reservedConcurrencyTotal(excluding: current.name)
        guard others + value <= runner.admission.accountLimit - runner.admission.unreservedMinimum else {
            throw SpoolError(.invalidParameterValue, "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [\(runner.admission.unreservedMinimum)].")
        }
        let provisioned = try await provisionedConfigs(current.name).reduce(0) { $0 + $1.requested }
        if provisioned > value {
            throw SpoolError(.invalidParameterValue, "Specified ReservedConcurrentExecutions for function is less than the function's provisioned concurrency of \(provisioned).")
        }
        _ = try await update(reference, revisionID: nil, newRevision: false) { $0.reservedConcurrency = value }
        return value
    }

    /// DeleteFunctionConcurrency.
    package func deleteReservedConcurrency(_ reference: FunctionReference) async throws {
        _ = try await update(reference, revisionID: nil, newRevision: false) { $0.reservedConcurrency = nil }
    }

    /// One provisioned concurrency configuration: what it was set on (a version or an alias), how many, when.
    package struct ProvisionedConfig: Sendable {
        package var qualifier: String
        package var requested: Int
        package var lastModified: Millis
        package var readiness: ProvisionedReadiness
    }

    /// Lambda's refusal of provisioned concurrency on `$LATEST`.
    static let unpublishedRefusal = SpoolError(.invalidParameterValue, "Provisioned Concurrency Configs cannot be applied to unpublished function versions.")

    /// PutProvisionedConcurrencyConfig on a published version or an alias (never `$LATEST`, as on Lambda).
    package func putProvisionedConcurrency(_ reference: FunctionReference, value: Int) async throws -> ProvisionedConfig {
        guard let qualifier = reference.qualifier else {
            throw SpoolError.validation(field: "qualifier", value: "null", constraint: "Member must not be null")
        }
        guard qualifier != "$LATEST" else { throw Self.unpublishedRefusal }
        let latest = try await latest(reference.name)
        guard value >= 1 else {
            throw SpoolError.validation(field: "provisionedConcurrentExecutions", value: "\(value)", constraint: "Member must have value greater than or equal to 1")
        }
        guard latest.executor == .process else {
            throw SpoolError(.invalidParameterValue, "Provisioned concurrency applies to functions run by the process executor; \(AWSIdentity.plainName(latest.name)) runs on the \(latest.executor.rawValue) executor.")
        }
        let others = try await provisionedConfigs(reference.name).filter { $0.qualifier != qualifier }.reduce(0) { $0 + $1.requested }
        if let reserved = latest.reservedConcurrency, others + value > reserved {
            throw SpoolError(.invalidParameterValue, "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function")
        }
        guard others + value <= runner.admission.accountLimit - runner.admission.unreservedMinimum else {
            throw SpoolError(.invalidParameterValue, "Requested Provisioned Concurrency exceeds the account's unreserved concurrency.")
        }
        let now = clock.now()
        if FunctionAlias.isVersionNumber(qualifier) {
            guard let number = Int(qualifier), try await store.setVersionProvisionedConcurrency(reference.name, version: number, value: value, at: now) != nil else {
                throw SpoolError.functionNotFound(identity.functionARN(reference.name) + ":" + qualifier)
            }
        } else {
            guard var alias = try await store.alias(reference.name, name: qualifier) else {
                throw SpoolError.functionNotFound(identity.functionARN(reference.name) + ":" + qualifier)
            }
            alias.provisionedConcurrency = value
            alias.provisionedLastModified = now
            _ = try await store.updateAlias(alias, expectedRevision: nil)
        }
        await reconcileProvisioned(reference.name)
        relayChange(reference.name)
        return try await provisionedConcurrency(reference)
    }

    /// GetProvisionedConcurrencyConfig.
    package func provisionedConcurrency(_ reference: FunctionReference) async throws -> ProvisionedConfig {
        guard let qualifier = reference.qualifier else {
            throw SpoolError.validation(field: "qualifier", value: "null", constraint: "Member must not be null")
        }
        _ = try await function(reference)
        guard let config = try await provisionedConfigs(reference.name).first(where: { $0.qualifier == qualifier }) else {
            throw SpoolError(.provisionedConcurrencyConfigNotFound, "No Provisioned Concurrency Config found for this function")
        }
        return config
    }

    /// DeleteProvisionedConcurrencyConfig.
    package func deleteProvisionedConcurrency(_ reference: FunctionReference) async throws {
        let config = try await provisionedConcurrency(reference)
        if config.qualifier == "$LATEST" {
            // A configuration on `$LATEST` made before versions existed (or declared in the configuration file).
            _ = try await update(FunctionReference(name: reference.name), revisionID: nil, newRevision: false) { definition in
                definition.provisionedConcurrency = nil
                definition.provisionedLastModified = nil
            }
            return
        }
        if FunctionAlias.isVersionNumber(config.qualifier), let number = Int(config.qualifier) {
            _ = try await store.setVersionProvisionedConcurrency(reference.name, version: number, value: nil, at: nil)
        } else if var alias = try await store.alias(reference.name, name: config.qualifier) {
            alias.provisionedConcurrency = nil
            alias.provisionedLastModified = nil
            _ = try await store.updateAlias(alias, expectedRevision: nil)
        }
        await reconcileProvisioned(reference.name)
        relayChange(reference.name)
    }

    /// ListProvisionedConcurrencyConfigs: every configuration of a function, versions by number, then aliases by name.
    package func provisionedConfigs(_ name: String) async throws -> [ProvisionedConfig] {
        let latest = try await latest(name)
        let versions = try await store.functionVersions(name, after: nil, limit: 100_000)
        let aliases = try await store.aliases(name, after: nil, limit: 100_000)
        var configs: [ProvisionedConfig] = []
        if let value = latest.provisionedConcurrency {
            configs.append(ProvisionedConfig(qualifier: "$LATEST", requested: value, lastModified: latest.provisionedLastModified ?? latest.lastModified,
                                             readiness: await runner.provisionedReadiness(of: latest.environmentKey)))
        }
        for version in versions {
            guard let value = version.provisionedConcurrency else { continue }
            var readiness = await runner.provisionedReadiness(of: version.environmentKey)
            readiness.requested = value
            readiness.allocated = min(readiness.allocated, value)
            readiness.available = min(readiness.available, value)
            configs.append(ProvisionedConfig(qualifier: version.versionName, requested: value,
                                             lastModified: version.provisionedLastModified ?? version.lastModified, readiness: readiness))
        }
        for alias in aliases {
            guard let value = alias.provisionedConcurrency else { continue }
            // The alias's part of each version's environments: ready when every version holds at least its share.
            var readiness = ProvisionedReadiness(requested: value)
            for (version, share) in alias.provisionedShares {
                let part = version == "$LATEST" ? await runner.provisionedReadiness(of: name) : await runner.provisionedReadiness(of: "\(name):\(version)")
                readiness.allocated += min(part.allocated, share)
                readiness.available += min(part.available, share)
                readiness.failureReason = readiness.failureReason ?? part.failureReason
            }
            configs.append(ProvisionedConfig(qualifier: alias.name, requested: value, lastModified: alias.provisionedLastModified ?? 0, readiness: readiness))
        }
        return configs
    }

    /// Provisioned concurrency an API function had on `$LATEST` before versions existed, which Lambda refuses: at start
    /// `$LATEST` is published as a version (or its newest version, when nothing changed since) and the setting moves
    /// there, with a warning saying so; unqualified invocations run `$LATEST` without warm environments from then on.
    func migrateLatestProvisioned(_ definition: FunctionDefinition) async {
        guard let value = definition.provisionedConcurrency else { return }
        let reference = FunctionReference(name: definition.name)
        do {
            let version = try await publishVersion(reference, codeSHA256: nil, description: nil, revisionID: nil)
            guard let number = version.version.flatMap(Int.init) else { return }
            _ = try await store.setVersionProvisionedConcurrency(definition.name, version: number, value: value, at: clock.now())
            _ = try await update(reference, revisionID: nil, newRevision: false) { latest in
                latest.provisionedConcurrency = nil
                latest.provisionedLastModified = nil
            }
            logger.warning("provisioned concurrency moved from $LATEST (which Lambda refuses) to a published version; invoke the version or an alias to it", metadata: [
                "function": "\(definition.name)", "version": "\(number)", "provisioned": "\(value)",
            ])
        } catch {
            logger.error("cannot move provisioned concurrency from $LATEST to a version; it stays on $LATEST", metadata: [
                "function": "\(definition.name)", "error": "\(error)",
            ])
            await runner.functionChanged(name: definition.name, to: definition)
        }
    }

    /// Tells the runner how many environments each published version keeps initialized: its own setting plus the
    /// shares of the aliases pointing or routing to it. Run after every change of a setting, an alias or a version,
    /// and at start.
    package func reconcileProvisioned(_ name: String) async {
        guard let versions = try? await store.functionVersions(name, after: nil, limit: 100_000),
              let aliases = try? await store.aliases(name, after: nil, limit: 100_000) else { return }
        var counts: [String: Int] = [:]
        for version in versions { if let value = version.provisionedConcurrency { counts[version.versionName, default: 0] += value } }
        for alias in aliases { for (version, share) in alias.provisionedShares { counts[version, default: 0] += share } }
        // Only versions whose count changed are read into place (their code fetched in a cluster); the others, most
        // of them at start-up and on every change notice, cost nothing.
        for version in versions where runner.provisionedCount(of: version.environmentKey) != counts[version.versionName] {
            var definition = await materialized(located(version))
            definition.provisionedConcurrency = counts[version.versionName]
            await runner.versionProvisioned(definition)
        }
    }

    /// GetAccountSettings: the account's limits and what the functions use of them.
    package func accountSettings() async throws -> (limit: Int, unreserved: Int, usage: FunctionUsage) {
        let usage = try await store.functionUsage()
        return (runner.admission.accountLimit, runner.admission.accountLimit - usage.totalReservedConcurrency, usage)
    }
}
