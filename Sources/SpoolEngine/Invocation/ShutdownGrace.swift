/// The wait a stopping service gives the work it started.
enum ShutdownGrace {
    /// Waits until `running()` is 0 or `grace` has passed, looking every 20 ms; `true` if nothing is running.
    static func drained(within grace: Duration, running: () -> Int) async -> Bool {
        let deadline = ContinuousClock.now + grace
        while running() > 0 {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }
}
