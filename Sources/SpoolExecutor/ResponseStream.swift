import NIOCore
import Synchronization

/// Where a streamed response goes while the function writes it (InvokeWithResponseStream): a runtime that answers in
/// Lambda's streaming mode (`Lambda-Runtime-Function-Response-Mode: streaming`) has each chunk handed on as it
/// arrives; the caller reads them from `chunks`, which ends when the invocation has ended.
public final class ResponseStream: Sendable {
    public let chunks: AsyncStream<ByteBuffer>
    private let continuation: AsyncStream<ByteBuffer>.Continuation
    private let streamedBytes = Atomic<Int>(0)
    private let declaredType = Mutex<String?>(nil)

    /// The `Content-Type` the runtime sent with its streamed response (a function URL reads an HTTP prelude when it is
    /// `application/vnd.awslambda.http-integration-response`).
    public var contentType: String? {
        get { declaredType.withLock { $0 } }
        set { declaredType.withLock { $0 = newValue } }
    }

    public init() {
        (chunks, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
    }

    /// Hands one chunk on.
    public func yield(_ chunk: ByteBuffer) {
        guard chunk.readableBytes > 0 else { return }
        streamedBytes.add(chunk.readableBytes, ordering: .relaxed)
        continuation.yield(chunk)
    }

    /// Whether the function streamed anything (else its response comes whole, with the outcome).
    public var streamed: Bool { streamedBytes.load(ordering: .relaxed) > 0 }

    /// The invocation ended: `chunks` ends after what was handed on.
    public func finish() {
        continuation.finish()
    }
}
