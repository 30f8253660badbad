import Logging
import ServiceLifecycle
import SpoolHTTP
import SpoolStorage

/// Measures the backlog and the process's memory every `interval` and opens or closes intake accordingly.
struct IntakeMonitor: Service {
    let store: any BacklogStore
    let limits: IntakeLimits
    let interval: Duration
    let logger: Logger

    /// Takes one measurement; logs when a limit starts or stops refusing intake.
    func measure() async {
        do {
            let backlog = try await store.backlog()
            let resident = ProcessUsage.residentBytes()
            let wasRefusing = limits.refusing
            limits.update(asyncEvents: backlog.asyncEvents, queueMessages: backlog.queueMessages, streamRecords: backlog.streamRecords,
                          residentBytes: resident)
            if limits.refusing != wasRefusing {
                let metadata: Logger.Metadata = ["asyncEvents": "\(backlog.asyncEvents)", "queueMessages": "\(backlog.queueMessages)",
                                                 "streamRecords": "\(backlog.streamRecords)",
                                                 "residentMB": "\(resident / 1_048_576)"]
                if limits.refusing { logger.warning("intake limit reached: refusing new work with 429", metadata: metadata) }
                else { logger.notice("intake open again", metadata: metadata) }
            }
        } catch {
            // Reads keep working on a full disk; if they fail too, keep the last measurement.
            logger.debug("backlog measurement failed", metadata: ["error": "\(error)"])
        }
    }

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await measure()
            try? await Task.sleep(for: interval)
        }
    }
}
