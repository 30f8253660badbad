import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationEssentialsCompat
import ServiceLifecycle
import SpoolModel

/// The Lambda Runtime API and Extensions API of one execution environment, on a loopback port of its own.
///
/// A runtime knows the API only as `AWS_LAMBDA_RUNTIME_API=host:port`, so the port is what tells Spool
/// which environment is asking; `RuntimePeers` makes sure the asker is one of the environment's own processes.
final class RuntimeAPIServer: Sendable {
    /// `127.0.0.1:PORT`, the value of `AWS_LAMBDA_RUNTIME_API`.
    let address: String
    private let task: Task<Void, Never>
    private let group: ServiceGroup

    private init(address: String, task: Task<Void, Never>, group: ServiceGroup) {
        self.address = address
        self.task = task
        self.group = group
    }

    static func start(environment: ExecutionEnvironment, logger: Logger) async throws -> RuntimeAPIServer {
        let router = Router(context: RuntimeRequestContext.self)
        router.add(middleware: PeerCheck(peers: environment.peers))
        RuntimeAPIRoutes.add(to: router, environment: environment)
        RuntimeAPIRoutes.addUnsupported(to: router)
        var serverLogger = logger
        // Stopping the server by cancellation makes HummingbirdCore log an error per open connection.
        serverLogger.logLevel = .critical
        let port = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
            onServerRunning: { channel in
                port.continuation.yield(channel.localAddress?.port ?? 0)
                port.continuation.finish()
            },
            logger: serverLogger
        )
        let group = ServiceGroup(configuration: .init(services: [app], logger: serverLogger))
        // Detached: an inherited graceful-shutdown context (the dispatcher's, an HTTP request's) would stop this
        // environment's API when the service that started it begins to drain, cutting off the invocation it waits for.
        let task = Task.detached {
            do { try await group.run() } catch { logger.warning("runtime API server stopped", metadata: ["error": "\(error)"]) }
            port.continuation.finish()
        }
        var bound = 0
        for await value in port.stream { bound = value }
        guard bound != 0 else {
            task.cancel()
            throw SpoolError(.serviceFailure, "the Runtime API could not listen on a loopback port")
        }
        return RuntimeAPIServer(address: "127.0.0.1:\(bound)", task: task, group: group)
    }

    /// Stops gracefully: requests still open (a `next` the environment already answered) finish first.
    /// Cancels after a second if a connection will not close, and never waits more than two in all.
    func stop() async {
        await group.triggerGracefulShutdown()
        let task = task
        let finished = AsyncStream<Void>.makeStream()
        Task {
            await task.value
            finished.continuation.finish()
        }
        let watchdog = Task {
            try await Task.sleep(for: .seconds(1))
            task.cancel()
            try await Task.sleep(for: .seconds(1))
            finished.continuation.finish()
        }
        for await _ in finished.stream {}
        watchdog.cancel()
    }
}

/// A Runtime API request, with the connection it came on (to tell who sent it).
struct RuntimeRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// Refuses, with 403, every request that does not come from one of the environment's own processes.
struct PeerCheck: RouterMiddleware {
    let peers: RuntimePeers

    func handle(_ request: Request, context: RuntimeRequestContext, next: (Request, RuntimeRequestContext) async throws -> Response) async throws -> Response {
        guard await peers.admits(context.channel) else {
            return RuntimeAPIRoutes.error(.init(status: 403, type: "AccessDeniedException",
                                                message: "Only the processes of this execution environment may use its Runtime API."))
        }
        return try await next(request, context)
    }
}

/// The routes of the Runtime API (`/2018-06-01`) and Extensions API (`/2020-01-01`), reference §7.
enum RuntimeAPIRoutes {
    static let requestID = HTTPField.Name("Lambda-Runtime-Aws-Request-Id")!
    static let deadline = HTTPField.Name("Lambda-Runtime-Deadline-Ms")!
    static let functionARN = HTTPField.Name("Lambda-Runtime-Invoked-Function-Arn")!
    static let traceID = HTTPField.Name("Lambda-Runtime-Trace-Id")!
    static let clientContext = HTTPField.Name("Lambda-Runtime-Client-Context")!
    static let errorType = HTTPField.Name("Lambda-Runtime-Function-Error-Type")!
    /// `streaming` when a runtime writes its response as a stream.
    static let responseMode = HTTPField.Name("Lambda-Runtime-Function-Response-Mode")!
    static let extensionName = HTTPField.Name("Lambda-Extension-Name")!
    static let extensionIdentifier = HTTPField.Name("Lambda-Extension-Identifier")!
    static let extensionErrorType = HTTPField.Name("Lambda-Extension-Function-Error-Type")!

    static func add(to router: Router<RuntimeRequestContext>, environment env: ExecutionEnvironment) {
        let runtime = router.group("2018-06-01/runtime")
        runtime.get("invocation/next") { _, _ -> Response in
            let invocation: RuntimeInvocation
            switch await env.runtimeNext() {
            case .invocation(let next): invocation = next
            case .shutdown: return error(.init(status: 500, type: "Runtime.Shutdown", message: "the environment is shutting down"))
            case .superseded:
                return error(.init(status: 400, type: "InvalidStateTransition",
                                   message: "A newer request for the next invocation replaced this one; it gets the invocation."))
            }
            var headers: HTTPFields = [
                .contentType: "application/json", requestID: invocation.requestID, deadline: "\(invocation.deadlineMs)",
                functionARN: invocation.invokedFunctionARN, traceID: invocation.traceID,
            ]
            if let context = invocation.clientContext { headers[clientContext] = context }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: invocation.payload))
        }
        runtime.post("invocation/:id/response") { request, context -> Response in
            let id = context.parameters.get("id") ?? ""
            // Lambda's streaming mode, read chunk by chunk and handed on as written when the caller reads a stream.
            if request.headers[Self.responseMode]?.lowercased() == "streaming", let stream = await env.responseStream(for: id) {
                stream.contentType = request.headers[.contentType]
                var total = 0
                do {
                    for try await chunk in request.body {
                        total += chunk.readableBytes
                        guard total <= FunctionLimits.streamedResponseBytes else {
                            _ = await env.post(.responseTooLarge, requestID: id)
                            return Self.error(.init(status: 413, type: "RequestEntityTooLarge",
                                                    message: "Response payload size exceeded maximum allowed payload size (\(FunctionLimits.streamedResponseBytes) bytes)."))
                        }
                        stream.yield(chunk)
                    }
                } catch {
                    return await env.post(.error(type: "Runtime.StreamError", payload: ByteBuffer(string: #"{"errorMessage":"The response stream broke off.","errorType":"Runtime.StreamError"}"#)),
                                          requestID: id) ? accepted() : invalidRequestID()
                }
                return await env.post(.response(ByteBuffer()), requestID: id) ? accepted() : invalidRequestID()
            }
            let result: RuntimeResult
            do {
                result = .response(try await request.body.collect(upTo: FunctionLimits.syncPayloadBytes))
            } catch {
                _ = await env.post(.responseTooLarge, requestID: id)
                return Self.error(.init(status: 413, type: "RequestEntityTooLarge", message: "Response payload size exceeded maximum allowed payload size (\(FunctionLimits.syncResponseBytesReported) bytes)."))
            }
            return await env.post(result, requestID: id) ? accepted() : invalidRequestID()
        }
        runtime.post("invocation/:id/error") { request, context -> Response in
            let id = context.parameters.get("id") ?? ""
            let body = (try? await request.body.collect(upTo: FunctionLimits.syncPayloadBytes)) ?? ByteBuffer()
            let type = request.headers[errorType] ?? Self.errorType(in: body) ?? "Function.Unknown"
            return await env.post(.error(type: type, payload: body), requestID: id) ? accepted() : invalidRequestID()
        }
        runtime.post("init/error") { request, _ -> Response in
            let body = (try? await request.body.collect(upTo: FunctionLimits.syncPayloadBytes)) ?? ByteBuffer()
            let type = request.headers[errorType] ?? Self.errorType(in: body) ?? "Runtime.Unknown"
            await env.postInitError(type: type, payload: body)
            return accepted()
        }
        let extensions = router.group("2020-01-01/extension")
        extensions.post("register") { request, _ -> Response in
            guard let name = request.headers[extensionName], !name.isEmpty else {
                return error(.init(status: 403, type: "Extension.MissingExtensionName", message: "Lambda-Extension-Name is required"))
            }
            struct Registration: Decodable { var events: [String]? }
            let body = (try? await request.body.collect(upTo: 65_536)) ?? ByteBuffer()
            guard let registration = try? JSONDecoder().decode(Registration.self, from: Data(buffer: body)) else {
                return error(.init(status: 400, type: "InvalidRequestFormat", message: "the registration body is not valid JSON"))
            }
            switch await env.registerExtension(name: name, events: registration.events ?? []) {
            case .failure(let failure):
                return error(failure)
            case .success(let identifier):
                struct Registered: Encodable { var functionName: String; var functionVersion: String; var handler: String }
                let info = await env.extensionInfo()
                let json = try JSONEncoder().encode(Registered(functionName: info.functionName, functionVersion: info.version, handler: info.handler))
                return Response(status: .ok, headers: [.contentType: "application/json", extensionIdentifier: identifier],
                                body: .init(byteBuffer: ByteBuffer(bytes: json)))
            }
        }
        extensions.get("event/next") { request, _ -> Response in
            guard let identifier = request.headers[extensionIdentifier] else {
                return error(.init(status: 403, type: "Extension.MissingExtensionIdentifier", message: "Lambda-Extension-Identifier is required"))
            }
            switch await env.extensionNext(identifier: identifier) {
            case .failure(let failure):
                return error(failure)
            case .success(nil):
                return error(.init(status: 500, type: "Runtime.Shutdown", message: "the environment is shutting down"))
            case .success(let event?):
                return Response(status: .ok, headers: [.contentType: "application/json", extensionIdentifier: identifier],
                                body: .init(byteBuffer: ByteBuffer(string: event.json)))
            }
        }
        for path in ["init/error", "exit/error"] {
            extensions.post(RouterPath(stringLiteral: path)) { request, _ -> Response in
                guard let identifier = request.headers[extensionIdentifier] else {
                    return error(.init(status: 403, type: "Extension.MissingExtensionIdentifier", message: "Lambda-Extension-Identifier is required"))
                }
                let type = request.headers[extensionErrorType] ?? "Extension.Unknown"
                return await env.extensionFailed(identifier: identifier, type: type)
                    ? accepted()
                    : error(.init(status: 403, type: "Extension.InvalidExtensionIdentifier", message: "unknown extension identifier"))
            }
        }
    }

    /// The Logs and Telemetry APIs are not there yet: say so plainly, so that an extension's subscription fails
    /// with a reason instead of a bare 404.
    static func addUnsupported(to router: Router<RuntimeRequestContext>) {
        for (path, api) in [("2020-08-15/logs", "Logs API"), ("2022-07-01/telemetry", "Telemetry API")] {
            router.put(RouterPath(stringLiteral: path)) { _, _ -> Response in
                error(.init(status: 400, type: "Extension.NotSupported", message: "The \(api) is not supported yet by Spool."))
            }
        }
    }

    static func accepted() -> Response {
        Response(status: .accepted, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"OK"}"#)))
    }

    static func invalidRequestID() -> Response {
        error(.init(status: 400, type: "InvalidRequestID", message: "Invalid request ID"))
    }

    static func error(_ failure: RuntimeAPIError) -> Response {
        Response(status: .init(code: failure.status), headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: InvocationOutcome.errorDocument(type: failure.type, message: failure.message)))
    }

    /// The `errorType` member of an error document; awslambdaric sends no error-type header.
    static func errorType(in body: ByteBuffer) -> String? {
        struct Document: Decodable { var errorType: String? }
        return (try? JSONDecoder().decode(Document.self, from: Data(buffer: body)))?.errorType
    }
}
