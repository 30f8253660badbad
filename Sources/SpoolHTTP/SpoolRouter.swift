import Foundation
import Hummingbird
import Logging
import NIOFoundationEssentialsCompat
import Prometheus
import SpoolEngine
import SpoolModel

/// Builds the one router every Spool endpoint hangs off.
package enum SpoolRouter {
    /// The largest request body read: a 1 MiB SQS batch plus JSON escaping overhead.
    package static let maximumBodyBytes = 8 * 1_048_576

    /// What `/health` reports beside its status.
    package struct HealthInfo: Sendable, Codable {
        package var status = "ok"
        package var version: String
        package var durability: String

        package init(version: String, durability: String) {
            self.version = version
            self.durability = durability
        }
    }

    /// What the Lambda API and the admin API serve.
    package struct LambdaServices: Sendable {
        package var registry: FunctionRegistry
        package var invoker: FunctionInvoker
        package var asyncInvocations: AsyncInvocations
        package var eventInvokeConfigs: EventInvokeConfigs
        package var deadLetters: DeadLetters
        package var mappings: EventSourceMappings
        package var operations: Operations

        package init(registry: FunctionRegistry, invoker: FunctionInvoker, asyncInvocations: AsyncInvocations,
                    eventInvokeConfigs: EventInvokeConfigs, deadLetters: DeadLetters, mappings: EventSourceMappings, operations: Operations) {
            self.operations = operations
            self.registry = registry
            self.invoker = invoker
            self.asyncInvocations = asyncInvocations
            self.eventInvokeConfigs = eventInvokeConfigs
            self.deadLetters = deadLetters
            self.mappings = mappings
        }
    }

    /// What `GET /metrics` serves: a registry, and what to measure into it before each scrape.
    package struct Metrics: Sendable {
        package var registry: PrometheusCollectorRegistry
        package var refresh: @Sendable () async -> Void

        package init(registry: PrometheusCollectorRegistry, refresh: @escaping @Sendable () async -> Void = {}) {
            self.registry = registry
            self.refresh = refresh
        }
    }

    /// - Parameters:
    ///   - queues: the SQS capability.
    ///   - streams: the Kinesis capability.
    ///   - lambda: functions, invocation and dead letters, for the Lambda API and the admin API.
    ///   - defaultBaseURL: `http://host:port`, for queue URLs when a request has no `Host` header.
    ///   - metrics: when given, `GET /metrics` serves it in Prometheus's text format (open, like `/health`).
    ///   - limits: when given, intake is refused with 429 while the backlog or memory is over its limit.
    ///   - verifier: when given, every request but `/health` must carry a valid Signature Version 4.
    package static func build(
        queues: QueueService, streams: StreamService, lambda: LambdaServices, health: HealthInfo,
        defaultBaseURL: String, verifier: SigV4Verifier? = nil, limits: IntakeLimits? = nil, metrics: Metrics? = nil,
        logger: Logger = Logger(label: "spool.http")
    ) -> Router<SpoolRequestContext> {
        let router = Router(context: SpoolRequestContext.self)
        router.add(middleware: RequestLogMiddleware(logger: logger))
        router.add(middleware: RegionMiddleware())
        // Function URLs by host name answer for themselves, before any API's checks.
        let functionURLs = FunctionURLHandler(registry: lambda.registry, invoker: lambda.invoker, verifier: verifier)
        router.add(middleware: FunctionURLHostMiddleware(handler: functionURLs))
        // Every error of every API is answered here, in the shape of the API the request was for.
        router.add(middleware: APIErrorMiddleware(logger: logger))
        if let verifier { router.add(middleware: SignatureMiddleware(verifier: verifier)) }
        if let limits { router.add(middleware: IntakeLimitMiddleware(limits: limits)) }
        let sqs = SQSHandler(queues: queues, defaultBaseURL: defaultBaseURL)
        let kinesis = KinesisHandler(streams: streams)
        LambdaHandler(registry: lambda.registry, invoker: lambda.invoker, asyncInvocations: lambda.asyncInvocations,
                      eventInvokeConfigs: lambda.eventInvokeConfigs, mappings: lambda.mappings, defaultBaseURL: defaultBaseURL)
            .addRoutes(to: router)
        AdminHandler(deadLetters: lambda.deadLetters, mappings: lambda.mappings, operations: lambda.operations, version: health.version, logger: logger).addRoutes(to: router)
        // Encoded once: `/health` is also the benchmark's no-op route, the ceiling every other figure is read against.
        let healthBody = ByteBuffer(data: AWSJSON.encode(health))
        router.get("/health") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: healthBody))
        }
        if let metrics {
            router.get("/metrics") { _, _ -> Response in
                await metrics.refresh()
                var bytes: [UInt8] = []
                bytes.reserveCapacity(16_384)
                metrics.registry.emit(into: &bytes)
                return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
            }
        }
        // The dashboard: one page, no external assets (the policy forbids loading any); it calls the admin API,
        // signing its requests itself when the server requires credentials.
        let dashboard = ByteBuffer(bytes: PackageResources.dashboard_html)
        router.get("/ui") { _, _ -> Response in
            Response(status: .ok, headers: [
                .contentType: "text/html; charset=utf-8",
                .contentSecurityPolicy: "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
                .cacheControl: "no-store",
            ], body: .init(byteBuffer: dashboard))
        }
        router.get("/spool/v1/process") { _, _ -> Response in
            AWSJSON.response(ProcessUsage.current(version: health.version, durability: health.durability),
                             contentType: "application/json", requestID: "process")
        }
        // SQS (both protocols) and Kinesis on `/`; SQS also on a queue's URL, as AWS's endpoints take it.
        let aws: @Sendable (Request, SpoolRequestContext) async throws -> Response = { request, context in
            let target = request.headers[AWSJSON.amzTarget] ?? ""
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: maximumBodyBytes)
            } catch {
                throw HTTPError(.contentTooLarge)
            }
            let host = request.head.authority
            let traceHeader = request.headers[SQSHandler.traceHeader]
            switch APIService.of(request) {
            case .sqs where target.hasPrefix("AmazonSQS."):
                return try await sqs.handle(operation: String(target.dropFirst("AmazonSQS.".count)), body: body, host: host, requestID: context.requestID,
                                            region: context.region, traceHeader: traceHeader)
            case let service where service == .kinesis || service == .kinesisCBOR:
                return try await kinesis.handle(operation: String(target.dropFirst(KinesisHandler.targetPrefix.count)), body: body,
                                                requestID: context.requestID, region: context.region, cbor: service == .kinesisCBOR)
            case .sqsQuery:
                let parameters = SQSQuery.parameters(query: request.uri.query, body: request.method == .post ? body : nil)
                return try await sqs.handleQuery(parameters: parameters, path: request.uri.path, host: host, requestID: context.requestID,
                                                 region: context.region, traceHeader: traceHeader)
            default:
                throw SpoolError(.unknownOperation, target.isEmpty ? "Missing X-Amz-Target header." : "Unknown operation \(target).")
            }
        }
        // Function URLs by path, which needs no name resolution: `/lambda-url/<url-id>/…`.
        for method in [HTTPRequest.Method.get, .post, .put, .delete, .patch, .head, .options] {
            for path in ["\(FunctionURLHandler.pathPrefix)/:urlid", "\(FunctionURLHandler.pathPrefix)/:urlid/**"] {
                router.on(RouterPath(stringLiteral: path), method: method) { request, context -> Response in
                    let id = context.parameters.get("urlid") ?? ""
                    let prefix = "/\(FunctionURLHandler.pathPrefix)/\(id)"
                    let raw = String((request.head.path ?? "/").prefix { $0 != "?" })
                    let rest = raw.hasPrefix(prefix) ? String(raw.dropFirst(prefix.count)) : "/"
                    return await functionURLs.serve(request, context: context, id: id, rawPath: rest.isEmpty ? "/" : rest)
                }
            }
        }
        router.post("/", use: aws)
        router.get("/", use: aws)
        router.post("/:account/:queue", use: aws)
        router.get("/:account/:queue", use: aws)
        // A queue of another region than the home one: `/REGION/ACCOUNT/QUEUE` (the router wants one parameter name
        // per position; the handler reads the path itself).
        router.post("/:account/:queue/:name", use: aws)
        router.get("/:account/:queue/:name", use: aws)
        return router
    }
}
