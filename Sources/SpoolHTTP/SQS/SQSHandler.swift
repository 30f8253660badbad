import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOFoundationEssentialsCompat
import SpoolEngine
import SpoolModel

/// The SQS facade: decodes `AmazonSQS.<Operation>` requests of the JSON 1.0 protocol (and, through `SQSQuery`, the
/// query protocol's form-encoded ones), calls the queue service and answers in the shapes the SDKs parse.
struct SQSHandler: Sendable {
    let queues: QueueService
    /// `http://host:port` used in queue URLs when a request carries no `Host` header.
    let defaultBaseURL: String

    static let contentType = "application/x-amz-json-1.0"

    /// One request context: the body, where the client reached us, and the id we answer with.
    struct Call {
        var body: ByteBuffer
        var baseURL: String
        var requestID: String
        /// The request's `X-Amzn-Trace-Id`: a sent message's `AWSTraceHeader` unless it carries its own.
        var traceHeader: String?
        /// The protocol the request came in, which the answer is written in.
        var wire = Wire.json
        /// The account, acting in the region the request was signed for: the namespace its queue names belong to.
        var identity: AWSIdentity

        func input<T: Decodable>(_ type: T.Type) throws -> T { try AWSJSON.decode(type, from: body) }
    }

    enum Wire {
        case json
        /// The query protocol, answering `action` in XML.
        case query(action: String)
    }

    /// Runs one operation; what it throws is answered in SQS's error shape by `APIErrorMiddleware`.
    func handle(operation: String, body: ByteBuffer, host: String?, requestID: String, region: String? = nil, traceHeader: String? = nil) async throws -> Response {
        try await dispatch(operation, Call(body: body, baseURL: baseURL(host), requestID: requestID, traceHeader: traceHeader,
                                           identity: queues.identity.acting(in: region)))
    }

    /// Runs one query-protocol request: `parameters` from its query string and form body, `path` the request's path (a
    /// queue's URL stands for a missing `QueueUrl`).
    func handleQuery(parameters: [(name: String, value: String)], path: String, host: String?, requestID: String, region: String? = nil,
                     traceHeader: String? = nil) async throws -> Response {
        guard let action = SQSQuery.action(in: parameters), !action.isEmpty else {
            throw SpoolError(.missingAction, "The request is missing an action or a required parameter.")
        }
        let base = baseURL(host)
        let queueURL = APIService.isQueuePath(path.split(separator: "/")) ? base + path : nil
        let body = ByteBuffer(data: try SQSQuery.jsonInput(action: action, parameters: parameters, queueURL: queueURL))
        return try await dispatch(action, Call(body: body, baseURL: base, requestID: requestID, traceHeader: traceHeader, wire: .query(action: action),
                                               identity: queues.identity.acting(in: region)))
    }

    private func baseURL(_ host: String?) -> String { host.map { "http://\($0)" } ?? defaultBaseURL }

    /// The X-Ray header SQS takes a message's `AWSTraceHeader` from.
    static let traceHeader = HTTPField.Name("X-Amzn-Trace-Id")!

    func ok(_ value: some Encodable, _ call: Call) -> Response {
        switch call.wire {
        case .json: AWSJSON.response(value, contentType: Self.contentType, requestID: call.requestID)
        case .query(let action): SQSQuery.response(action: action, json: AWSJSON.encode(value), requestID: call.requestID)
        }
    }

    private func dispatch(_ operation: String, _ call: Call) async throws -> Response {
        switch operation {
        case "CreateQueue": try await createQueue(call)
        case "GetQueueUrl": try await getQueueURL(call)
        case "ListQueues": try await listQueues(call)
        case "DeleteQueue": try await deleteQueue(call)
        case "GetQueueAttributes": try await getQueueAttributes(call)
        case "SetQueueAttributes": try await setQueueAttributes(call)
        case "PurgeQueue": try await purgeQueue(call)
        case "TagQueue": try await tagQueue(call)
        case "UntagQueue": try await untagQueue(call)
        case "ListQueueTags": try await listQueueTags(call)
        case "SendMessage": try await sendMessage(call)
        case "SendMessageBatch": try await sendMessageBatch(call)
        case "ReceiveMessage": try await receiveMessage(call)
        case "DeleteMessage": try await deleteMessage(call)
        case "DeleteMessageBatch": try await deleteMessageBatch(call)
        case "ChangeMessageVisibility": try await changeMessageVisibility(call)
        case "ChangeMessageVisibilityBatch": try await changeMessageVisibilityBatch(call)
        case "ListDeadLetterSourceQueues": try await listDeadLetterSourceQueues(call)
        case "StartMessageMoveTask": try await startMessageMoveTask(call)
        case "ListMessageMoveTasks": try await listMessageMoveTasks(call)
        case "CancelMessageMoveTask": try await cancelMessageMoveTask(call)
        case "AddPermission": try await addPermission(call)
        case "RemovePermission": try await removePermission(call)
        default:
            throw SpoolError(.unknownOperation, "The action \(operation) is not valid for this endpoint.")
        }
    }

    // MARK: Queue URLs

    /// The URL of a stored queue name: `BASE/ACCOUNT/NAME` in the home region, `BASE/REGION/ACCOUNT/NAME` in any other
    /// (AWS's URLs name the region in the host, `sqs.REGION.amazonaws.com`, which a loopback address cannot).
    func queueURL(_ stored: String, _ call: Call) -> String {
        let region = call.identity.region(of: stored)
        let account = call.identity.accountID
        let name = AWSIdentity.plainName(stored)
        return region == call.identity.homeRegion ? "\(call.baseURL)/\(account)/\(name)" : "\(call.baseURL)/\(region)/\(account)/\(name)"
    }

    /// The stored name of the queue a `QueueUrl` names: its last path component, under our account id, in the region
    /// the URL names (a `REGION` path component, or an AWS host `sqs.REGION.…`/`REGION.queue.…`), else in the region the
    /// request acts in.
    func queueName(fromURL url: String, _ call: Call) throws -> String {
        // A queue's name where its URL is expected is taken as AWS takes it.
        if !url.contains("/"), QueueName.isValid(url) { return call.identity.stored(url) }
        let parsed = URL(string: url)
        let parts = (parsed?.path ?? url).split(separator: "/").map(String.init)
        guard parts.count >= 2, parts[parts.count - 2] == call.identity.accountID else {
            throw SpoolError.queueDoesNotExist()
        }
        var region = call.identity.region
        if parts.count >= 3, AWSIdentity.isRegionName(parts[parts.count - 3]) {
            region = parts[parts.count - 3]
        } else if let labels = parsed?.host?.split(separator: "."), labels.count >= 3 {
            if labels[0] == "sqs", AWSIdentity.isRegionName(labels[1]) { region = String(labels[1]) }
            if labels[1] == "queue", AWSIdentity.isRegionName(labels[0]) { region = String(labels[0]) }
        }
        return call.identity.stored(parts[parts.count - 1], in: region)
    }

    // MARK: Queue operations

    func createQueue(_ call: Call) async throws -> Response {
        let input = try call.input(SQSWire.CreateQueueInput.self)
        let queue = try await queues.createQueue(name: call.identity.stored(input.QueueName), attributes: input.Attributes ?? [:], tags: input.tags ?? [:])
        return ok(SQSWire.QueueURLOutput(QueueUrl: queueURL(queue.name, call)), call)
    }

    func getQueueURL(_ call: Call) async throws -> Response {
        let input = try call.input(SQSWire.GetQueueURLInput.self)
        if let owner = input.QueueOwnerAWSAccountId, owner != queues.identity.accountID { throw SpoolError.queueDoesNotExist() }
        let queue = try await queues.queue(named: call.identity.stored(input.QueueName))
        return ok(SQSWire.QueueURLOutput(QueueUrl: queueURL(queue.name, call)), call)
    }

    func listQueues(_ call: Call) async throws -> Response {
        let input = try call.input(SQSWire.ListQueuesInput.self)
        if let max = input.MaxResults, !(1...1000).contains(max) {
            throw SpoolError.invalidParameter("MaxResults", value: String(max), reason: "MaxResults must be an integer between 1 and 1000.")
        }
        if input.NextToken != nil, input.MaxResults == nil {
            throw SpoolError.invalidParameter("NextToken", value: input.NextToken!, reason: "MaxResults is required when NextToken is given.")
        }
        let after = try input.NextToken.map(Self.decodeToken)
        let page = try await queues.listQueues(in: call.identity, prefix: input.QueueNamePrefix ?? "", after: after, maxResults: input.MaxResults)
        let urls = page.queues.map { queueURL($0.name, call) }
        return ok(SQSWire.ListQueuesOutput(QueueUrls: urls.isEmpty ? nil : urls, NextToken: page.next.map(Self.encodeToken)), call)
    }

    static func encodeToken(_ name: String) -> String { NameToken.encode(name) }

    static func decodeToken(_ token: String) throws -> String {
        guard let name = NameToken.decode(token) else {
            throw SpoolError.invalidParameter("NextToken", value: token, reason: "Invalid NextToken value.")
        }
        return name
    }

    func deleteQueue(_ call: Call) async throws -> Response {
        let input = try call.input(SQSWire.QueueURLInput.self)
        try await queues.deleteQueue(name: try queueName(fromURL: input.QueueUrl, call))
        return ok(EmptyOutput(), call)
    }

    func getQueueAttributes(_ call: Call) async throws -> Response {
        let input = try call.input(SQSWire.GetQueueAttributesInput.self)
        let values = try await queues.attributes(name: try queueName(fromURL: input.QueueUrl, call), requested: input.AttributeNames ?? [])
        return ok(SQSWire.AttributesOutput(Attributes: values.isEmpty ? nil : values), call)
    }

    func setQueueAttributes(_ call: Call) async throws -> Response {
        let input = try call.input(SQSWire.SetQueueAttributesInput.self)
        try await queues.setAttributes(name: try queueName(fromURL: input.QueueUrl, call), attributes: input.Attributes)
        return ok(EmptyOutput(), call)
    }

    func addPermission(_ call: Call) async throws -> Response {
        let input = try call.input(SQSWire.AddPermissionInput.self)
        try await queues.addPermission(name: try queueName(fromURL: input.QueueUrl, call), label: input.Label ?? "",
                                       accounts: input.AWSAccountIds ?? [], actions: input.Actions ?? [])
        return ok(EmptyOutput(), call)
    }

    func removePermission(_ call: Call) async throws -> Response {
        let input = try call.input(SQSWire.RemovePermissionInput.self)
        try await queues.removePermission(name: try queueName(fromURL: input.QueueUrl, call), label: input.Label ?? "")
        return ok(EmptyOutput(), call)
    }

    func purgeQueue(_ call: Call) async throws -> Response {
        let input = try call.input(SQSWire.QueueURLInput.self)
        try await queues.purge(name: try queueName(fromURL: input.QueueUrl, call))
        return ok(EmptyOutput(), call)
    }

    func tagQueue(_ call: Call) async throws -> Response {
        let input = try call.input(SQSWire.TagQueueInput.self)
        try await queues.tag(name: try queueName(fromURL: input.QueueUrl, call), tags: input.Tags)
        return ok(EmptyOutput(), call)
    }

    func untagQueue(_ call: Call) async throws -> Response {
        let input = try call.input(SQSWire.UntagQueueInput.self)
        try await queues.untag(name: try queueName(fromURL: input.QueueUrl, call), keys: input.TagKeys)
        return ok(EmptyOutput(), call)
    }

    func listQueueTags(_ call: Call) async throws -> Response {
        let input = try call.input(SQSWire.QueueURLInput.self)
        let tags = try await queues.tags(name: try queueName(fromURL: input.QueueUrl, call))
        return ok(SQSWire.TagsOutput(Tags: tags.isEmpty ? nil : tags), call)
    }

    func listDeadLetterSourceQueues(_ call: Call) async throws -> Response {
        let input = try call.input(SQSWire.ListDeadLetterSourceQueuesInput.self)
        let sources = try await queues.deadLetterSourceQueues(name: try queueName(fromURL: input.QueueUrl, call))
        let after = try input.NextToken.map(Self.decodeToken)
        let remaining = sources.filter { after == nil || $0.name > after! }
        let limit = input.MaxResults ?? 1000
        let page = Array(remaining.prefix(limit))
        let next = remaining.count > limit && input.MaxResults != nil ? page.last.map { Self.encodeToken($0.name) } : nil
        return ok(SQSWire.ListDeadLetterSourceQueuesOutput(queueUrls: page.map { queueURL($0.name, call) }, NextToken: next), call)
    }
}
