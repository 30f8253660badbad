import Foundation
import Logging
import NIOCore
import SpoolExecutor
import SpoolModel
import Synchronization

/// Tunes a function's memory the way AWS Lambda Power Tuning does: at each memory size, one warm-up invocation (its
/// cold start is not counted), then N invocations of the same payload, one after another; their average duration,
/// billed duration and cost, and the size the strategy picks. `$LATEST` runs at each size in turn (its environments
/// restart at each change, as on Lambda) and gets its own size back at the end, or the best one with `apply`. The
/// last result per function is kept for the operator views.
package final class PowerTuner: Sendable {
    let registry: FunctionRegistry
    let invoker: FunctionInvoker
    let architecture: String
    let logger: Logger
    private let state = Mutex<(running: Set<String>, results: [String: PowerTuning])>(([], [:]))

    package init(registry: FunctionRegistry, invoker: FunctionInvoker, architecture: String = PowerTuning.hostArchitecture, logger: Logger = Logger(label: "spool.tune")) {
        self.registry = registry
        self.invoker = invoker
        self.architecture = architecture
        self.logger = logger
    }

    /// What `spool tune` asks for.
    package struct Request: Sendable, Codable {
        package var payload: String
        package var memorySizes: [Int]
        package var invocations: Int
        package var strategy: PowerTuning.Strategy
        package var apply: Bool

        package init(payload: String = "{}", memorySizes: [Int], invocations: Int, strategy: PowerTuning.Strategy = .balanced, apply: Bool = false) {
            self.payload = payload
            self.memorySizes = memorySizes
            self.invocations = invocations
            self.strategy = strategy
            self.apply = apply
        }
    }

    /// The most memory sizes and invocations per size one tuning runs.
    package static let maxSizes = 20
    package static let maxInvocations = 1_000

    /// The last tuning of `name` this node ran.
    package func last(_ name: String) -> PowerTuning? {
        state.withLock { $0.results[name] }
    }

    /// Runs a tuning of `reference` (`$LATEST`) to its end.
    package func tune(_ reference: FunctionReference, _ request: Request) async throws -> PowerTuning {
        if let qualifier = reference.qualifier, qualifier != "$LATEST" {
            throw SpoolError(.invalidParameterValue, "Only $LATEST can be tuned: a published version's memory size never changes.")
        }
        let sizes = request.memorySizes
        guard !sizes.isEmpty, sizes.count <= Self.maxSizes, Set(sizes).count == sizes.count else {
            throw SpoolError(.invalidParameterValue, "Give 1 to \(Self.maxSizes) different memory sizes.")
        }
        if let bad = sizes.first(where: { !FunctionLimits.memorySizeMB.contains($0) }) {
            throw SpoolError(.invalidParameterValue, "Memory size \(bad) MB is outside \(FunctionLimits.memorySizeMB.lowerBound)–\(FunctionLimits.memorySizeMB.upperBound) MB.")
        }
        guard (1...Self.maxInvocations).contains(request.invocations) else {
            throw SpoolError(.invalidParameterValue, "Invocations per memory size must be from 1 to \(Self.maxInvocations).")
        }
        guard (try? JSONSerialization.jsonObject(with: Data(request.payload.utf8), options: [.fragmentsAllowed])) != nil else {
            throw SpoolError(.invalidParameterValue, "The payload is not valid JSON.")
        }
        let original = try await registry.latest(reference.name)
        let name = original.name
        let claimed = state.withLock { state -> Bool in state.running.insert(name).inserted }
        guard claimed else { throw SpoolError(.resourceConflict, "Function \(AWSIdentity.plainName(name)) is being tuned already.") }
        defer { _ = state.withLock { $0.running.remove(name) } }

        let started = registry.clock.now()
        var points: [PowerTuning.Point] = []
        var failure: (any Error)?
        for size in sizes {
            do {
                points.append(try await measure(reference, memoryMB: size, request: request))
            } catch {
                failure = error
                break
            }
        }
        let best = PowerTuning.best(of: points, strategy: request.strategy)
        let keep = request.apply && failure == nil ? best?.memoryMB ?? original.memorySizeMB : original.memorySizeMB
        _ = try await registry.updateConfiguration(reference, settings: FunctionSettings(memorySizeMB: keep), revisionID: nil)
        if let failure { throw failure }
        guard let best else {
            throw SpoolError(.invalidParameterValue, "Every invocation failed at every memory size; fix the function or the payload first.")
        }
        let result = PowerTuning(function: AWSIdentity.plainName(name), architecture: architecture, strategy: request.strategy,
                                 invocationsPerSize: request.invocations, points: points, bestMemoryMB: best.memoryMB,
                                 originalMemoryMB: original.memorySizeMB, applied: request.apply,
                                 startedAt: started, finishedAt: registry.clock.now())
        state.withLock { $0.results[name] = result }
        logger.info("function tuned", metadata: ["function": "\(name)", "strategy": "\(request.strategy.rawValue)", "best": "\(best.memoryMB)",
                                                 "applied": "\(request.apply)"])
        return result
    }

    /// One memory size: the function set to it, a warm-up, then the measured invocations.
    private func measure(_ reference: FunctionReference, memoryMB: Int, request: Request) async throws -> PowerTuning.Point {
        _ = try await registry.updateConfiguration(reference, settings: FunctionSettings(memorySizeMB: memoryMB), revisionID: nil)
        _ = try await invoke(reference, request.payload)
        var durations: [Double] = []
        var errors = 0
        for _ in 0..<request.invocations {
            let outcome = try await invoke(reference, request.payload)
            if outcome.status != .success { errors += 1 }
            durations.append(outcome.durationMs ?? 0)
        }
        let billed = durations.map { $0.rounded(.up) }
        let averageBilled = billed.reduce(0, +) / Double(billed.count)
        return PowerTuning.Point(memoryMB: memoryMB, invocations: request.invocations, errors: errors,
                                 averageDurationMs: durations.reduce(0, +) / Double(durations.count), averageBilledDurationMs: averageBilled,
                                 averageCost: billed.map { PowerTuning.cost(billedMs: $0, memoryMB: memoryMB, architecture: architecture) }.reduce(0, +)
                                     / Double(billed.count))
    }

    private func invoke(_ reference: FunctionReference, _ payload: String) async throws -> InvocationOutcome {
        let request = FunctionInvoker.Request(function: reference, payload: ByteBuffer(string: payload), clientContext: nil,
                                              requestID: UUID().uuidString.lowercased())
        return try await invoker.invoke(request).outcome
    }
}
