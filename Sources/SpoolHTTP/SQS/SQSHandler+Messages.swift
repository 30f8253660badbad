import Foundation
import Hummingbird
import SpoolEngine
import SpoolModel

/// Message operations of the SQS facade.
extension SQSHandler {
    /// The total payload a SendMessageBatch may carry.
    static let maximumBatchBytes = 1_048_576

    static func model(_ attributes: [String: SQSWire.AttributeValue]?) -> [String: MessageAttributeValue] {
        (attributes ?? [:]).mapValues { MessageAttributeValue(dataType: $0.DataType, stringValue: $0.StringValue, binaryValue: $0.BinaryValue) }
    }

    static func wire(_ attributes: [String: MessageAttributeValue]) -> [String: SQSWire.AttributeValue] {
        attributes.mapValues { SQSWire.AttributeValue(DataType: $0.dataType, StringValue: $0.stringValue, BinaryValue: $0.binaryValue) }
    }

    /// The message to store; `trace` (the request's `X-Amzn-Trace-Id`) becomes its `AWSTraceHeader` unless the message
    /// sets that system attribute itself, which takes precedence, as on SQS.
    static func outgoing(_ fields: some SQSWire.SendMessageFields, trace: String? = nil) -> OutgoingMessage {
        var system = model(fields.MessageSystemAttributes)
        if let trace, !trace.isEmpty, system["AWSTraceHeader"] == nil {
            system["AWSTraceHeader"] = MessageAttributeValue(dataType: "String", stringValue: trace, binaryValue: nil)
        }
        return OutgoingMessage(
            body: fields.MessageBody ?? "", attributes: model(fields.MessageAttributes),
            systemAttributes: system, delaySeconds: fields.DelaySeconds,
            groupID: fields.MessageGroupId, deduplicationID: fields.MessageDeduplicationId
        )
    }

    func sendMessage(_ call: Call) async throws -> Response {
        let input = try call.input(SQSWire.SendMessageInput.self)
        let message = Self.outgoing(input, trace: call.traceHeader)
        guard input.MessageBody != nil else { throw SpoolError.missingParameter("MessageBody") }
        let result = try await queues.send(queueName: try queueName(fromURL: input.QueueUrl, call), messages: [message])
        let sent = try result[0].get()
        return ok(SQSWire.SendMessageOutput(
            MD5OfMessageBody: MessageDigest.body(message.body), MD5OfMessageAttributes: MessageDigest.attributes(message.attributes),
            MD5OfMessageSystemAttributes: MessageDigest.attributes(message.systemAttributes), MessageId: sent.messageID,
            SequenceNumber: sent.sequenceNumber
        ), call)
    }

    func sendMessageBatch(_ call: Call) async throws -> Response {
        let input = try call.input(SQSWire.SendMessageBatchInput.self)
        let name = try queueName(fromURL: input.QueueUrl, call)
        try BatchEntries.validate(ids: input.Entries.map(\.Id))
        let messages = input.Entries.map { Self.outgoing($0, trace: call.traceHeader) }
        let total = messages.reduce(0) { $0 + $1.body.utf8.count + $1.attributes.reduce(0) { $0 + $1.value.size(name: $1.key) } }
        guard total <= Self.maximumBatchBytes else {
            throw SpoolError(.batchRequestTooLong, "Batch requests cannot be longer than \(Self.maximumBatchBytes) bytes. You have sent \(total) bytes.")
        }
        let results = try await queues.send(queueName: name, messages: messages)
        var output = SQSWire.SendMessageBatchOutput(Successful: [], Failed: [])
        for (index, result) in results.enumerated() {
            let entry = input.Entries[index]
            let message = messages[index]
            switch result {
            case .success(let sent):
                output.Successful.append(.init(
                    Id: entry.Id, MessageId: sent.messageID, MD5OfMessageBody: MessageDigest.body(message.body),
                    MD5OfMessageAttributes: MessageDigest.attributes(message.attributes),
                    MD5OfMessageSystemAttributes: MessageDigest.attributes(message.systemAttributes), SequenceNumber: sent.sequenceNumber
                ))
            case .failure(let error):
                output.Failed.append(Self.failedEntry(entry.Id, error))
            }
        }
        return ok(output, call)
    }

    static func failedEntry(_ id: String, _ error: SpoolError) -> SQSWire.BatchResultErrorEntry {
        SQSWire.BatchResultErrorEntry(Id: id, SenderFault: error.code != .storageFailure, Code: AWSErrorShape.sqs(error).queryCode, Message: error.message)
    }

    static let systemAttributeNames: Set<String> = [
        "All", "SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp", "SequenceNumber",
        "MessageDeduplicationId", "MessageGroupId", "AWSTraceHeader", "DeadLetterQueueSourceArn",
    ]

    func receiveMessage(_ call: Call) async throws -> Response {
        let input = try call.input(SQSWire.ReceiveMessageInput.self)
        let requested = (input.MessageSystemAttributeNames ?? []) + (input.AttributeNames ?? [])
        for name in requested where !Self.systemAttributeNames.contains(name) {
            throw SpoolError.invalidAttributeName(name)
        }
        let messages = try await queues.receive(
            queueName: try queueName(fromURL: input.QueueUrl, call), maxMessages: input.MaxNumberOfMessages ?? 1,
            visibilityTimeout: input.VisibilityTimeout, waitSeconds: input.WaitTimeSeconds, attemptID: input.ReceiveRequestAttemptId
        )
        let selectors = input.MessageAttributeNames ?? []
        let wireMessages = messages.map { message -> SQSWire.Message in
            let system = systemAttributes(of: message, requested: requested)
            let chosen = message.attributes.filter { MessageAttributes.isSelected($0.key, by: selectors) }
            return SQSWire.Message(
                MessageId: message.messageID, ReceiptHandle: message.receipt.encoded, MD5OfBody: MessageDigest.body(message.body),
                Body: message.body, Attributes: system.isEmpty ? nil : system, MD5OfMessageAttributes: MessageDigest.attributes(chosen),
                MessageAttributes: chosen.isEmpty ? nil : Self.wire(chosen)
            )
        }
        return ok(SQSWire.ReceiveMessageOutput(Messages: wireMessages.isEmpty ? nil : wireMessages), call)
    }

    func systemAttributes(of message: ReceivedMessage, requested: [String]) -> [String: String] {
        let all = message.systemAttributeValues(senderID: queues.identity.accountID)
        if requested.contains("All") { return all }
        return all.filter { requested.contains($0.key) }
    }

    func deleteMessage(_ call: Call) async throws -> Response {
        let input = try call.input(SQSWire.DeleteMessageInput.self)
        let results = try await queues.delete(queueName: try queueName(fromURL: input.QueueUrl, call), receiptHandles: [input.ReceiptHandle])
        if let error = results[0] { throw error }
        return ok(EmptyOutput(), call)
    }

    func deleteMessageBatch(_ call: Call) async throws -> Response {
        let input = try call.input(SQSWire.DeleteMessageBatchInput.self)
        let name = try queueName(fromURL: input.QueueUrl, call)
        try BatchEntries.validate(ids: input.Entries.map(\.Id))
        let results = try await queues.delete(queueName: name, receiptHandles: input.Entries.map(\.ReceiptHandle))
        return ok(batchOutput(ids: input.Entries.map(\.Id), results: results), call)
    }

    func changeMessageVisibility(_ call: Call) async throws -> Response {
        let input = try call.input(SQSWire.ChangeMessageVisibilityInput.self)
        let results = try await queues.changeVisibility(
            queueName: try queueName(fromURL: input.QueueUrl, call), changes: [(input.ReceiptHandle, input.VisibilityTimeout)]
        )
        if let error = results[0] { throw error }
        return ok(EmptyOutput(), call)
    }

    func changeMessageVisibilityBatch(_ call: Call) async throws -> Response {
        let input = try call.input(SQSWire.ChangeMessageVisibilityBatchInput.self)
        let name = try queueName(fromURL: input.QueueUrl, call)
        try BatchEntries.validate(ids: input.Entries.map(\.Id))
        let results = try await queues.changeVisibility(
            queueName: name, changes: input.Entries.map { ($0.ReceiptHandle, $0.VisibilityTimeout ?? 0) }
        )
        return ok(batchOutput(ids: input.Entries.map(\.Id), results: results), call)
    }

    func batchOutput(ids: [String], results: [SpoolError?]) -> SQSWire.BatchOutput {
        var output = SQSWire.BatchOutput(Successful: [], Failed: [])
        for (id, error) in zip(ids, results) {
            if let error { output.Failed.append(Self.failedEntry(id, error)) } else { output.Successful.append(.init(Id: id)) }
        }
        return output
    }

    // MARK: Move tasks

    func startMessageMoveTask(_ call: Call) async throws -> Response {
        let input = try call.input(SQSWire.StartMessageMoveTaskInput.self)
        let task = try await queues.startMoveTask(
            sourceARN: input.SourceArn, destinationARN: input.DestinationArn, maxPerSecond: input.MaxNumberOfMessagesPerSecond
        )
        return ok(SQSWire.StartMessageMoveTaskOutput(TaskHandle: task.handle), call)
    }

    func listMessageMoveTasks(_ call: Call) async throws -> Response {
        let input = try call.input(SQSWire.ListMessageMoveTasksInput.self)
        let tasks = try await queues.listMoveTasks(sourceARN: input.SourceArn, maxResults: input.MaxResults)
        return ok(SQSWire.ListMessageMoveTasksOutput(Results: tasks.map { task in
            SQSWire.MoveTaskResult(
                TaskHandle: task.status == .running ? task.handle : nil, Status: task.status.rawValue, SourceArn: task.sourceARN,
                DestinationArn: task.destinationARN, MaxNumberOfMessagesPerSecond: task.maxNumberOfMessagesPerSecond,
                ApproximateNumberOfMessagesMoved: task.moved, ApproximateNumberOfMessagesToMove: task.toMove,
                FailureReason: task.failureReason, StartedTimestamp: task.startedAt
            )
        }), call)
    }

    func cancelMessageMoveTask(_ call: Call) async throws -> Response {
        let input = try call.input(SQSWire.CancelMessageMoveTaskInput.self)
        let task = try await queues.cancelMoveTask(handle: input.TaskHandle)
        return ok(SQSWire.CancelMessageMoveTaskOutput(ApproximateNumberOfMessagesMoved: task.moved), call)
    }
}
