import Foundation
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1
import SpoolServer

/// One `spool bench` run: its settings and the scenarios.
struct BenchRun: Sendable {
    let duration: Double
    let connections: Int
    let payloadBytes: Int
    let batchSizes: [Int]
    let records: Int
    let endpoint: String?
    let durability: String
    let idleSeconds: Double
    /// Servers run on PostgreSQL: a new database beside this one per server.
    let database: String?
    let nodes: Int

    init(options: BenchCommand) {
        idleSeconds = options.idleSeconds
        duration = options.duration
        connections = options.connections
        payloadBytes = options.payloadBytes
        batchSizes = options.batchSizes
        records = options.records
        endpoint = options.endpoint
        durability = options.durability
        database = options.database
        nodes = options.nodes
    }

    func run(_ scenario: BenchScenario) async throws -> ScenarioReport {
        var report = ScenarioReport(scenario: scenario.rawValue, description: scenario.summary, rows: [])
        switch scenario {
        case .httpBaseline: try await httpBaseline(&report)
        case .asyncIngest: try await asyncIngest(&report)
        case .asyncE2E: try await asyncE2E(&report)
        case .sqs: try await sqs(&report)
        case .queueMapping: try await queueMapping(&report)
        case .streamMapping: try await streamMapping(&report)
        case .backlog: try await backlog(&report)
        case .processExecutor: try await processExecutor(&report)
        case .idle: try await idle(&report)
        case .cluster: try await cluster(&report)
        }
        return report
    }

    // MARK: Servers and load

    /// Runs `body` against a fresh server of `durability` (or the `--endpoint` server), stopped afterwards.
    func withServer<T>(durability: String? = nil, _ body: (BenchTarget) async throws -> T) async throws -> T {
        let target = if let endpoint {
            try await BenchTarget.existing(endpoint)
        } else {
            try await BenchTarget.start(durability: durability ?? self.durability, database: database)
        }
        do {
            let value = try await body(target)
            await target.stop()
            return value
        } catch {
            await target.stop()
            throw error
        }
    }

    /// Seconds of unmeasured load before a measurement: connections opened, caches warm.
    var warmUp: Double { min(1, duration / 5) }

    /// A JSON event of `payloadBytes` bytes; with `stamped`, it starts with the send time for the probe.
    func event(stamped: Bool) -> ByteBuffer {
        let head = stamped ? #"{"t":\#(BenchProbe.wallMicros()),"p":""# : #"{"p":""#
        return ByteBuffer(string: head + String(repeating: "x", count: max(0, payloadBytes - head.utf8.count - 2)) + #""}"#)
    }

    /// An asynchronous Invoke of `function`; fails unless Lambda accepted it (202).
    func invokeEvent(_ target: BenchTarget, _ function: String, stamped: Bool) async throws {
        let answer = try await target.request(.POST, "/2015-03-31/functions/\(function)/invocations",
                                              headers: [("X-Amz-Invocation-Type", "Event")], body: event(stamped: stamped))
        guard answer.status == 202 else { throw BenchTarget.Failure(description: "Invoke answered \(answer.status): \(String(buffer: answer.body))") }
    }

    func row(_ label: String, unit: String, _ load: LoadResult, latencyOf: String?, server: ServerFigures?) -> BenchRow {
        BenchRow(label: label, unit: unit, count: load.units, seconds: load.seconds, rate: load.rate,
                 latencyOf: latencyOf, latency: load.latency, errors: load.errors, server: server)
    }

    // MARK: http-baseline, async-ingest, async-e2e

    func httpBaseline(_ report: inout ScenarioReport) async throws {
        try await withServer { target in
            let operation: BenchLoad.Operation = { _, _ in
                try await target.expect(.GET, "/health")
                return 1
            }
            _ = await BenchLoad.closed(workers: connections, seconds: warmUp, operation)
            let (load, server) = try await target.measured { await BenchLoad.closed(workers: connections, seconds: duration, operation) }
            report.rows.append(row("GET /health, \(connections) connections", unit: "requests", load, latencyOf: "request", server: server))
        }
    }

    func asyncIngest(_ report: inout ScenarioReport) async throws {
        // The events go to a function held at reserved concurrency 1 whose one invocation waits, so that
        // the server does nothing but accept them: the dispatcher is measured by async-e2e and backlog.
        // On PostgreSQL there is one level: the database's commit.
        for level in endpoint == nil && database == nil ? ["full", "normal"] : [durability] {
            try await withServer(durability: level) { target in
                try await holdBacklog(target)
                let operation: BenchLoad.Operation = { _, _ in
                    try await invokeEvent(target, BenchProbe.holdFunctionName, stamped: false)
                    return 1
                }
                _ = await BenchLoad.closed(workers: connections, seconds: warmUp, operation)
                let (load, server) = try await target.measured { await BenchLoad.closed(workers: connections, seconds: duration, operation) }
                let name = database == nil ? level.uppercased() : "POSTGRESQL"
                report.rows.append(row("\(name), \(connections) connections", unit: "events", load, latencyOf: "acknowledgement", server: server))
                let (idle, idleServer) = try await target.measured { await BenchLoad.closed(workers: 1, seconds: min(duration, 5), operation) }
                report.rows.append(row("\(name), 1 connection (idle)", unit: "events", idle, latencyOf: "acknowledgement", server: idleServer))
                try await releaseBacklog(target)
            }
        }
        report.notes.append("events go to spool-bench-hold at reserved concurrency 1, so they are stored but not run meanwhile")
    }

    /// Holds `spool-bench-hold`'s events in the store: reserved concurrency 1, its one invocation waiting.
    func holdBacklog(_ target: BenchTarget) async throws {
        try await target.resetProbe()
        try await target.lambda(.PUT, "/2017-10-31/functions/\(BenchProbe.holdFunctionName)/concurrency", ["ReservedConcurrentExecutions": 1])
    }

    /// Lets `spool-bench-hold` run everything waiting, as fast as the dispatcher can.
    func releaseBacklog(_ target: BenchTarget) async throws {
        try await target.lambda(.DELETE, "/2017-10-31/functions/\(BenchProbe.holdFunctionName)/concurrency")
        try await target.expect(.POST, "/spool/v1/bench/release")
    }

    func asyncE2E(_ report: inout ScenarioReport) async throws {
        try await withServer { target in
            let operation: BenchLoad.Operation = { _, _ in
                try await invokeEvent(target, BenchProbe.functionName, stamped: true)
                return 1
            }
            _ = await BenchLoad.closed(workers: connections, seconds: warmUp, operation)
            _ = try await waitForInvocations(target, atLeast: nil)
            // Peak: as many connections as asked, back to back; delivered/s counts until the last event started.
            let peak = try await deliveredRow("peak, \(connections) connections", target) {
                await BenchLoad.closed(workers: connections, seconds: duration, operation)
            }
            report.rows.append(peak)
            // Half of the peak rate, paced: the latency an event sees when the server is not saturated.
            let rate = max(1, peak.rate / 2)
            report.rows.append(try await deliveredRow("half of peak, \(Int(rate))/s offered", target) {
                await BenchLoad.paced(workers: connections, rate: rate, seconds: duration, operation)
            })
        }
        report.notes.append("ingest-to-start: from the client stamping the event just before sending it to the in-process function starting")
    }

    /// Runs `load` of invokes to `spool-bench-noop` and reports the events delivered per second (until the
    /// last one started) with their ingest-to-start latency; the acknowledgements go in the extra figures.
    func deliveredRow(_ label: String, _ target: BenchTarget, _ load: () async -> LoadResult) async throws -> BenchRow {
        try await target.resetProbe()
        let clock = ContinuousClock()
        let started = clock.now
        let ((sent, delivered), server) = try await target.measured {
            let sent = await load()
            return (sent, try await waitForInvocations(target, atLeast: sent.units))
        }
        let seconds = BenchLoad.elapsed(clock.now - started)
        var row = BenchRow(label: label, unit: "events", count: delivered, seconds: seconds, rate: Double(delivered) / seconds,
                           latencyOf: "ingest-to-start", latency: try await probeLatency(target), errors: sent.errors, server: server)
        row.extra = ["accepted/s": sent.rate, "ack p50 ms": sent.latency?.p50 ?? 0, "ack p99 ms": sent.latency?.p99 ?? 0]
        return row
    }

    /// Waits until the probe counted `atLeast` invocations (or, with `nil`, until the count stops rising); returns the count.
    func waitForInvocations(_ target: BenchTarget, atLeast: Int?) async throws -> Int {
        var last = -1
        var count = 0
        _ = try await BenchLoad.until(timeout: 300, interval: 0.02) {
            count = try await target.probe().invocations
            if let atLeast { return count >= atLeast }
            defer { last = count }
            return count == last
        }
        return count
    }

    func probeLatency(_ target: BenchTarget) async throws -> LatencySummary? {
        let report = try JSONDecoder().decode(BenchProbe.Report.self,
                                              from: Data(buffer: try await target.expect(.GET, "/spool/v1/bench?latencies=true").body))
        return LatencySummary(sortedMilliseconds: report.latencyMicros.map { Double($0) / 1_000 })
    }
}
