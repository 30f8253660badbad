import Synchronization

/// A function connected once (when a server is wired together) and called many times from anywhere: where a part of
/// Spool also sends what it signals, in a cluster.
///
/// A closure kept directly in a `Mutex` (`Mutex<((String) -> Void)?>`) is re-abstracted each time `withLock` hands it
/// out through its `inout` argument and writes it back, wrapping it in one more thunk per call: calls get slower and
/// slower and the stack deeper. Here the closure lives in a struct, which `withLock` hands out as it is.
package final class Relay<Argument: Sendable>: Sendable {
    private struct Target: Sendable {
        let send: @Sendable (Argument) -> Void
    }

    private let target = Mutex<Target?>(nil)

    package init() {}

    /// Where calls go from now on.
    package func connect(_ send: @escaping @Sendable (Argument) -> Void) {
        target.withLock { $0 = Target(send: send) }
    }

    /// Sends `argument`, if something is connected.
    package func callAsFunction(_ argument: Argument) {
        target.withLock { $0 }?.send(argument)
    }
}
