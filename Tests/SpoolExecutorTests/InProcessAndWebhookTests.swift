import Foundation
import Hummingbird
import NIOCore
import SpoolExecutor
import SpoolModel
import Testing

@Suite("In-process and webhook executors")
struct InProcessAndWebhookTests {
    struct Failure: Error, CustomStringConvertible {
        var description: String { "it broke" }
    }

    func definition(_ name: String, executor: FunctionDefinition.ExecutorKind, timeout: Int = 3, url: String? = nil) -> FunctionDefinition {
        FunctionDefinition(name: name, executor: executor, timeoutSeconds: timeout, webhookURL: url, revisionID: "r", lastModified: 0)
    }

    func request(_ definition: FunctionDefinition, _ payload: String = "{}") -> InvocationRequest {
        InvocationRequest(requestID: "rid", function: definition, invokedFunctionARN: "arn", payload: ByteBuffer(string: payload))
    }

    @Test("an in-process closure's result, thrown error and timeout become the three outcomes")
    func inProcess() async throws {
        let executor = InProcessExecutor(handlers: [
            "echo": { payload, context in
                context.log("echoing")
                return payload
            },
            "fail": { _, _ in throw Failure() },
            "hang": { _, _ in
                try await Task.sleep(for: .seconds(60))
                return ByteBuffer()
            },
        ])
        let ok = await executor.invoke(request(definition("echo", executor: .inProcess), #"{"a":1}"#))
        #expect(ok.status == .success && String(buffer: ok.payload) == #"{"a":1}"#)
        #expect(ok.log.contains("echoing") && ok.log.contains("REPORT RequestId: rid"))
        let failed = await executor.invoke(request(definition("fail", executor: .inProcess)))
        #expect(failed.status == .functionError(type: "Failure"))
        #expect(String(buffer: failed.payload).contains("it broke"))
        let hung = await executor.invoke(request(definition("hang", executor: .inProcess, timeout: 1)))
        #expect(hung.status == .timedOut)
        let missing = await executor.invoke(request(definition("none", executor: .inProcess)))
        #expect(missing.status == .systemFailure(.spawnFailed))
    }

    @Test("a webhook's 2xx is success, another status a function error, no listener a system failure, silence a timeout")
    func webhook() async throws {
        let router = Router()
        router.post("/ok") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            return Response(status: .ok, body: .init(byteBuffer: body))
        }
        router.post("/teapot") { _, _ -> Response in Response(status: .init(code: 418), body: .init(byteBuffer: ByteBuffer(string: "short and stout"))) }
        router.post("/slow") { _, _ -> Response in
            try await Task.sleep(for: .seconds(5))
            return Response(status: .ok)
        }
        let port = AsyncStream<Int>.makeStream()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { port.continuation.yield($0.localAddress?.port ?? 0) })
        let server = Task { try await app.run() }
        var iterator = port.stream.makeAsyncIterator()
        let bound = try #require(await iterator.next())
        let executor = WebhookExecutor()
        let base = "http://127.0.0.1:\(bound)"
        let ok = await executor.invoke(request(definition("w", executor: .webhook, url: base + "/ok"), #"{"x":2}"#))
        #expect(ok.status == .success && String(buffer: ok.payload) == #"{"x":2}"# && ok.httpStatus == 200)
        let teapot = await executor.invoke(request(definition("w", executor: .webhook, url: base + "/teapot")))
        #expect(teapot.status == .functionError(type: "Function.WebhookError") && teapot.httpStatus == 418)
        #expect(String(buffer: teapot.payload).contains("short and stout"))
        let slow = await executor.invoke(request(definition("w", executor: .webhook, timeout: 1, url: base + "/slow")))
        #expect(slow.status == .timedOut)
        server.cancel()
        let closed = await executor.invoke(request(definition("w", executor: .webhook, url: "http://127.0.0.1:1/none")))
        #expect(closed.status == .systemFailure(.unreachable))
    }

    @Test("a log tail is the last 4 KB, cut on a character boundary")
    func tail() {
        let log = String(repeating: "é", count: 3000)
        let tail = InvocationLog.tail(log, limit: 4097)
        #expect(tail.utf8.count <= 4097)
        #expect(tail.allSatisfy { $0 == "é" })
    }
}
