import Foundation
import SpoolModel

/// The result of tuning a function's memory the way AWS Lambda Power Tuning does: for each memory size, the
/// average duration and billed duration of N invocations after a warm-up, their cost at Lambda's prices, and the
/// size the strategy picks.
package struct PowerTuning: Sendable, Codable, Equatable {
    /// What to optimize.
    package enum Strategy: String, Sendable, Codable, CaseIterable {
        /// The cheapest size (the faster one on a tie).
        case cost
        /// The fastest size (the cheaper one on a tie).
        case speed
        /// The lowest sum of cost and duration, each divided by its largest value among the sizes (weights 0.5).
        case balanced
    }

    /// One memory size's measurements.
    package struct Point: Sendable, Codable, Equatable {
        package var memoryMB: Int
        package var invocations: Int
        package var errors: Int
        package var averageDurationMs: Double
        /// Lambda bills each invocation's duration rounded up to the millisecond.
        package var averageBilledDurationMs: Double
        /// USD per invocation: billed GB-seconds at the architecture's price, plus the request price.
        package var averageCost: Double
    }

    package var function: String
    package var architecture: String
    package var strategy: Strategy
    package var invocationsPerSize: Int
    package var points: [Point]
    /// The size the strategy picks.
    package var bestMemoryMB: Int
    /// The memory size the function had before, and whether `bestMemoryMB` replaced it.
    package var originalMemoryMB: Int
    package var applied: Bool
    package var startedAt: Millis
    package var finishedAt: Millis

    /// The architecture functions run on here: the host's.
    package static var hostArchitecture: String {
        #if arch(arm64)
        "arm64"
        #else
        "x86_64"
        #endif
    }

    /// Lambda's prices (us-east-1, the first pricing tier): per GB-second by architecture, and per request.
    package static let pricePerGBSecond = ["x86_64": 0.0000166667, "arm64": 0.0000133334]
    package static let pricePerRequest = 0.0000002

    /// The cost of one invocation billed `billedMs` at `memoryMB`.
    package static func cost(billedMs: Double, memoryMB: Int, architecture: String) -> Double {
        billedMs / 1000 * Double(memoryMB) / 1024 * (pricePerGBSecond[architecture] ?? pricePerGBSecond["x86_64"]!) + pricePerRequest
    }

    /// The size `strategy` picks among `points` (those without a successful invocation left out).
    package static func best(of points: [Point], strategy: Strategy) -> Point? {
        let measured = points.filter { $0.invocations > $0.errors }
        guard let maxCost = measured.map(\.averageCost).max(), let maxDuration = measured.map(\.averageDurationMs).max() else { return nil }
        func score(_ point: Point) -> (Double, Double) {
            switch strategy {
            case .cost: return (point.averageCost, point.averageDurationMs)
            case .speed: return (point.averageDurationMs, point.averageCost)
            case .balanced:
                let value = 0.5 * point.averageCost / max(maxCost, .leastNonzeroMagnitude) + 0.5 * point.averageDurationMs / max(maxDuration, .leastNonzeroMagnitude)
                return (value, point.averageCost)
            }
        }
        return measured.min { score($0) < score($1) }
    }
}
