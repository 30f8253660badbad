import Foundation
import NIOCore
import NIOHTTP1
import SpoolExecutor
import SpoolHTTP
import SpoolModel
import SpoolServer
import ZIPFoundation

/// The backlog and process-executor scenarios.
extension BenchRun {
    func backlog(_ report: inout ScenarioReport) async throws {
        let small = min(10_000, max(records / 10, 100))
        // The claim rate is measured over the same deliveries in both runs: from the 10th to the 60th
        // percent of the small backlog, so that start-up and the small backlog's last events do not count.
        let window = (small / 10, small * 6 / 10)
        var rates: [Int: Double] = [:]
        for waiting in [small, records] {
            try await withServer { target in
                try await holdBacklog(target)
                let fill = await BenchLoad.closed(workers: connections, seconds: 3_600, operations: waiting) { _, _ in
                    try await invokeEvent(target, BenchProbe.holdFunctionName, stamped: false)
                    return 1
                }
                guard fill.errors == 0 else { throw BenchTarget.Failure(description: "filling the backlog failed \(fill.errors) times") }
                let filledUsage = try await target.usage()
                let clock = ContinuousClock()
                let ((first, last), server) = try await target.measured {
                    try await releaseBacklog(target)
                    var marks: [(count: Int, at: ContinuousClock.Instant)] = []
                    _ = try await BenchLoad.until(timeout: 600, interval: 0.005) {
                        let count = try await target.probe().invocations
                        marks.append((count, clock.now))
                        return count >= window.1
                    }
                    let first = marks.first { $0.count >= window.0 } ?? marks[0]
                    return (first, marks[marks.count - 1])
                }
                let seconds = BenchLoad.elapsed(last.at - first.at)
                let rate = seconds > 0 ? Double(last.count - first.count) / seconds : 0
                rates[waiting] = rate
                var row = BenchRow(label: "\(waiting) waiting", unit: "events", count: last.count - first.count, seconds: seconds, rate: rate,
                                   latencyOf: nil, latency: nil, server: server)
                row.extra = ["fill events/s": fill.rate, "RSS with backlog MiB": Double(filledUsage.residentBytes) / 1_048_576,
                             "peak RSS after fill MiB": Double(filledUsage.peakResidentBytes) / 1_048_576]
                report.rows.append(row)
            }
        }
        if let low = rates[small], let high = rates[records], low > 0 {
            report.notes.append(String(format: "claim rate with %d waiting is %.0f%% of the rate with %d waiting", records, high / low * 100, small))
        }
        report.notes.append("events filled into spool-bench-hold held at reserved concurrency 1, then released; rate over deliveries \(window.0)-\(window.1)")
    }

    func processExecutor(_ report: inout ScenarioReport) async throws {
        let cold = duration >= 5 ? 5 : 2
        var functions: [(runtime: String, handler: String, files: [(String, String, Int)])] = [
            ("python3.12", "app.handler", [("app.py", "def handler(event, context):\n    return None\n", 0o644)]),
            ("provided.al2023", "function.handler", [("bootstrap", Self.bootstrap, 0o755)]),
        ]
        // The Node.js a server started from this environment runs `nodejsNN.x` functions under (`functions.node`).
        if let major = await NodeInstallations.detect(node: "node", mapped: [:]).configured?.major {
            functions.append(("nodejs\(major).x", "index.handler", [("index.mjs", "export const handler = async () => null;\n", 0o644)]))
        } else {
            report.notes.append("no node on PATH: the Node.js function was left out")
        }
        try await withServer { target in
            for (runtime, handler, files) in functions {
                let name = "bench-\(runtime.replacingOccurrences(of: ".", with: "-"))-\(UUID().uuidString.prefix(6))"
                // One full vCPU (1,769 MB): in the sandbox a smaller size's CPU quota, not the executor, would be measured.
                try await target.lambda(.POST, "/2015-03-31/functions", [
                    "FunctionName": name, "Runtime": runtime, "Role": "arn:aws:iam::000000000000:role/bench",
                    "Handler": handler, "Timeout": 30, "MemorySize": Self.functionMemoryMB,
                    "Code": ["ZipFile": try Self.zip(files).base64EncodedString()],
                ])
                var coldLatencies: [Int64] = []
                var initDurations: [Double] = []
                for sample in 0..<cold {
                    // A configuration change retires the warm environment: the next invoke starts a new one.
                    try await target.lambda(.PUT, "/2015-03-31/functions/\(name)/configuration", ["Environment": ["Variables": ["BENCH_SAMPLE": "\(sample)"]]])
                    let (elapsed, report) = try await invokeSync(target, name)
                    coldLatencies.append(elapsed)
                    if let value = Self.reportValue("Init Duration", in: report) { initDurations.append(value) }
                }
                var coldRow = BenchRow(label: "\(runtime) cold start", unit: "invokes", count: cold, seconds: Double(coldLatencies.reduce(0, +)) / 1e9,
                                       rate: 0, latencyOf: "Invoke", latency: LatencySummary(nanoseconds: coldLatencies))
                coldRow.rate = coldRow.seconds > 0 ? Double(cold) / coldRow.seconds : 0
                coldRow.extra = ["init duration p50 ms": initDurations.sorted().dropFirst(initDurations.count / 2).first ?? 0]
                report.rows.append(coldRow)
                let durations = AgeSamples()
                let latencies = AgeSamples()
                let tailLatencies = AgeSamples()
                let (warm, server) = try await target.measured {
                    await BenchLoad.closed(workers: 1, seconds: duration) { _, _ in
                        // A pause before each invoke, so that the environment is idle and waiting for its next
                        // event, as a warm environment between events is (a shell bootstrap needs a while to get
                        // back to it). One plain invoke (what a caller waits), then one with LogType Tail for the
                        // handler's own Duration from the REPORT line.
                        try await Task.sleep(for: .milliseconds(Self.warmPauseMillis))
                        let (elapsed, _) = try await invokeSync(target, name, tail: false)
                        latencies.add(Int(elapsed))
                        try await Task.sleep(for: .milliseconds(Self.warmPauseMillis))
                        let (tailElapsed, report) = try await invokeSync(target, name, tail: true)
                        tailLatencies.add(Int(tailElapsed))
                        durations.add(Int((Self.reportValue("Duration", in: report) ?? 0) * 1_000_000))
                        return 1
                    }
                }
                var warmRow = row("\(runtime) warm", unit: "invokes", warm, latencyOf: "Invoke", server: server)
                warmRow.latency = LatencySummary(nanoseconds: latencies.sorted.map(Int64.init))
                warmRow.rate = 0
                let handler = LatencySummary(nanoseconds: durations.sorted.map(Int64.init))
                let tail = LatencySummary(nanoseconds: tailLatencies.sorted.map(Int64.init))
                if let latency = warmRow.latency, let handler, let tail {
                    warmRow.extra = ["added p50 ms": latency.p50 - handler.p50, "added p99 ms": latency.p99 - handler.p50,
                                     "handler Duration p50 ms": handler.p50, "with LogType Tail p50 ms": tail.p50]
                }
                report.rows.append(warmRow)
            }
        }
        report.notes.append("warm: one invoke at a time, each \(Self.warmPauseMillis) ms after the last answer (rate not meaningful)")
        report.notes.append("added: the Invoke latency minus the handler's Duration (REPORT line of the LogType Tail invokes, p50)")
        report.notes.append("functions of \(Self.functionMemoryMB) MB (one vCPU in the sandbox)")
    }

    /// The functions' memory size: one full vCPU under the sandbox's CPU quota.
    static let functionMemoryMB = 1769

    /// The pause before each warm invoke.
    static let warmPauseMillis = 50

    /// A synchronous Invoke, with `LogType: Tail` when `tail`: the latency in nanoseconds and the log's text.
    func invokeSync(_ target: BenchTarget, _ name: String, tail: Bool = true) async throws -> (Int64, String) {
        let clock = ContinuousClock()
        let started = clock.now
        let answer = try await target.request(.POST, "/2015-03-31/functions/\(name)/invocations", headers: [("X-Amz-Log-Type", tail ? "Tail" : "None")],
                                              body: ByteBuffer(string: #"{"k":1}"#))
        let elapsed = BenchLoad.nanoseconds(clock.now - started)
        guard answer.status == 200, answer.headers["X-Amz-Function-Error"].isEmpty else {
            throw BenchTarget.Failure(description: "Invoke of \(name) answered \(answer.status): \(String(buffer: answer.body))")
        }
        let log = answer.headers["X-Amz-Log-Result"].first.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) } ?? ""
        return (elapsed, log)
    }

    /// A `name: 1.23 ms` figure of a REPORT line.
    static func reportValue(_ name: String, in log: String) -> Double? {
        guard let line = log.split(separator: "\n").last(where: { $0.hasPrefix("REPORT") }) else { return nil }
        for field in line.split(separator: "\t") where field.hasPrefix("\(name): ") {
            return Double(field.dropFirst(name.count + 2).split(separator: " ").first ?? "")
        }
        return nil
    }

    /// The classic `provided` bootstrap: a shell loop over the Runtime API with curl.
    static let bootstrap = """
    #!/bin/sh
    set -eu
    API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
    while true; do
      HEADERS="$(mktemp)"
      EVENT="$(curl -sS -LD "$HEADERS" "$API/invocation/next")"
      ID="$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)"
      rm -f "$HEADERS"
      curl -sS -X POST "$API/invocation/$ID/response" -d "null" >/dev/null
    done
    """

    static func zip(_ files: [(String, String, Int)]) throws -> Data {
        let archive = try Archive(accessMode: .create)
        for (path, text, mode) in files {
            let data = Data(text.utf8)
            try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count), permissions: UInt16(mode), compressionMethod: .deflate) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        guard let data = archive.data else { throw BenchTarget.Failure(description: "cannot build the function package") }
        return data
    }
}
