import Foundation
import Hummingbird
import SpoolEngine
import SpoolModel
import SpoolStorage

/// The operator's views: `status`, and list/show of functions, queues, streams and mappings, function logs
/// (the invocation journal), and enabling or disabling a mapping.
extension AdminHandler {
    func addOperationRoutes(to router: Router<SpoolRequestContext>) {
        router.get("spool/v1/status") { _, _ in Self.json(try await self.operations.status()) }
        router.get("spool/v1/nodes") { request, _ in
            Self.json(try await self.operations.nodes(version: self.version, address: request.head.authority ?? ""))
        }
        router.get("spool/v1/functions") { _, _ in Self.json(["functions": try await self.operations.functionSummaries()]) }
        router.get("spool/v1/functions/:name") { request, context in
            let recent = try Self.number(request, "recent").map { Int($0) } ?? 50
            return Self.json(try await self.operations.function(try Self.parameter(context, "name"), recent: min(max(recent, 1), 1_000)))
        }
        router.post("spool/v1/functions/:name/tune") { request, context in
            let body = try await request.body.collect(upTo: FunctionLimits.syncPayloadBytes + 65_536)
            let input = try AWSJSON.decode(PowerTuner.Request.self, from: body)
            return Self.json(try await self.operations.tune(try Self.parameter(context, "name"), input))
        }
        router.get("spool/v1/functions/:name/tune") { _, context in
            Self.json(try await self.operations.lastTuning(try Self.parameter(context, "name")))
        }
        router.get("spool/v1/functions/:name/logs") { request, context in
            try await self.invocations(request, function: try Self.parameter(context, "name"), includeLog: true)
        }
        router.get("spool/v1/invocations") { request, _ in
            let query = request.uri.queryParameters
            return try await self.invocations(request, function: query["function"].map(String.init), includeLog: query["log"] == "true")
        }
        router.get("spool/v1/queues") { _, _ in
            Self.json(["queues": try await self.operations.queueDepths()])
        }
        router.get("spool/v1/queues/:name") { _, context in
            Self.json(try await self.operations.queue(try Self.parameter(context, "name")))
        }
        router.get("spool/v1/streams") { _, _ in
            Self.json(["streams": try await self.operations.streamDepths()])
        }
        router.get("spool/v1/streams/:name") { _, context in
            Self.json(try await self.operations.stream(try Self.parameter(context, "name")))
        }
        router.get("spool/v1/mappings") { _, _ in
            Self.json(["mappings": try await self.operations.mappingSummaries()])
        }
        router.get("spool/v1/mappings/:uuid") { _, context in
            Self.json(try await self.operations.mapping(try Self.parameter(context, "uuid")))
        }
        for (action, enabled) in [("enable", true), ("disable", false)] {
            router.post("spool/v1/mappings/:uuid/\(action)") { _, context in
                Self.json(try await self.operations.setMapping(try Self.parameter(context, "uuid"), enabled: enabled))
            }
        }
    }

    /// A page of the journal: `after` (oldest first, to follow), else newest first before `before`; `requestId`, `limit`.
    func invocations(_ request: Request, function: String?, includeLog: Bool) async throws -> Response {
        let limit = Int(try Self.number(request, "limit") ?? 100)
        guard (1...1_000).contains(limit) else { throw SpoolError(.invalidParameterValue, "limit must be between 1 and 1000.") }
        let records = try await operations.invocations(JournalQuery(
            functionName: function, requestID: request.uri.queryParameters["requestId"].map(String.init), afterID: try Self.number(request, "after"),
            beforeID: try Self.number(request, "before"), limit: limit, includeLog: includeLog))
        return Self.json(["invocations": records])
    }

    static func number(_ request: Request, _ name: String) throws -> Int64? {
        guard let text = request.uri.queryParameters[Substring(name)] else { return nil }
        guard let value = Int64(text) else { throw SpoolError(.invalidParameterValue, "\(name) must be a number.") }
        return value
    }

    static func parameter(_ context: SpoolRequestContext, _ name: String) throws -> String {
        guard let value = context.parameters.get(name), !value.isEmpty else {
            throw SpoolError(.invalidParameterValue, "\(name) is required.")
        }
        return value.removingPercentEncoding ?? value
    }
}
