import Logging
import ServiceLifecycle
import SpoolModel
import SpoolStorage

/// Carries out running message move tasks, within each task's rate, and sleeps while none runs.
package struct MoveTaskRunner: Service {
    let queues: QueueService
    let chunkLimit: Int
    let logger: Logger

    /// - Parameter chunkLimit: the most messages one task moves in one transaction.
    package init(queues: QueueService, chunkLimit: Int = 100, logger: Logger = Logger(label: "spool.move-tasks")) {
        self.queues = queues
        self.chunkLimit = chunkLimit
        self.logger = logger
    }

    package func run() async throws {
        let signals = queues.signals
        let channel = QueueService.moveTaskChannel
        await cancelWhenGracefulShutdown {
            var failures = 0
            while !Task.isCancelled {
                let seen = signals.generation(channel)
                var sleep: Millis = 60_000
                do {
                    let progress = try await queues.store.runMoveTasks(
                        RunMoveTasksParams(chunkLimit: chunkLimit, identity: queues.identity, now: queues.clock.now())
                    )
                    for queue in progress.destinationQueueIDs { signals.signal(queue) }
                    failures = 0
                    if progress.hasRunningTasks, let next = progress.nextRunAt {
                        sleep = max(0, next - queues.clock.now())
                    }
                } catch {
                    logger.error("move task pass failed", metadata: ["error": "\(error)"])
                    failures += 1
                    sleep = ErrorBackoff().delay(failures: failures, unit: Double.random(in: 0..<1))
                }
                if sleep == 0 { await Task.yield(); continue }
                await signals.wait(channel, seen: seen, timeoutMillis: sleep)
            }
        }
    }
}
