import Foundation
import Hummingbird
import SpoolModel
import Synchronization

/// Whether intake is open: refreshed by a monitor from the store's backlog and the process's memory, read by
/// `IntakeLimitMiddleware` on every request that would add work.
package final class IntakeLimits: Sendable {
    /// Waiting asynchronous events above which `Invoke` (Event) answers 429 `TooManyRequestsException`.
    package let maxAsyncEvents: Int
    /// Stored SQS messages above which `SendMessage(Batch)` answers 429 `ThrottlingException`.
    package let maxQueueMessages: Int
    /// Stored stream records above which `PutRecord(s)` answers `ProvisionedThroughputExceededException`.
    package let maxStreamRecords: Int
    /// Resident memory above which every intake request answers 429.
    package let maxResidentBytes: Int

    private let asyncFull = Atomic<Bool>(false)
    private let queuesFull = Atomic<Bool>(false)
    private let streamsFull = Atomic<Bool>(false)
    private let memoryFull = Atomic<Bool>(false)

    package init(maxAsyncEvents: Int, maxQueueMessages: Int, maxStreamRecords: Int = .max, maxResidentBytes: Int) {
        self.maxStreamRecords = maxStreamRecords
        self.maxAsyncEvents = maxAsyncEvents
        self.maxQueueMessages = maxQueueMessages
        self.maxResidentBytes = maxResidentBytes
    }

    /// Records a new measurement.
    package func update(asyncEvents: Int, queueMessages: Int, streamRecords: Int = 0, residentBytes: Int) {
        asyncFull.store(asyncEvents >= maxAsyncEvents, ordering: .relaxed)
        queuesFull.store(queueMessages >= maxQueueMessages, ordering: .relaxed)
        streamsFull.store(streamRecords >= maxStreamRecords, ordering: .relaxed)
        memoryFull.store(residentBytes >= maxResidentBytes, ordering: .relaxed)
    }

    /// Whether any kind of intake is refused now.
    package var refusing: Bool {
        asyncFull.load(ordering: .relaxed) || queuesFull.load(ordering: .relaxed) || streamsFull.load(ordering: .relaxed)
            || memoryFull.load(ordering: .relaxed)
    }

    /// What kind of work a request adds.
    enum Intake {
        case asyncEvent
        case queueMessage
        case streamRecord
        case other
    }

    /// Why `intake` must be refused now, if it must.
    func refusal(_ intake: Intake) -> SpoolError? {
        if memoryFull.load(ordering: .relaxed) {
            return SpoolError(.throttling, "Rate exceeded: Spool's memory passed its limit of \(maxResidentBytes / 1_048_576) MB (limits.maxMemoryMB). Retry later.")
        }
        switch intake {
        case .asyncEvent where asyncFull.load(ordering: .relaxed):
            return SpoolError(.throttling, "Rate exceeded: \(maxAsyncEvents) asynchronous events are waiting (limits.maxBacklog). Retry later.")
        case .queueMessage where queuesFull.load(ordering: .relaxed):
            return SpoolError(.throttling, "Rate exceeded: \(maxQueueMessages) messages are stored (limits.maxBacklog). Retry later.")
        case .streamRecord where streamsFull.load(ordering: .relaxed):
            return SpoolError(.provisionedThroughputExceeded,
                              "Rate exceeded for the streams: \(maxStreamRecords) records are stored (limits.maxBacklog). Retry later.")
        default:
            return nil
        }
    }
}

/// Answers 429 with `Retry-After` to requests that would add work while a limit is passed, in the error shape
/// of their API; reads, deletes and everything else keep working so that the backlog can drain.
struct IntakeLimitMiddleware: RouterMiddleware {
    typealias Context = SpoolRequestContext
    let limits: IntakeLimits

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let service = APIService.of(request) else { return try await next(request, context) }
        if service == .sqsQuery {
            // The action is a parameter, in the query string or the form body: read only while the queues are full.
            guard let refusal = limits.refusal(.queueMessage) else { return try await next(request, context) }
            var request = request
            let body = request.method == .post ? try? await request.collectBody(upTo: SpoolRouter.maximumBodyBytes) : nil
            let action = SQSQuery.action(in: SQSQuery.parameters(query: request.uri.query, body: body))
            if action == "SendMessage" || action == "SendMessageBatch" { throw refusal }
            return try await next(request, context)
        }
        if request.method == .post, let intake = Self.intake(request, service: service), let refusal = limits.refusal(intake) {
            throw refusal
        }
        return try await next(request, context)
    }

    /// The kind of work `request` adds, or `nil` if it adds none.
    static func intake(_ request: Request, service: APIService) -> IntakeLimits.Intake? {
        switch service {
        case .lambda:
            let last = request.uri.path.split(separator: "/").last
            if last == "invoke-async" { return .asyncEvent }
            guard last == "invocations" else { return nil }
            return request.headers[LambdaHandler.invocationType] == "Event" ? .asyncEvent : .other
        case .sqs:
            let target = request.headers[AWSJSON.amzTarget] ?? ""
            return target == "AmazonSQS.SendMessage" || target == "AmazonSQS.SendMessageBatch" ? .queueMessage : nil
        case .kinesis, .kinesisCBOR:
            let target = request.headers[AWSJSON.amzTarget] ?? ""
            return target.hasSuffix(".PutRecord") || target.hasSuffix(".PutRecords") ? .streamRecord : nil
        case .admin, .sqsQuery:
            return nil
        }
    }
}
