import Foundation
import Hummingbird
import NIOCore
import SpoolExecutor
import SpoolHTTP
import Synchronization

/// The functions `spool bench` drives, run in process by `spool serve --bench-probe`, and what they saw.
///
/// `spool-bench-noop` returns `null` at once; `spool-bench-hold` waits until the probe is released
/// (`POST /spool/v1/bench/release`), then returns `null`, so that a backlog can be built up. Both count
/// their invocations and, when the payload starts with `{"t":MICROS` (the client's wall-clock send time
/// in microseconds), record the time from the client sending the event to the function starting.
/// `GET /spool/v1/bench` reports the count (with `?latencies=true` the samples too); `POST
/// /spool/v1/bench/reset` starts afresh and closes the gate again.
package final class BenchProbe: Sendable {
    /// The no-op function's name.
    package static let functionName = "spool-bench-noop"
    /// The name of the function that waits for the release.
    package static let holdFunctionName = "spool-bench-hold"
    /// Latency samples kept (the first ones after a reset), enough for any benchmark run's percentiles.
    static let sampleLimit = 2_000_000

    struct State {
        var invocations = 0
        var records = 0
        var latencies: [Int64] = []
        var released = false
    }

    /// What the probe reports.
    package struct Report: Sendable, Codable {
        package var invocations: Int
        /// Records in the SQS and Kinesis events the functions were given.
        package var records: Int
        /// Send-to-start latencies in microseconds, sorted ascending.
        package var latencyMicros: [Int64]
    }

    private let state = Mutex(State())

    package init() {}

    /// The in-process handlers, by function name.
    package var handlers: [String: InProcessExecutor.Handler] {
        [Self.functionName: noop, Self.holdFunctionName: { [self] payload, context in
            while !state.withLock({ $0.released }) { try await Task.sleep(for: .milliseconds(20)) }
            return try await noop(payload, context)
        }]
    }

    private var noop: InProcessExecutor.Handler {
        { [self] payload, _ in
            let started = Self.wallMicros()
            let sent = Self.sentMicros(payload)
            let records = Self.recordCount(payload)
            state.withLock { state in
                state.invocations += 1
                state.records += records
                if let sent, state.latencies.count < Self.sampleLimit { state.latencies.append(started - sent) }
            }
            return ByteBuffer(string: "null")
        }
    }

    /// The count, and with `latencies` every latency sample, sorted.
    func report(latencies: Bool) -> Report {
        let (invocations, records, samples) = state.withLock { ($0.invocations, $0.records, latencies ? $0.latencies : []) }
        return Report(invocations: invocations, records: records, latencyMicros: samples.sorted())
    }

    func reset() {
        state.withLock { $0 = State() }
    }

    func addRoutes(to router: Router<SpoolRequestContext>) {
        router.get("/spool/v1/bench") { request, _ -> Response in
            let report = self.report(latencies: request.uri.queryParameters["latencies"] == "true")
            let body = try JSONEncoder().encode(report)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        router.post("/spool/v1/bench/reset") { _, _ -> Response in
            self.reset()
            return Response(status: .noContent)
        }
        router.post("/spool/v1/bench/release") { _, _ -> Response in
            self.state.withLock { $0.released = true }
            return Response(status: .noContent)
        }
    }

    /// Wall-clock microseconds since 1970, the time the benchmark client stamps into events.
    package static func wallMicros() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1_000
    }

    /// How many times `"eventSource":"aws:` occurs: once per record of an SQS or Kinesis event.
    static func recordCount(_ payload: ByteBuffer) -> Int {
        let needle = Array(#""eventSource":"aws:"#.utf8)
        return payload.withUnsafeReadableBytes { bytes in
            guard let base = bytes.baseAddress else { return 0 }
            var count = 0
            var offset = 0
            // memchr finds each candidate quote; the needle is compared only there.
            while offset + needle.count <= bytes.count, let found = memchr(base + offset, Int32(needle[0]), bytes.count - offset) {
                let at = base.distance(to: UnsafeRawPointer(found))
                guard at + needle.count <= bytes.count else { break }
                if memcmp(found, needle, needle.count) == 0 {
                    count += 1
                    offset = at + needle.count
                } else {
                    offset = at + 1
                }
            }
            return count
        }
    }

    /// The digits after a leading `{"t":`, if the payload starts so.
    static func sentMicros(_ payload: ByteBuffer) -> Int64? {
        let prefix = Array(#"{"t":"#.utf8)
        guard let head = payload.getBytes(at: payload.readerIndex, length: min(payload.readableBytes, prefix.count + 20)),
              head.starts(with: prefix) else { return nil }
        var value: Int64 = 0
        var digits = 0
        for byte in head.dropFirst(prefix.count) {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { break }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            digits += 1
        }
        return digits > 0 ? value : nil
    }
}
