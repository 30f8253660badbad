import Foundation
import NIOHTTP1
import SpoolHTTP
import SpoolServer

/// The `idle` scenario: what mappings that have nothing to do cost the server.
extension BenchRun {
    /// Queue and stream mappings created on empty sources; the server's CPU time over `duration` seconds and its
    /// resident memory before and after `--idle-seconds` (a minute, or `duration` if longer) with nothing to do.
    func idle(_ report: inout ScenarioReport) async throws {
        let (queueMappings, streamMappings) = (20, 5)
        try await withServer { target in
            for index in 0..<queueMappings {
                let (_, arn) = try await createQueue(target, "bench-idle-\(index)-\(UUID().uuidString.prefix(8))")
                try await target.lambda(.POST, "/2015-03-31/event-source-mappings/", [
                    "FunctionName": BenchProbe.functionName, "EventSourceArn": arn, "BatchSize": 10,
                ])
            }
            for index in 0..<streamMappings {
                let name = "bench-idle-\(index)-\(UUID().uuidString.prefix(8))"
                try await target.call("Kinesis_20131202.CreateStream", ["StreamName": name, "ShardCount": 2])
                let summary = try await target.call("Kinesis_20131202.DescribeStreamSummary", ["StreamName": name])
                let arn = (summary["StreamDescriptionSummary"] as? [String: Any])?["StreamARN"] as? String ?? ""
                try await target.lambda(.POST, "/2015-03-31/event-source-mappings/", [
                    "FunctionName": BenchProbe.functionName, "EventSourceArn": arn, "StartingPosition": "LATEST",
                ])
            }
            // The pollers' first reads are done.
            try await Task.sleep(for: .seconds(3))
            let start = try await target.usage()
            let (_, server) = try await target.measured { try await Task.sleep(for: .seconds(duration)) }
            let window = max(idleSeconds, duration)
            try await Task.sleep(for: .seconds(window - duration))
            let end = try await target.usage()
            var row = BenchRow(label: "\(queueMappings) queue and \(streamMappings) stream mappings, idle", unit: "mappings",
                               count: queueMappings + streamMappings, seconds: duration, rate: 0, latencyOf: nil, latency: nil, server: server)
            row.extra = [
                "CPU % of one core": server.cpuSeconds / duration * 100,
                "RSS at start MiB": Double(start.residentBytes) / 1_048_576,
                "RSS growth MiB over \(Int(window)) s": Double(end.residentBytes - start.residentBytes) / 1_048_576,
            ]
            report.rows.append(row)
        }
        report.notes.append("the server's CPU time over --duration seconds with every mapping idle, and its resident memory growth over --idle-seconds (\(Int(max(idleSeconds, duration))) s)")
    }
}
