import Logging
import PostgresNIO
import ServiceLifecycle
import SpoolSignals
import Synchronization

/// Wake-ups across the nodes of a cluster, over PostgreSQL's `LISTEN/NOTIFY`: what one node signals (a message sent, an
/// event accepted, a mapping changed) reaches the others at once, so their long polls, dispatchers and pollers need
/// not poll. Topics are short strings (`q:ID`, `f:NAME`…); published ones are gathered while one notification is
/// on its way and sent together, so a node under load sends one notification per round trip, not one per request.
/// A node ignores its own notifications. Polling stays as the safety net: a notification lost while a listener
/// reconnects only delays work.
package final class PostgresWakeups: Service, Sendable {
    static let channel = "spool_wakeups"
    /// PostgreSQL's payloads are at most 8,000 bytes.
    static let payloadLimit = 7_900

    let store: PostgresStore
    let logger: Logger
    let pending = Mutex<Set<String>>([])
    let published = WakeSignal()
    let handler = Relay<[String]>()

    package init(store: PostgresStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Tells the other nodes about `topic`.
    package func publish(_ topic: String) {
        let first = pending.withLock { $0.insert(topic).inserted && $0.count == 1 }
        if first { published.signal() }
    }

    /// What to do with the topics other nodes publish.
    package func onReceive(_ receive: @escaping @Sendable ([String]) -> Void) {
        handler.connect(receive)
    }

    package func run() async throws {
        // Ends quietly at shutdown: a service that throws would cut the others' shutdown short.
        try? await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.send() }
                group.addTask { await self.listen() }
            }
        }
    }

    private func send() async {
        while !Task.isCancelled {
            let seen = published.generation
            let topics = pending.withLock { topics in
                defer { topics = [] }
                return topics
            }
            if topics.isEmpty {
                await published.wait(seen: seen, timeout: .seconds(5))
                continue
            }
            for payload in Self.payloads(node: store.nodeID, topics: topics.sorted()) {
                do {
                    _ = try await store.client.query("SELECT pg_notify(\(Self.channel), \(payload))", logger: statementLogger).collect()
                } catch {
                    if Task.isCancelled { return }
                    logger.debug("cannot send wake-ups; the other nodes will find the work by polling", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// `NODE\ntopic\ntopic…`, split to fit PostgreSQL's payload limit.
    static func payloads(node: String, topics: [String]) -> [String] {
        var payloads: [String] = []
        var current = node
        for topic in topics {
            if current.utf8.count + topic.utf8.count + 1 > payloadLimit, current != node {
                payloads.append(current)
                current = node
            }
            current += "\n" + topic
        }
        if current != node { payloads.append(current) }
        return payloads
    }

    private func listen() async {
        while !Task.isCancelled {
            do {
                try await store.client.withConnection { connection in
                    try await connection.listen(on: Self.channel) { notifications in
                        self.logger.debug("listening for other nodes' wake-ups")
                        for try await notification in notifications { self.received(notification.payload) }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("wake-ups from other nodes interrupted; listening again", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func received(_ payload: String) {
        var lines = payload.split(separator: "\n").map(String.init)
        guard !lines.isEmpty, lines.removeFirst() != store.nodeID else { return }
        handler(lines)
    }
}
