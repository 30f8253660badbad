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
                let config = try await self.registry.putProvisionedConcurrency(reference, value: input.ProvisionedConcurrentExecutions)
                return Self.json(Self.provisionedOutput(config), id, status: .accepted)
            }
        }
        router.get("2019-09-30/functions/:name/provisioned-concurrency") { request, context in
            try await self.respond(context) { id in
                // ListProvisionedConcurrencyConfigs shares the path: `?List=ALL`.
                if request.uri.queryParameters["List"] == "ALL" {
                    let reference = try self.reference(context, nil)
                    let configs = try await self.registry.provisionedConfigs(reference.name)
                    let maxItems = try Self.maxItems(request, default: 50)
                    let start = request.uri.queryParameters["Marker"].flatMap { marker in configs.firstIndex { $0.qualifier == marker }.map { $0 + 1 } } ?? 0
                    let page = Array(configs.dropFirst(start).prefix(maxItems))
                    let next = start + page.count < configs.count ? page.last?.qualifier : nil
                    return Self.json(LambdaWire.ProvisionedListOutput(ProvisionedConcurrencyConfigs: page.map {
                        var item = LambdaWire.ProvisionedListItem(Self.provisionedOutput($0))
                        item.FunctionArn = self.registry.identity.functionARN(reference.name) + ":" + $0.qualifier
                        return item
                    }, NextMarker: next), id)
                }
                let config = try await self.registry.provisionedConcurrency(try self.provisionedReference(context, request))
                return Self.json(Self.provisionedOutput(config), id)
            }
        }
        router.delete("2019-09-30/functions/:name/provisioned-concurrency") { request, context in
            try await self.respond(context) { id in
                try await self.registry.deleteProvisionedConcurrency(try self.provisionedReference(context, request))
                return Self.empty(.noContent, id)
            }
        }
    }

    /// Provisioned concurrency is configured on a published version or an alias: a qualifier is required (`$LATEST` is
    /// refused by Put, as on Lambda; Get and Delete still reach a configuration made on it before versions existed).
    func provisionedReference(_ context: SpoolRequestContext, _ request: Request) throws -> FunctionReference {
        let reference = try self.reference(context, request)
        guard reference.qualifier != nil else {
            throw SpoolError.validation(field: "qualifier", value: "null", constraint: "Member must not be null")
        }
        return reference
    }

    static func provisionedOutput(_ config: FunctionRegistry.ProvisionedConfig) -> LambdaWire.ProvisionedOutput {
        let readiness = config.readiness
        let status = readiness.failureReason != nil ? "FAILED" : readiness.allocated >= config.requested ? "READY" : "IN_PROGRESS"
        return LambdaWire.ProvisionedOutput(
            RequestedProvisionedConcurrentExecutions: config.requested,
            AvailableProvisionedConcurrentExecutions: readiness.available,
            AllocatedProvisionedConcurrentExecutions: readiness.allocated,
            Status: status, StatusReason: readiness.failureReason,
            LastModified: FunctionConfigurationOutput.timestamp(config.lastModified)
        )
    }
}
