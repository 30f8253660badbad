import ArgumentParser
import Foundation
import NIOCore
import SpoolEngine

/// `spool tune`: AWS Lambda Power Tuning's method against a running server.
struct TuneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Find a function's best memory size: invoke it at each size, compare average duration and cost.",
        discussion: """
        For each memory size the server sets the function ($LATEST) to it, invokes it once to warm it up, then \
        INVOCATIONS times with the payload, one after another, and averages the billed duration and the cost at \
        Lambda's prices for the host's architecture. The function gets its own memory size back at the end, or the \
        best one with --apply. Tune a function that is not serving traffic: its invocations meanwhile run at the \
        size being measured.
        """)

    @OptionGroup var connection: Connection
    @Argument(help: "The function's name or ARN.") var function: String
    @Option(help: "The event every invocation gets (JSON).") var payload = "{}"
    @Option(help: "Memory sizes in MB, comma-separated.") var memory = "128,256,512,1024,1769,3008"
    @Option(help: "Invocations per memory size, after one warm-up.") var invocations = 10
    @Option(help: "cost, speed or balanced.") var strategy = "balanced"
    @Flag(help: "Leave the function at the best memory size.") var apply = false

    func run() async throws {
        guard let strategy = PowerTuning.Strategy(rawValue: strategy) else {
            throw ValidationError("--strategy must be cost, speed or balanced")
        }
        let sizes = try memory.split(separator: ",").map { text -> Int in
            guard let size = Int(text.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--memory takes sizes in MB like 128,256,512") }
            return size
        }
        let request = PowerTuner.Request(payload: payload, memorySizes: sizes, invocations: invocations, strategy: strategy, apply: apply)
        let path = "/spool/v1/functions/\(function.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? function)/tune"
        let result = try await connection.client.post(path, body: request, as: PowerTuning.self, timeout: .hours(6))
        if connection.json { return try Output.printJSON(result) }
        print(Self.report(result))
    }

    /// The table, the chart and the verdict.
    static func report(_ result: PowerTuning) -> String {
        let rows = result.points.map { point in
            [point.memoryMB == result.bestMemoryMB ? "\(point.memoryMB) *" : "\(point.memoryMB)", String(format: "%.2f", point.averageDurationMs),
             String(format: "%.1f", point.averageBilledDurationMs), String(format: "%.10f", point.averageCost),
             "\(point.invocations - point.errors)/\(point.invocations)"]
        }
        var lines = ["Tuned \(result.function) (\(result.architecture), \(result.invocationsPerSize) invocations per size, strategy \(result.strategy.rawValue))", ""]
        lines.append(Output.table(header: ["MEMORY MB", "AVG DURATION MS", "AVG BILLED MS", "AVG COST USD", "OK"], rows: rows))
        lines.append("")
        lines.append(contentsOf: chart(result))
        lines.append("")
        let best = result.points.first { $0.memoryMB == result.bestMemoryMB }
        lines.append("Best for \(result.strategy.rawValue): \(result.bestMemoryMB) MB"
            + (best.map { String(format: " (%.2f ms, $%.10f per invocation)", $0.averageDurationMs, $0.averageCost) } ?? ""))
        lines.append(result.applied ? "Applied: the function now has \(result.bestMemoryMB) MB (it had \(result.originalMemoryMB) MB)."
                                    : "The function keeps its \(result.originalMemoryMB) MB; run again with --apply to set \(result.bestMemoryMB) MB.")
        return lines.joined(separator: "\n")
    }

    /// Two bars per size, each scaled to its largest value: duration (#) and cost (=).
    static func chart(_ result: PowerTuning, width: Int = 40) -> [String] {
        let maxDuration = max(result.points.map(\.averageDurationMs).max() ?? 0, .leastNonzeroMagnitude)
        let maxCost = max(result.points.map(\.averageCost).max() ?? 0, .leastNonzeroMagnitude)
        let label = result.points.map { "\($0.memoryMB)".count }.max() ?? 4
        var lines = ["duration # (longest \(String(format: "%.2f", maxDuration)) ms)   cost = (highest $\(String(format: "%.10f", maxCost)))"]
        for point in result.points {
            let name = String(repeating: " ", count: label - "\(point.memoryMB)".count) + "\(point.memoryMB)"
            let duration = max(1, Int((point.averageDurationMs / maxDuration * Double(width)).rounded()))
            let cost = max(1, Int((point.averageCost / maxCost * Double(width)).rounded()))
            lines.append("\(name) MB |\(String(repeating: "#", count: duration))")
            lines.append(String(repeating: " ", count: label) + "    |\(String(repeating: "=", count: cost))")
        }
        return lines
    }
}
