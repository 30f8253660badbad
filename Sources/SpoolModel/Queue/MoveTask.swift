import Foundation
/// A message move task: moves the messages of a dead-letter queue to a destination queue, or back to
/// each message's own source queue when no destination is given.
public struct MoveTask: Sendable, Equatable {
    /// Who moves a task between states: StartMessageMoveTask creates it `running`; the move runner
    /// marks it `completed` once nothing eligible is left, or `failed` when a destination disappears;
    /// CancelMessageMoveTask marks a running task `cancelled`.
    public enum Status: String, Sendable, CaseIterable {
        case running = "RUNNING"
        case completed = "COMPLETED"
        case cancelling = "CANCELLING"
        case cancelled = "CANCELLED"
        case failed = "FAILED"
    }

    public var handle: String
    public var sourceARN: String
    public var destinationARN: String?
    public var maxNumberOfMessagesPerSecond: Int?
    public var status: Status
    public var moved: Int
    public var toMove: Int
    public var failureReason: String?
    public var startedAt: Millis

    public init(
        handle: String, sourceARN: String, destinationARN: String?, maxNumberOfMessagesPerSecond: Int?,
        status: Status, moved: Int, toMove: Int, failureReason: String?, startedAt: Millis
    ) {
        self.handle = handle
        self.sourceARN = sourceARN
        self.destinationARN = destinationARN
        self.maxNumberOfMessagesPerSecond = maxNumberOfMessagesPerSecond
        self.status = status
        self.moved = moved
        self.toMove = toMove
        self.failureReason = failureReason
        self.startedAt = startedAt
    }
}

/// A move task's handle as SQS makes them: base64 of `{"taskId":"…","sourceArn":"…"}`.
public enum MoveTaskHandle {
    public static func make(taskID: String, sourceARN: String) -> String {
        let json = #"{"taskId":"\#(taskID)","sourceArn":"\#(sourceARN)"}"#
        return Data(json.utf8).base64EncodedString()
    }

    /// Whether `handle` is one SQS could have made (or one an earlier Spool made: base64 of `ID|ARN`); anything else
    /// is refused as an invalid parameter, not looked up.
    public static func isWellFormed(_ handle: String) -> Bool {
        guard let data = Data(base64Encoded: handle) else { return false }
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            return object["taskId"] is String && object["sourceArn"] is String
        }
        let text = String(decoding: data, as: UTF8.self)
        return text.split(separator: "|").count == 2 && text.contains("arn:aws:sqs:")
    }
}
