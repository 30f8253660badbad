import Synchronization
import SpoolModel

/// A clock that moves only when a test moves it.
public final class TestClock: SpoolClock {
    private let current: Mutex<Millis>

    public init(_ start: Millis = 1_700_000_000_000) {
        current = Mutex(start)
    }

    public func now() -> Millis { current.withLock { $0 } }

    /// Moves the clock forward by `millis`.
    public func advance(by millis: Millis) {
        current.withLock { $0 += millis }
    }
}
