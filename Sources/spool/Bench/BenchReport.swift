import Foundation

/// Percentiles of a set of latencies, in milliseconds.
struct LatencySummary: Codable, Sendable {
    var samples: Int
    var p50: Double
    var p90: Double
    var p99: Double
    var max: Double

    /// `nil` for no samples. `nanoseconds` need not be sorted.
    init?(nanoseconds: [Int64]) {
        guard !nanoseconds.isEmpty else { return nil }
        self.init(sortedMilliseconds: nanoseconds.sorted().map { Double($0) / 1e6 })
    }

    init?(sortedMilliseconds values: [Double]) {
        guard !values.isEmpty else { return nil }
        func at(_ fraction: Double) -> Double { values[min(values.count - 1, Int((Double(values.count - 1) * fraction).rounded()))] }
        samples = values.count
        p50 = at(0.50)
        p90 = at(0.90)
        p99 = at(0.99)
        max = values[values.count - 1]
    }
}

/// The server's side of one measurement.
struct ServerFigures: Codable, Sendable {
    var durability: String
    /// The server process's highest resident memory so far, in MiB.
    var peakRSSMiB: Double
    /// CPU seconds the server spent (user + system) during the measurement.
    var cpuSeconds: Double
}

/// One line of a scenario's table.
struct BenchRow: Codable, Sendable {
    var label: String
    /// What `rate` counts per second: requests, events, messages, records, invokes.
    var unit: String
    var count: Int
    var seconds: Double
    var rate: Double
    /// What `latency` measures, e.g. "request" or "ingest-to-start".
    var latencyOf: String?
    var latency: LatencySummary?
    var errors: Int = 0
    var server: ServerFigures?
    /// Figures particular to the scenario, by name.
    var extra: [String: Double] = [:]
}

/// One scenario's table.
struct ScenarioReport: Codable, Sendable {
    var scenario: String
    var description: String
    var rows: [BenchRow]
    var notes: [String] = []
}

/// Everything one `spool bench` run measured, as `--json` writes it.
struct BenchReport: Codable, Sendable {
    var version: String
    var date: String
    var machine: String
    var settings: [String: String]
    var scenarios: [ScenarioReport]
}

extension ScenarioReport {
    /// The human table: one line per row, with the extra figures under it.
    func rendered() -> String {
        var lines = ["== \(scenario): \(description)"]
        let header = ["", "rate", "count", "secs", "latency of", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "peak RSS", "CPU s", "durability"]
        var table = [header]
        for row in rows {
            table.append([
                row.label, "\(Self.number(row.rate)) \(row.unit)/s", "\(row.count)", String(format: "%.2f", row.seconds),
                row.latencyOf ?? "-",
                row.latency.map { String(format: "%.3f", $0.p50) } ?? "-", row.latency.map { String(format: "%.3f", $0.p90) } ?? "-",
                row.latency.map { String(format: "%.3f", $0.p99) } ?? "-", row.latency.map { String(format: "%.3f", $0.max) } ?? "-",
                "\(row.errors)", row.server.map { String(format: "%.1f MiB", $0.peakRSSMiB) } ?? "-",
                row.server.map { String(format: "%.2f", $0.cpuSeconds) } ?? "-", row.server?.durability ?? "-",
            ])
        }
        let widths = header.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
        for cells in table {
            lines.append(zip(cells, widths).enumerated().map { index, pair in
                index == 0 ? pair.0.padding(toLength: pair.1, withPad: " ", startingAt: 0) : String(repeating: " ", count: pair.1 - pair.0.count) + pair.0
            }.joined(separator: "  "))
        }
        for row in rows where !row.extra.isEmpty {
            lines.append("   \(row.label): " + row.extra.sorted { $0.key < $1.key }.map { "\($0.key) \(Self.number($0.value))" }.joined(separator: ", "))
        }
        for note in notes { lines.append("   note: \(note)") }
        return lines.joined(separator: "\n")
    }

    static func number(_ value: Double) -> String {
        if value >= 100 || value == value.rounded() { return String(Int(value.rounded())) }
        return String(format: value >= 10 ? "%.1f" : "%.2f", value)
    }
}
