import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A lean HTTP/1.1 client for load generation: keep-alive connections on NIO's HTTP codec, one request
/// at a time each, kept in a pool that grows to the number of concurrent callers.
///
/// A general client (AsyncHTTPClient) spends more CPU per request than the server under test does on a
/// no-op route; on a 2-core machine it would measure itself.
final class BenchConnectionPool: Sendable {
    private let host: String
    private let port: Int
    private let idle = Mutex<[BenchConnection]>([])

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    func request(_ head: HTTPRequestHead, body: ByteBuffer?) async throws -> BenchAnswer {
        let connection = try await checkOut()
        do {
            let answer = try await connection.send(head, body: body)
            idle.withLock { $0.append(connection) }
            return answer
        } catch {
            connection.close()
            throw error
        }
    }

    private func checkOut() async throws -> BenchConnection {
        if let connection = idle.withLock({ $0.popLast() }), connection.isActive { return connection }
        return try await BenchConnection.connect(host: host, port: port)
    }

    func close() {
        for connection in idle.withLock({ pool in defer { pool = [] }; return pool }) { connection.close() }
    }
}

/// An HTTP answer: status, headers, the whole body.
struct BenchAnswer: Sendable {
    var status: UInt
    var headers: HTTPHeaders
    var body: ByteBuffer
}

final class BenchConnection: Sendable {
    private let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    static func connect(host: String, port: Int) async throws -> BenchConnection {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(AnswerHandler())
                }
            }
            .connect(host: host, port: port).get()
        return BenchConnection(channel: channel)
    }

    var isActive: Bool { channel.isActive }

    func send(_ head: HTTPRequestHead, body: ByteBuffer?) async throws -> BenchAnswer {
        let promise = channel.eventLoop.makePromise(of: BenchAnswer.self)
        channel.writeAndFlush(AnswerHandler.Request(head: head, body: body, promise: promise), promise: nil)
        return try await promise.futureResult.get()
    }

    func close() {
        channel.close(promise: nil)
    }
}

/// Writes each request and completes its promise with the answer, in order.
private final class AnswerHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = Request
    typealias OutboundOut = HTTPClientRequestPart

    struct Request {
        var head: HTTPRequestHead
        var body: ByteBuffer?
        var promise: EventLoopPromise<BenchAnswer>
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private var waiting: [EventLoopPromise<BenchAnswer>] = []
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        waiting.append(request.promise)
        var head = request.head
        head.headers.replaceOrAdd(name: "Content-Length", value: "\(request.body?.readableBytes ?? 0)")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body = request.body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            guard let head, !waiting.isEmpty else { return }
            waiting.removeFirst().succeed(BenchAnswer(status: head.status.code, headers: head.headers, body: body))
            self.head = nil
            body = ByteBuffer()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(Failure(description: "the server closed the connection"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: any Error) {
        let promises = waiting
        waiting = []
        for promise in promises { promise.fail(error) }
    }
}
