import NIOCore
import SpoolModel

/// One invocation handed to an executor.
public struct InvocationRequest: Sendable {
    /// The request id the caller sees and the runtime receives as `Lambda-Runtime-Aws-Request-Id`.
    public var requestID: String
    /// The function as it was when the invocation started.
    public var function: FunctionDefinition
    /// The ARN as invoked, with its qualifier if the caller gave one.
    public var invokedFunctionARN: String
    /// The event, JSON bytes.
    public var payload: ByteBuffer
    /// `X-Amz-Client-Context` decoded from base64: raw JSON handed to the runtime.
    public var clientContext: String?
    /// An X-Ray trace header, `Root=1-…;Parent=…;Sampled=0`.
    public var traceID: String
    /// The caller reads the invocation's log (`LogType: Tail`): lines the function prints after its
    /// response must be waited for. Without it the answer returns as soon as the response arrived.
    public var logTail: Bool
    /// What started it, for the journal and the metrics.
    public var origin: JournalEntry.Origin
    /// Records in the event: 1, or a mapping batch's size.
    public var batchSize: Int
    /// InvokeWithResponseStream: where a runtime's streamed response goes as it is written.
    public var responseStream: ResponseStream?

    public init(requestID: String, function: FunctionDefinition, invokedFunctionARN: String, payload: ByteBuffer,
                clientContext: String? = nil, traceID: String = TraceID.make(), logTail: Bool = false,
                origin: JournalEntry.Origin = .sync, batchSize: Int = 1) {
        self.batchSize = batchSize
        self.logTail = logTail
        self.origin = origin
        self.requestID = requestID
        self.function = function
        self.invokedFunctionARN = invokedFunctionARN
        self.payload = payload
        self.clientContext = clientContext
        self.traceID = traceID
    }
}

/// X-Ray trace headers in the format runtimes copy into `_X_AMZN_TRACE_ID`.
public enum TraceID {
    /// `Root=1-<8 hex seconds>-<24 hex>;Parent=<16 hex>;Sampled=0`.
    public static func make(now: Millis = WallClock().now()) -> String {
        func hex(_ count: Int) -> String {
            String((0..<count).map { _ in "0123456789abcdef".randomElement()! })
        }
        return "Root=1-\(String(now / 1000, radix: 16))-\(hex(24));Parent=\(hex(16));Sampled=0"
    }
}
