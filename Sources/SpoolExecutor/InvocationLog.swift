import Foundation

/// The log of one invocation as Lambda writes it to CloudWatch: `START`, the function's own lines,
/// `END`, and the `REPORT` line with durations and memory. Bounded: only the newest lines are kept.
package struct InvocationLog: Sendable {
    /// The most text kept per invocation; `LogType: Tail` needs the last 4 KB.
    package static let capacityBytes = 256 * 1024

    package let requestID: String
    private var lines: [String] = []
    private var bytes = 0

    package init(requestID: String, version: String = "$LATEST") {
        self.requestID = requestID
        lines.append("START RequestId: \(requestID) Version: \(version)")
    }

    /// Adds one line the function printed.
    package mutating func append(_ line: String) {
        lines.append(line)
        bytes += line.utf8.count + 1
        while bytes > Self.capacityBytes, lines.count > 2 {
            bytes -= lines.remove(at: 1).utf8.count + 1
        }
    }

    /// Closes the log with `END` and `REPORT`, as Lambda does after every invocation.
    package func finished(durationMs: Double, memorySizeMB: Int, maxMemoryUsedMB: Int?, initDurationMs: Double?) -> String {
        var report = "REPORT RequestId: \(requestID)\tDuration: \(Self.format(durationMs)) ms\tBilled Duration: \(Int(durationMs.rounded(.up))) ms"
        report += "\tMemory Size: \(memorySizeMB) MB\tMax Memory Used: \(maxMemoryUsedMB ?? 0) MB"
        if let initDurationMs { report += "\tInit Duration: \(Self.format(initDurationMs)) ms" }
        report += "\t"
        return (lines + ["END RequestId: \(requestID)", report]).joined(separator: "\n") + "\n"
    }

    /// The last `limit` bytes of a finished log, on a character boundary, as `X-Amz-Log-Result` carries it before base64.
    package static func tail(_ log: String, limit: Int = 4096) -> String {
        let utf8 = Array(log.utf8)
        guard utf8.count > limit else { return log }
        var start = utf8.count - limit
        while start < utf8.count, utf8[start] & 0xC0 == 0x80 { start += 1 }
        return String(decoding: utf8[start...], as: UTF8.self)
    }

    static func format(_ ms: Double) -> String {
        String(format: "%.2f", ms)
    }
}
