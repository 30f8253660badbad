import NIOCore

/// What the runtime receives from `GET /runtime/invocation/next`.
struct RuntimeInvocation: Sendable {
    var requestID: String
    var deadlineMs: Int64
    var invokedFunctionARN: String
    var traceID: String
    var clientContext: String?
    var payload: ByteBuffer
}

/// How a runtime's `GET /runtime/invocation/next` ends.
enum RuntimeNext: Sendable {
    case invocation(RuntimeInvocation)
    /// The environment is shutting down.
    case shutdown
    /// Another `next` arrived while this one waited: the newer one gets the invocation, so that an invocation never
    /// goes to a request its runtime gave up on.
    case superseded
}

/// What a runtime or extension posted back for an invocation.
enum RuntimeResult: Sendable {
    case response(ByteBuffer)
    case error(type: String, payload: ByteBuffer)
    case responseTooLarge
}

/// An event for an extension's `GET /extension/event/next`.
struct ExtensionEvent: Sendable {
    var json: String
}
