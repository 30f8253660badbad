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
        if let provisioned = current.provisionedConcurrency, provisioned > value {
            throw SpoolError(.invalidParameterValue, "Specified ReservedConcurrentExecutions for function is less than the function's provisioned concurrency of \(provisioned).")
        }
        _ = try await update(reference, revisionID: nil, newRevision: false) { $0.reservedConcurrency = value }
        return value
    }

    /// DeleteFunctionConcurrency.
    package func deleteReservedConcurrency(_ reference: FunctionReference) async throws {
        _ = try await update(reference, revisionID: nil, newRevision: false) { $0.reservedConcurrency = nil }
    }

    /// PutProvisionedConcurrencyConfig for `$LATEST` (Spool has no published versions yet).
    package func putProvisionedConcurrency(_ reference: FunctionReference, value: Int) async throws -> (FunctionDefinition, ProvisionedReadiness) {
        let current = try await function(reference)
        guard value >= 1 else {
            throw SpoolError.validation(field: "provisionedConcurrentExecutions", value: "\(value)", constraint: "Member must have value greater than or equal to 1")
        }
        guard current.executor == .process else {
            throw SpoolError(.invalidParameterValue, "Provisioned concurrency applies to functions run by the process executor; \(current.name) runs on the \(current.executor.rawValue) executor.")
        }
        if let reserved = current.reservedConcurrency, value > reserved {
            throw SpoolError(.invalidParameterValue, "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function")
        }
        guard value <= runner.admission.accountLimit - runner.admission.unreservedMinimum else {
            throw SpoolError(.invalidParameterValue, "Requested Provisioned Concurrency exceeds the account's unreserved concurrency.")
        }
        let updated = try await update(reference, revisionID: nil, newRevision: false) { definition in
            definition.provisionedConcurrency = value
            definition.provisionedLastModified = self.clock.now()
        }
        return (updated, await runner.provisionedReadiness(of: updated.name))
    }

    /// GetProvisionedConcurrencyConfig.
    package func provisionedConcurrency(_ reference: FunctionReference) async throws -> (FunctionDefinition, ProvisionedReadiness) {
        let current = try await function(reference)
        guard current.provisionedConcurrency != nil else {
            throw SpoolError(.provisionedConcurrencyConfigNotFound, "No Provisioned Concurrency Config found for this function")
        }
        return (current, await runner.provisionedReadiness(of: current.name))
    }

    /// DeleteProvisionedConcurrencyConfig.
    package func deleteProvisionedConcurrency(_ reference: FunctionReference) async throws {
        let current = try await function(reference)
        guard current.provisionedConcurrency != nil else {
            throw SpoolError(.provisionedConcurrencyConfigNotFound, "No Provisioned Concurrency Config found for this function")
        }
        _ = try await update(reference, revisionID: nil, newRevision: false) { definition in
            definition.provisionedConcurrency = nil
            definition.provisionedLastModified = nil
        }
    }

    /// GetAccountSettings: the account's limits and what the functions use of them.
    package func accountSettings() async throws -> (limit: Int, unreserved: Int, usage: FunctionUsage) {
        let usage = try await store.functionUsage()
        return (runner.admission.accountLimit, runner.admission.accountLimit - usage.totalReservedConcurrency, usage)
    }
}
