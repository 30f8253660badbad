import Foundation

/// What `/proc` says about a process.
enum ProcessStatus {
    /// True when the process no longer runs: reaped, or a zombie waiting to be.
    static func isGone(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return true }
        let state = stat[stat.index(after: close)...].drop(while: { $0 == " " }).first
        return state == "Z" || state == "X"
    }

    /// A field of `/proc/PID/status` in kB (`VmRSS`, `VmHWM`), converted to MB rounded up.
    static func memoryMB(_ pid: pid_t, field: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            let digits = line.dropFirst(field.count + 1).filter(\.isNumber)
            guard let kB = Int(digits) else { return nil }
            return (kB + 1023) / 1024
        }
        return nil
    }
}
