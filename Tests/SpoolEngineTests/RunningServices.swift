import Logging
import ServiceLifecycle

/// Runs `services` in a service group around `body`, then shuts them down gracefully, whether `body` threw or not.
func withRunning(_ services: [any Service], _ body: () async throws -> Void) async throws {
    let group = ServiceGroup(services: services, logger: Logger(label: "test"))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            try await body()
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}
