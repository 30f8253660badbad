import Foundation

/// The Kinesis event Lambda hands a stream mapping's function (reference §4.2), written directly as JSON.
public enum KinesisEvent {
    /// One record of `Records[]`.
    public static func record(_ record: StreamRecord, sequenceNumber: String, streamARN: String, roleARN: String, region: String) -> String {
        let shardID = ShardMap.shardID(record.shardIndex)
        let data = record.data.base64EncodedString()
        // Appended into one reserved buffer: a chain of `+` made a new string per piece.
        var text = ""
        text.reserveCapacity(data.utf8.count + record.partitionKey.utf8.count + streamARN.utf8.count + roleARN.utf8.count + 400)
        for piece in [
            "{\"kinesis\":{\"kinesisSchemaVersion\":\"1.0\",\"partitionKey\":", JSONText.quoted(record.partitionKey),
            ",\"sequenceNumber\":\"", sequenceNumber, "\",\"data\":\"", data,
            "\",\"approximateArrivalTimestamp\":", JSONText.epochSeconds(record.arrivalMillis),
            "},\"eventSource\":\"aws:kinesis\",\"eventVersion\":\"1.0\",\"eventID\":\"", shardID, ":", sequenceNumber,
            "\",\"eventName\":\"aws:kinesis:record\",\"invokeIdentityArn\":", JSONText.quoted(roleARN),
            ",\"awsRegion\":", JSONText.quoted(region), ",\"eventSourceARN\":", JSONText.quoted(streamARN), "}",
        ] {
            text += piece
        }
        return text
    }

    /// What a tumbling-window invocation adds beside `Records` (reference §3.5).
    public struct Window: Sendable, Equatable {
        public var startMillis: Millis
        public var endMillis: Millis
        /// The state the previous invocation of this window returned, as JSON (`{}` for the first).
        public var state: String
        public var shardID: String
        public var isFinal: Bool
        public var terminatedEarly: Bool

        public init(startMillis: Millis, endMillis: Millis, state: String, shardID: String, isFinal: Bool, terminatedEarly: Bool = false) {
            self.startMillis = startMillis
            self.endMillis = endMillis
            self.state = state
            self.shardID = shardID
            self.isFinal = isFinal
            self.terminatedEarly = terminatedEarly
        }
    }

    /// `{"Records":[…]}`, with the window members when the mapping has tumbling windows.
    public static func event(_ records: [String], window: Window? = nil, streamARN: String) -> Data {
        // One buffer, sized up front: a batch can be megabytes.
        var data = Data(capacity: records.reduce(64) { $0 + $1.utf8.count + 1 } + (window.map { $0.state.utf8.count + 300 } ?? 0))
        data.append(contentsOf: #"{"Records":["#.utf8)
        for (index, record) in records.enumerated() {
            if index > 0 { data.append(UInt8(ascii: ",")) }
            data.append(contentsOf: record.utf8)
        }
        var text = "]"
        if let window {
            text += ",\"window\":{\"start\":\"" + InvocationRecord.iso8601(window.startMillis) + "\",\"end\":\""
            text += InvocationRecord.iso8601(window.endMillis) + "\"},\"state\":" + window.state
            text += ",\"shardId\":\"" + window.shardID + "\",\"eventSourceARN\":" + JSONText.quoted(streamARN)
            text += ",\"isFinalInvokeForWindow\":\(window.isFinal),\"isWindowTerminatedEarly\":\(window.terminatedEarly)"
        }
        data.append(contentsOf: (text + "}").utf8)
        return data
    }
}

/// The record Lambda sends to a stream mapping's on-failure destination for a batch it gave up on
/// (reference §3.5): metadata about the batch, not the records themselves.
public struct StreamFailureRecord: Sendable, Equatable {
    public enum Condition: String, Sendable {
        case retryAttemptsExhausted = "RetryAttemptsExhausted"
        case recordAgeExceeded = "RecordAgeExceeded"
    }

    public var requestID: String
    public var functionARN: String
    public var condition: Condition
    public var approximateInvokeCount: Int
    /// `Unhandled` after a function error; `nil` when the function was not called (`RecordAgeExceeded`).
    public var functionError: String?
    public var timestamp: Millis
    public var shardID: String
    public var startSequenceNumber: String
    public var endSequenceNumber: String
    public var firstArrival: Millis
    public var lastArrival: Millis
    public var batchSize: Int
    public var streamARN: String

    public init(requestID: String, functionARN: String, condition: Condition, approximateInvokeCount: Int, functionError: String?,
                timestamp: Millis, shardID: String, startSequenceNumber: String, endSequenceNumber: String, firstArrival: Millis,
                lastArrival: Millis, batchSize: Int, streamARN: String) {
        self.requestID = requestID
        self.functionARN = functionARN
        self.condition = condition
        self.approximateInvokeCount = approximateInvokeCount
        self.functionError = functionError
        self.timestamp = timestamp
        self.shardID = shardID
        self.startSequenceNumber = startSequenceNumber
        self.endSequenceNumber = endSequenceNumber
        self.firstArrival = firstArrival
        self.lastArrival = lastArrival
        self.batchSize = batchSize
        self.streamARN = streamARN
    }

    public func json() -> String {
        var text = "{\"requestContext\":{\"requestId\":\"\(requestID)\",\"functionArn\":" + JSONText.quoted(functionARN)
        text += ",\"condition\":\"\(condition.rawValue)\",\"approximateInvokeCount\":\(approximateInvokeCount)}"
        if condition == .retryAttemptsExhausted {
            text += ",\"responseContext\":{\"statusCode\":200,\"executedVersion\":\"$LATEST\""
            if let functionError { text += ",\"functionError\":" + JSONText.quoted(functionError) }
            text += "}"
        }
        text += ",\"version\":\"1.0\",\"timestamp\":\"\(InvocationRecord.iso8601(timestamp))\""
        text += ",\"KinesisBatchInfo\":{\"shardId\":\"\(shardID)\",\"startSequenceNumber\":\"\(startSequenceNumber)\""
        text += ",\"endSequenceNumber\":\"\(endSequenceNumber)\",\"approximateArrivalOfFirstRecord\":\"\(InvocationRecord.iso8601(firstArrival))\""
        text += ",\"approximateArrivalOfLastRecord\":\"\(InvocationRecord.iso8601(lastArrival))\",\"batchSize\":\(batchSize)"
        text += ",\"streamArn\":" + JSONText.quoted(streamARN) + "}}"
        return text
    }
}
