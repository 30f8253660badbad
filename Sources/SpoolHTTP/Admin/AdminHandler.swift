import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationEssentialsCompat
import SpoolEngine
import SpoolModel

/// Spool's native admin API under `/spool/v1/`: dead letters (list, show, replay, purge), the operator's
/// views of functions, queues, streams and mappings (see `AdminHandler+Operations`), and stream mappings'
/// progress per shard.
///
/// Replay and purge answer with a stream of newline-delimited JSON progress objects, one per chunk,
/// the last with `"done": true`, so one request can work through any number of dead letters.
struct AdminHandler: Sendable {
    let deadLetters: DeadLetters
    let mappings: EventSourceMappings
    let operations: Operations
    /// This server's version, for the nodes view.
    let version: String
    let logger: Logger

    /// The most dead letters one list request returns.
    static let maximumPage = 1_000

    func addRoutes(to router: Router<SpoolRequestContext>) {
        router.get("spool/v1/dead-letters") { request, _ in try await self.list(request) }
        router.get("spool/v1/dead-letters/:id") { _, context in
            guard let text = context.parameters.get("id"), let id = Int64(text) else {
                throw SpoolError(.invalidParameterValue, "The dead letter id must be a number.")
            }
            return Self.json(AdminWire.DeadLetterOutput(try await self.deadLetters.get(id)))
        }
        router.post("spool/v1/dead-letters/replay") { request, _ in
            let input = try await Self.decode(request)
            let filter = try input.filter()
            let force = input.force ?? false
            return self.stream { progress in try await self.deadLetters.replay(filter, force: force, progress: progress) }
        }
        router.get("spool/v1/mappings/:uuid/shards") { _, context in
            let (mapping, shards) = try await self.mappings.shardProgress(context.parameters.get("uuid") ?? "")
            return Self.json(AdminWire.ShardProgressOutput(
                UUID: mapping.uuid, EventSourceArn: mapping.sourceARN, State: mapping.state.rawValue,
                LastProcessingResult: mapping.isStream ? mapping.lastProcessingResult : nil,
                Shards: shards.map { .init(ShardId: $0.shardID, Lane: $0.lane, CheckpointSequenceNumber: $0.checkpoint,
                                            IteratorAgeMilliseconds: $0.iteratorAgeMillis, RecordsBehind: $0.recordsBehind) }))
        }
        addOperationRoutes(to: router)
        router.post("spool/v1/dead-letters/purge") { request, _ in
            let filter = try await Self.decode(request).filter()
            return self.stream { progress in try await self.deadLetters.purge(filter, progress: progress) }
        }
    }

    func list(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let limit = Int(try Self.number(request, "limit") ?? 100)
        guard (1...Self.maximumPage).contains(limit) else {
            throw SpoolError(.invalidParameterValue, "limit must be between 1 and \(Self.maximumPage).")
        }
        let ids = try query.getAll("id").map { text -> Int64 in
            guard let id = Int64(String(text)) else { throw SpoolError(.invalidParameterValue, "id must be a number.") }
            return id
        }
        let filter = try AdminWire.filter(function: query["function"].map { String($0) }, reason: query["reason"].map { String($0) },
                                          from: try Self.number(request, "from"), until: try Self.number(request, "until"), ids: ids,
                                          notReplayed: query["notReplayed"].map { $0 == "true" } ?? false)
        let page = try await deadLetters.list(filter, afterID: try Self.number(request, "after") ?? 0, limit: limit + 1)
        let shown = Array(page.prefix(limit))
        return Self.json(AdminWire.DeadLetterPage(deadLetters: shown.map(AdminWire.DeadLetterOutput.init),
                                                  nextAfter: page.count > limit ? shown.last?.id : nil))
    }

    /// A streamed NDJSON response fed by a chunked operation's progress.
    func stream(_ operation: @escaping @Sendable (@escaping @Sendable (DeadLetters.Progress) async -> Void) async throws -> DeadLetters.Progress) -> Response {
        let (lines, continuation) = AsyncStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .unbounded)
        let logger = logger
        let body = ResponseBody { writer in
            let work = Task {
                do {
                    _ = try await operation { progress in continuation.yield(Self.line(progress)) }
                } catch {
                    logger.error("dead-letter operation failed", metadata: ["error": "\(error)"])
                    let message = (error as? SpoolError)?.message ?? "The operation failed; the server's log has the cause."
                    continuation.yield(Self.line(AdminWire.ErrorOutput(error: .init(code: "InternalFailure", message: message))))
                }
                continuation.finish()
            }
            for await line in lines { try await writer.write(line) }
            _ = await work.result
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: body)
    }

    static func line(_ value: some Encodable) -> ByteBuffer {
        var buffer = ByteBuffer(data: AWSJSON.encode(value))
        buffer.writeString("\n")
        return buffer
    }

    static func decode(_ request: Request) async throws -> AdminWire.FilterInput {
        let body = try await request.body.collect(upTo: 1_048_576)
        return try AWSJSON.decode(AdminWire.FilterInput.self, from: body)
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: AWSJSON.encode(value))))
    }

    /// `{"error": {"code", "message"}}` with the status the code calls for.
    static func errorResponse(_ error: SpoolError, requestID: String) -> Response {
        let status: HTTPResponse.Status = switch error.code {
        case .resourceNotFound, .unknownOperation, .queueDoesNotExist: .notFound
        case .storageFailure, .serviceFailure: .internalServerError
        case .invalidSignature, .incompleteSignature, .missingAuthenticationToken, .unrecognizedClient: .forbidden
        case .throttling, .tooManyRequests: .tooManyRequests
        default: .badRequest
        }
        var response = json(AdminWire.ErrorOutput(error: .init(code: error.code.rawValue, message: error.message)), status: status)
        response.headers[AWSJSON.requestID] = requestID
        return response
    }


}
