import Foundation
import SpoolEngine
import SpoolModel
import SpoolSQLite
import SpoolStorage
import SpoolTesting
import Synchronization
import Testing

@Suite("http(s) destinations: delivered only on 2xx, given up as dead letters")
struct DestinationDelivererTests {
    @Test("a record whose endpoint never answers is retried with back-off, then kept as a DestinationUnreachable dead letter")
    func givenUp() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-dd-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(directory: directory)
        let clock = TestClock()
        _ = try await store.createFunction(FunctionDefinition(name: "fn", executor: .inProcess, revisionID: "r", lastModified: 1))
        _ = try await store.enqueueInvocations(EnqueueInvocationsParams(
            invocations: [NewInvocation(requestID: "req-1", functionName: "fn", qualifier: nil, payload: "{}")], now: clock.now()))
        let claimed = try #require(try await store.claimInvocations(ClaimInvocationsParams(
            functionName: "fn", limit: 1, leaseUntil: clock.now() + 60_000, now: clock.now())).first)
        let endpoint = try Unavailable.start()
        defer { endpoint.stop() }
        let url = "http://127.0.0.1:\(endpoint.port)/hook"
        _ = try await store.settleInvocation(SettleInvocationParams(
            id: claimed.id, epoch: claimed.epoch, transition: .finish, effects: [.post(url: url, body: #"{"record":1}"#)],
            origin: EffectOrigin(requestID: "req-1", functionName: "fn", qualifier: nil, attempts: 1, enqueuedAt: claimed.enqueuedAt),
            now: clock.now()))
        let deliverer = DestinationDeliverer(store: store, policy: AsyncRetryPolicy(), clock: clock, maximumAge: 60_000)

        #expect(await deliverer.deliverDue() == 1)
        let retryAt = try #require(try await store.earliestDelivery())
        #expect(retryAt > clock.now(), "a 503 is retried later, with back-off")
        #expect(try await store.deadLetters(DeadLetterFilter(), afterID: 0, limit: 10).isEmpty, "not given up yet")

        clock.advance(by: 61_000)
        #expect(await deliverer.deliverDue() == 1)
        #expect(try await store.earliestDelivery() == nil, "given up: the outbox is empty")
        let letters = try await store.deadLetters(DeadLetterFilter(reason: .destinationUnreachable), afterID: 0, limit: 10)
        #expect(letters.count == 1)
        #expect(letters.first?.destination == url && letters.first?.payload == #"{"record":1}"# && letters.first?.requestID == "req-1")
        #expect(letters.first?.functionName == "fn" && letters.first?.attempts == 2)
        #expect(letters.first?.lastError?.errorType == "Spool.DestinationUnreachable" && letters.first?.lastError?.errorMessage == "HTTP 503")
        #expect(endpoint.requests.withLock { $0 } == 2, "each try reached the endpoint")
    }
}

/// A loopback HTTP endpoint that answers every request `503 Service Unavailable` and closes the connection.
final class Unavailable: Sendable {
    let port: Int
    let requests = Mutex(0)
    private let listener: Int32

    private init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(listener, 8) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// Starts answering on a thread of its own.
    static func start() throws -> Unavailable {
        let endpoint = try Unavailable()
        Thread.detachNewThread { endpoint.serve() }
        return endpoint
    }

    private func serve() {
            while true {
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { return }
                var buffer = [UInt8](repeating: 0, count: 65_536)
                var received = [UInt8]()
                // Read the request head and its body (Content-Length), then answer.
                while true {
                    let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
                    guard count > 0 else { break }
                    received += buffer[0..<count]
                    let text = String(decoding: received, as: UTF8.self)
                    if let end = text.range(of: "\r\n\r\n") {
                        let length = text.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                        if text.utf8.distance(from: end.upperBound.samePosition(in: text.utf8)!, to: text.utf8.endIndex) >= length { break }
                    }
                }
                self.requests.withLock { $0 += 1 }
                let answer = Array("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
                _ = answer.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, 0) }
                close(connection)
            }
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}
