import Hummingbird
import SpoolEngine
import SpoolExecutor
import SpoolModel
import SpoolStorage

/// Reserved concurrency (`/concurrency`) and provisioned concurrency (`/provisioned-concurrency`).
extension LambdaHandler {
    struct AccountSettingsOutput: Encodable {
        struct Limit: Encodable {
            var TotalCodeSize: Int64 = 80_530_636_800
            var CodeSizeUnzipped = FunctionLimits.unzippedPackageBytes
            var CodeSizeZipped = FunctionLimits.zippedPackageBytes
            var ConcurrentExecutions: Int
            var UnreservedConcurrentExecutions: Int
        }
        struct Usage: Encodable { var TotalCodeSize: Int64; var FunctionCount: Int }
        var AccountLimit: Limit
        var AccountUsage: Usage
    }

    func addConcurrencyRoutes(to router: Router<SpoolRequestContext>) {
        router.get("2016-08-19/account-settings") { _, context in
            try await self.respond(context) { id in
                let (limit, unreserved, usage) = try await self.registry.accountSettings()
                return Self.json(AccountSettingsOutput(
                    AccountLimit: .init(ConcurrentExecutions: limit, UnreservedConcurrentExecutions: unreserved),
                    AccountUsage: .init(TotalCodeSize: usage.totalCodeSize, FunctionCount: usage.functionCount)
                ), id)
            }
        }
        router.put("2017-10-31/functions/:name/concurrency") { request, context in
            try await self.respond(context) { id in
                let input = try await Self.decode(LambdaWire.ReservedConcurrencyInput.self, request, limit: 65_536, operation: "PutFunctionConcurrency")
                let value = try await self.registry.putReservedConcurrency(try self.reference(context, nil), value: input.ReservedConcurrentExecutions)
                return Self.json(LambdaWire.ReservedConcurrencyOutput(ReservedConcurrentExecutions: value), id)
            }
        }
        router.get("2019-09-30/functions/:name/concurrency") { _, context in
            try await self.respond(context) { id in
                let definition = try await self.registry.function(try self.reference(context, nil))
                return Self.json(LambdaWire.ReservedConcurrencyOutput(ReservedConcurrentExecutions: definition.reservedConcurrency), id)
            }
        }
        router.delete("2017-10-31/functions/:name/concurrency") { _, context in
            try await self.respond(context) { id in
                try await self.registry.deleteReservedConcurrency(try self.reference(context, nil))
                return Self.empty(.noContent, id)
            }
        }
        router.put("2019-09-30/functions/:name/provisioned-concurrency") { request, context in
            try await self.respond(context) { id in
                let reference = try self.provisionedReference(context, request)
                let input = try await Self.decode(LambdaWire.ProvisionedInput.self, request, limit: 65_536, operation: "PutProvisionedConcurrencyConfig")
                let (definition, readiness) = try await self.registry.putProvisionedConcurrency(reference, value: input.ProvisionedConcurrentExecutions)
                return Self.json(Self.provisionedOutput(definition, readiness), id, status: .accepted)
            }
        }
        router.get("2019-09-30/functions/:name/provisioned-concurrency") { request, context in
            try await self.respond(context) { id in
                let (definition, readiness) = try await self.registry.provisionedConcurrency(try self.provisionedReference(context, request))
                return Self.json(Self.provisionedOutput(definition, readiness), id)
            }
        }
        router.delete("2019-09-30/functions/:name/provisioned-concurrency") { request, context in
            try await self.respond(context) { id in
                try await self.registry.deleteProvisionedConcurrency(try self.provisionedReference(context, request))
                return Self.empty(.noContent, id)
            }
        }
    }

    /// Provisioned concurrency needs a qualifier; Spool has only `$LATEST`, which it accepts (AWS requires a published version).
    func provisionedReference(_ context: SpoolRequestContext, _ request: Request) throws -> FunctionReference {
        let reference = try self.reference(context, request)
        guard let qualifier = reference.qualifier else {
            throw SpoolError.validation(field: "qualifier", value: "null", constraint: "Member must not be null")
        }
        guard qualifier == "$LATEST" else {
            throw SpoolError.functionNotFound(registry.identity.functionARN(reference.name) + ":" + qualifier)
        }
        return reference
    }

    static func provisionedOutput(_ definition: FunctionDefinition, _ readiness: ProvisionedReadiness) -> LambdaWire.ProvisionedOutput {
        let requested = definition.provisionedConcurrency ?? 0
        let status = readiness.failureReason != nil ? "FAILED" : readiness.allocated >= requested ? "READY" : "IN_PROGRESS"
        return LambdaWire.ProvisionedOutput(
            RequestedProvisionedConcurrentExecutions: requested,
            AvailableProvisionedConcurrentExecutions: readiness.available,
            AllocatedProvisionedConcurrentExecutions: readiness.allocated,
            Status: status, StatusReason: readiness.failureReason,
            LastModified: FunctionConfigurationOutput.timestamp(definition.provisionedLastModified ?? definition.lastModified)
        )
    }
}
