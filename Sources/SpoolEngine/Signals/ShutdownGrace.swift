import SpoolSignals

/// The wait a stopping service gives the work it started.
enum ShutdownGrace {
    /// Waits until `running()` is 0 or `grace` has passed, looking again each time `signal` is raised (the work
    /// raises it as each piece ends); `true` if nothing is running.
    static func drained(within grace: Duration, signal: WakeSignal, running: () -> Int) async -> Bool {
        let deadline = ContinuousClock.now + grace
        while true {
            let seen = signal.generation
            guard running() > 0 else { return true }
            let now = ContinuousClock.now
            guard now < deadline else { return false }
            await signal.wait(seen: seen, timeout: deadline - now)
        }
    }
}
