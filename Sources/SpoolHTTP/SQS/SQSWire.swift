import Foundation

// The SQS JSON 1.0 request and response members, named exactly as they are on the wire.
// swiftlint:disable identifier_name

enum SQSWire {
    struct QueueURLInput: Decodable { var QueueUrl: String }

    struct AddPermissionInput: Decodable {
        var QueueUrl: String
        var Label: String?
        var AWSAccountIds: [String]?
        var Actions: [String]?
    }

    struct RemovePermissionInput: Decodable {
        var QueueUrl: String
        var Label: String?
    }

    struct CreateQueueInput: Decodable {
        var QueueName: String
        var Attributes: [String: String]?
        var tags: [String: String]?
    }

    struct QueueURLOutput: Encodable { var QueueUrl: String }

    struct GetQueueURLInput: Decodable {
        var QueueName: String
        var QueueOwnerAWSAccountId: String?
    }

    struct ListQueuesInput: Decodable {
        var QueueNamePrefix: String?
        var NextToken: String?
        var MaxResults: Int?
    }

    struct ListQueuesOutput: Encodable {
        var QueueUrls: [String]?
        var NextToken: String?
    }

    struct GetQueueAttributesInput: Decodable {
        var QueueUrl: String
        var AttributeNames: [String]?
    }

    struct AttributesOutput: Encodable { var Attributes: [String: String]? }

    struct SetQueueAttributesInput: Decodable {
        var QueueUrl: String
        var Attributes: [String: String]
    }

    struct TagQueueInput: Decodable {
        var QueueUrl: String
        var Tags: [String: String]
    }

    struct UntagQueueInput: Decodable {
        var QueueUrl: String
        var TagKeys: [String]
    }

    struct TagsOutput: Encodable { var Tags: [String: String]? }

    struct AttributeValue: Codable {
        var DataType: String
        var StringValue: String?
        var BinaryValue: Data?
    }

    /// The members SendMessage and each SendMessageBatch entry share.
    protocol SendMessageFields {
        var MessageBody: String? { get }
        var DelaySeconds: Int? { get }
        var MessageAttributes: [String: AttributeValue]? { get }
        var MessageSystemAttributes: [String: AttributeValue]? { get }
        var MessageDeduplicationId: String? { get }
        var MessageGroupId: String? { get }
    }

    struct SendMessageInput: Decodable, SendMessageFields {
        var QueueUrl: String
        var MessageBody: String?
        var DelaySeconds: Int?
        var MessageAttributes: [String: AttributeValue]?
        var MessageSystemAttributes: [String: AttributeValue]?
        var MessageDeduplicationId: String?
        var MessageGroupId: String?
    }

    struct SendMessageOutput: Encodable {
        var MD5OfMessageBody: String
        var MD5OfMessageAttributes: String?
        var MD5OfMessageSystemAttributes: String?
        var MessageId: String
        var SequenceNumber: String?
    }

    struct SendMessageBatchEntry: Decodable, SendMessageFields {
        var Id: String
        var MessageBody: String?
        var DelaySeconds: Int?
        var MessageAttributes: [String: AttributeValue]?
        var MessageSystemAttributes: [String: AttributeValue]?
        var MessageDeduplicationId: String?
        var MessageGroupId: String?
    }

    struct SendMessageBatchInput: Decodable {
        var QueueUrl: String
        var Entries: [SendMessageBatchEntry]
    }

    struct SendMessageBatchResultEntry: Encodable {
        var Id: String
        var MessageId: String
        var MD5OfMessageBody: String
        var MD5OfMessageAttributes: String?
        var MD5OfMessageSystemAttributes: String?
        var SequenceNumber: String?
    }

    struct BatchResultErrorEntry: Encodable {
        var Id: String
        var SenderFault: Bool
        var Code: String
        var Message: String
    }

    /// `Failed` is left out when empty, as AWS leaves it out.
    struct SendMessageBatchOutput: Encodable {
        var Successful: [SendMessageBatchResultEntry]
        var Failed: [BatchResultErrorEntry]

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: BatchKeys.self)
            try container.encode(Successful, forKey: .Successful)
            if !Failed.isEmpty { try container.encode(Failed, forKey: .Failed) }
        }
    }

    enum BatchKeys: String, CodingKey {
        case Successful, Failed
    }

    struct ReceiveMessageInput: Decodable {
        var QueueUrl: String
        var MaxNumberOfMessages: Int?
        var VisibilityTimeout: Int?
        var WaitTimeSeconds: Int?
        var AttributeNames: [String]?
        var MessageSystemAttributeNames: [String]?
        var MessageAttributeNames: [String]?
        var ReceiveRequestAttemptId: String?
    }

    struct Message: Encodable {
        var MessageId: String
        var ReceiptHandle: String
        var MD5OfBody: String
        var Body: String
        var Attributes: [String: String]?
        var MD5OfMessageAttributes: String?
        var MessageAttributes: [String: AttributeValue]?
    }

    struct ReceiveMessageOutput: Encodable { var Messages: [Message]? }

    struct DeleteMessageInput: Decodable {
        var QueueUrl: String
        var ReceiptHandle: String
    }

    struct DeleteMessageBatchEntry: Decodable {
        var Id: String
        var ReceiptHandle: String
    }

    struct DeleteMessageBatchInput: Decodable {
        var QueueUrl: String
        var Entries: [DeleteMessageBatchEntry]
    }

    struct BatchResultOK: Encodable { var Id: String }

    struct BatchOutput: Encodable {
        var Successful: [BatchResultOK]
        var Failed: [BatchResultErrorEntry]

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: BatchKeys.self)
            try container.encode(Successful, forKey: .Successful)
            if !Failed.isEmpty { try container.encode(Failed, forKey: .Failed) }
        }
    }

    struct ChangeMessageVisibilityInput: Decodable {
        var QueueUrl: String
        var ReceiptHandle: String
        var VisibilityTimeout: Int
    }

    struct ChangeMessageVisibilityBatchEntry: Decodable {
        var Id: String
        var ReceiptHandle: String
        var VisibilityTimeout: Int?
    }

    struct ChangeMessageVisibilityBatchInput: Decodable {
        var QueueUrl: String
        var Entries: [ChangeMessageVisibilityBatchEntry]
    }

    struct ListDeadLetterSourceQueuesInput: Decodable {
        var QueueUrl: String
        var NextToken: String?
        var MaxResults: Int?
    }

    struct ListDeadLetterSourceQueuesOutput: Encodable {
        var queueUrls: [String]
        var NextToken: String?
    }

    struct StartMessageMoveTaskInput: Decodable {
        var SourceArn: String
        var DestinationArn: String?
        var MaxNumberOfMessagesPerSecond: Int?
    }

    struct StartMessageMoveTaskOutput: Encodable { var TaskHandle: String }

    struct ListMessageMoveTasksInput: Decodable {
        var SourceArn: String
        var MaxResults: Int?
    }

    struct MoveTaskResult: Encodable {
        var TaskHandle: String?
        var Status: String
        var SourceArn: String
        var DestinationArn: String?
        var MaxNumberOfMessagesPerSecond: Int?
        var ApproximateNumberOfMessagesMoved: Int
        var ApproximateNumberOfMessagesToMove: Int?
        var FailureReason: String?
        var StartedTimestamp: Int64
    }

    struct ListMessageMoveTasksOutput: Encodable { var Results: [MoveTaskResult] }

    struct CancelMessageMoveTaskInput: Decodable { var TaskHandle: String }

    struct CancelMessageMoveTaskOutput: Encodable { var ApproximateNumberOfMessagesMoved: Int }
}
