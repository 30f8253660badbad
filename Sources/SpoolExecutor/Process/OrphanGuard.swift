import Foundation
import Logging

/// Remembers the process groups of running environments in files under the data directory, so that a
/// Spool that was killed (SIGKILL, power loss of the parent only) can end what it left running when it
/// starts again. A group is killed only if its leader still carries the marker Spool gave it, so a
/// recycled process id is never touched.
struct OrphanGuard: Sendable {
    /// `DATA_DIR/run`; `nil` disables the guard (tests that run executors without a data directory).
    let directory: String?

    /// The environment variable that marks a child as Spool's.
    static let markerVariable = "SPOOL_ENVIRONMENT_MARKER"

    /// A fresh marker for a child about to start.
    static func makeMarker() -> String {
        UUID().uuidString.lowercased()
    }

    func record(pid: pid_t, marker: String) {
        guard let directory else { return }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try? marker.write(toFile: path(pid), atomically: true, encoding: .utf8)
    }

    func forget(pid: pid_t) {
        guard directory != nil else { return }
        try? FileManager.default.removeItem(atPath: path(pid))
    }

    /// Kills every recorded group whose leader still carries its marker; returns how many were killed.
    @discardableResult
    func reap(logger: Logger) -> Int {
        guard let directory, let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return 0 }
        var killed = 0
        for name in names {
            guard let pid = pid_t(name) else { continue }
            let file = (directory as NSString).appendingPathComponent(name)
            if let marker = try? String(contentsOfFile: file, encoding: .utf8),
               let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
               environ.split(separator: 0).contains(where: { $0.elementsEqual("\(Self.markerVariable)=\(marker)".utf8) }) {
                kill(-pid, SIGKILL)
                killed += 1
            }
            try? FileManager.default.removeItem(atPath: file)
        }
        if killed > 0 { logger.warning("ended environments left by a previous run", metadata: ["count": "\(killed)"]) }
        return killed
    }

    func path(_ pid: pid_t) -> String {
        ((directory ?? "") as NSString).appendingPathComponent("\(pid)")
    }
}
