import Foundation
import NIOHTTP1
import SpoolServer

extension BenchRun {
    /// SQS round trips and async ingest with the load spread round-robin over one server, then over `nodes` servers,
    /// all on one new PostgreSQL database.
    func cluster(_ report: inout ScenarioReport) async throws {
        guard let database else { throw BenchTarget.Failure(description: "the cluster scenario needs --database") }
        for count in [1, nodes] {
            let name = "spool_bench_\(UUID().uuidString.prefix(8).lowercased())"
            let url = try await SpoolServer.createScratchDatabase(besides: database, name: name)
            var targets: [BenchTarget] = []
            do {
                for _ in 0..<count { targets.append(try await BenchTarget.start(durability: durability, shared: url)) }
                try await clusterLoads(targets, &report)
            } catch {
                for target in targets { await target.stop() }
                try? await SpoolServer.dropScratchDatabase(besides: database, name: name)
                throw error
            }
            for target in targets { await target.stop() }
            try? await SpoolServer.dropScratchDatabase(besides: database, name: name)
        }
        report.notes.append("each worker keeps to one server (worker i to server i mod N); all servers share one database on this machine")
        report.notes.append("server figures are the first server's; the others' CPU is not included")
    }

    private func clusterLoads(_ targets: [BenchTarget], _ report: inout ScenarioReport) async throws {
        let nodes = targets.count
        let first = targets[0]
        let (url, _) = try await createQueue(first, "bench-cluster-\(UUID().uuidString.prefix(8))")
        let size = min(batchSizes.first ?? 10, 10)
        let roundTrip = sqsRoundTrip(targets, url: url, size: size)
        _ = await BenchLoad.closed(workers: connections, seconds: warmUp, roundTrip)
        let (sqs, sqsServer) = try await first.measured { await BenchLoad.closed(workers: connections, seconds: duration, roundTrip) }
        report.rows.append(row("SQS batches of \(size), \(nodes) node\(nodes == 1 ? "" : "s")", unit: "messages", sqs,
                               latencyOf: "send+receive+delete", server: sqsServer))

        for target in targets { try await holdBacklog(target) }
        let ingest: BenchLoad.Operation = { worker, _ in
            try await invokeEvent(targets[worker % nodes], BenchProbe.holdFunctionName, stamped: false)
            return 1
        }
        _ = await BenchLoad.closed(workers: connections, seconds: warmUp, ingest)
        let (events, eventsServer) = try await first.measured { await BenchLoad.closed(workers: connections, seconds: duration, ingest) }
        report.rows.append(row("async ingest, \(nodes) node\(nodes == 1 ? "" : "s")", unit: "events", events,
                               latencyOf: "acknowledgement", server: eventsServer))
        try await first.lambda(.DELETE, "/2017-10-31/functions/\(BenchProbe.holdFunctionName)/concurrency")
        // The one waiting invocation may be on any of them.
        for target in targets { try await target.expect(.POST, "/spool/v1/bench/release") }
    }
}
