import Foundation
import Synchronization

/// What a load run did: the work done, the time it took, each operation's latency.
struct LoadResult: Sendable {
    /// Units of work done (requests, events, messages …) as the operations reported them.
    var units = 0
    var operations = 0
    var errors = 0
    var seconds = 0.0
    var latencies: [Int64] = []

    var rate: Double { seconds > 0 ? Double(units) / seconds : 0 }
    var latency: LatencySummary? { LatencySummary(nanoseconds: latencies) }

    mutating func merge(_ other: LoadResult) {
        units += other.units
        operations += other.operations
        errors += other.errors
        latencies += other.latencies
    }
}

/// Drives concurrent workers, each doing one operation at a time.
enum BenchLoad {
    /// One operation of a worker: returns the units of work it did; throwing counts an error. `number`
    /// counts the operations of the whole load from 0 (in `paced`, the worker's own).
    typealias Operation = @Sendable (_ worker: Int, _ number: Int) async throws -> Int

    /// Every worker repeats its operation back to back until `seconds` passed, or until `operations`
    /// operations were started in all.
    static func closed(workers: Int, seconds: Double, operations: Int? = nil, _ operation: @escaping Operation) async -> LoadResult {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .milliseconds(Int64(seconds * 1_000))
        let issued = AtomicCounter()
        var result = await withTaskGroup(of: LoadResult.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var mine = LoadResult()
                    while clock.now < deadline {
                        let number = issued.increment()
                        if let operations, number >= operations { break }
                        let began = clock.now
                        do {
                            mine.units += try await operation(worker, number)
                        } catch {
                            mine.errors += 1
                            if mine.errors > 1_000 { break }
                        }
                        mine.latencies.append(nanoseconds(clock.now - began))
                        mine.operations += 1
                    }
                    return mine
                }
            }
            return await merged(&group)
        }
        result.seconds = elapsed(clock.now - start)
        return result
    }

    /// Operations start at a fixed total `rate` per second, spread over the workers, for `seconds`.
    /// A worker that falls behind its schedule starts its next operation at once.
    static func paced(workers: Int, rate: Double, seconds: Double, _ operation: @escaping Operation) async -> LoadResult {
        let clock = ContinuousClock()
        let start = clock.now
        let interval = Double(workers) / max(rate, 1)
        let count = Int(rate * seconds / Double(workers))
        var result = await withTaskGroup(of: LoadResult.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var mine = LoadResult()
                    let offset = interval * Double(worker) / Double(workers)
                    for iteration in 0..<max(count, 1) {
                        let due = start + .microseconds(Int64((offset + interval * Double(iteration)) * 1e6))
                        if due > clock.now { try? await Task.sleep(until: due, clock: clock) }
                        let began = clock.now
                        do {
                            mine.units += try await operation(worker, iteration)
                        } catch {
                            mine.errors += 1
                        }
                        mine.latencies.append(nanoseconds(clock.now - began))
                        mine.operations += 1
                    }
                    return mine
                }
            }
            return await merged(&group)
        }
        result.seconds = elapsed(clock.now - start)
        return result
    }

    /// Every worker's result, added up.
    private static func merged(_ group: inout TaskGroup<LoadResult>) async -> LoadResult {
        var all = LoadResult()
        for await part in group { all.merge(part) }
        return all
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    static func elapsed(_ duration: Duration) -> Double { Double(nanoseconds(duration)) / 1e9 }

    /// Waits, checking every `interval`, until `done` says so or `timeout` passes; returns whether it did.
    static func until(timeout: Double, interval: Double = 0.05, _ done: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1_000))
        while ContinuousClock.now < deadline {
            if try await done() { return true }
            try await Task.sleep(for: .milliseconds(Int64(interval * 1_000)))
        }
        return try await done()
    }
}

/// A counter shared by concurrent workers.
final class AtomicCounter: Sendable {
    private let value = Mutex(0)
    /// Returns the value before adding one.
    func increment() -> Int { value.withLock { value in defer { value += 1 }; return value } }
}
