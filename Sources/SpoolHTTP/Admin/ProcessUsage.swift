import Foundation

/// What the server process uses of the machine, as `GET /spool/v1/process` reports it.
package struct ProcessUsage: Sendable, Codable {
    package var pid: Int32
    package var version: String
    package var durability: String
    /// Resident memory now, in bytes.
    package var residentBytes: Int
    /// The highest resident memory since the process started, in bytes.
    package var peakResidentBytes: Int
    /// CPU time spent in user and in kernel mode since the process started.
    package var userCPUSeconds: Double
    package var systemCPUSeconds: Double

    /// The current process's figures (`getrusage` and `/proc/self/statm`).
    package static func current(version: String, durability: String) -> ProcessUsage {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        let resident = residentBytes()
        // The kernel updates the high-water mark lazily; it is never below what is resident now.
        return ProcessUsage(
            pid: getpid(), version: version, durability: durability, residentBytes: resident,
            peakResidentBytes: max(Int(usage.ru_maxrss) * 1_024, resident), userCPUSeconds: seconds(usage.ru_utime), systemCPUSeconds: seconds(usage.ru_stime)
        )
    }

    /// The second field of `/proc/self/statm` (resident pages) times the page size; 0 where there is no procfs.
    package static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
