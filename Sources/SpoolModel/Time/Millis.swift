import Foundation

/// Integer Unix milliseconds, the one time unit stored and passed between layers.
public typealias Millis = Int64

/// Where the current time comes from. Injected so tests can move time by hand.
public protocol SpoolClock: Sendable {
    /// The current wall-clock time in Unix milliseconds.
    func now() -> Millis
}

/// The real wall clock.
public struct WallClock: SpoolClock {
    public init() {}
    public func now() -> Millis {
        Millis((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }
}
