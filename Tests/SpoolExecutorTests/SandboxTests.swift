import Foundation
@testable import SpoolExecutor
import Testing

@Suite("Sandbox: cgroup layouts, limits by memory and paths inside the namespace")
struct SandboxTests {
    @Test("a v1 host's controllers are found in their own hierarchies, below this process's cgroup")
    func v1Layout() {
        let mountinfo = """
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        """
        let cgroups = "8:pids:/\n4:memory:/jobs/42\n1:cpu:/\n0::/\n"
        #expect(CgroupLayout.parse(mountinfo: mountinfo, cgroups: cgroups)
            == .v1(memory: "/sys/fs/cgroup/memory/jobs/42", cpu: "/sys/fs/cgroup/cpu", pids: "/sys/fs/cgroup/pids"))
    }

    @Test("a v2 host's unified hierarchy is used, with a container's partial mount taken into account")
    func v2Layout() {
        let mountinfo = "29 23 0:26 /system.slice/app.service /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
        let cgroups = "0::/system.slice/app.service/worker\n"
        #expect(CgroupLayout.parse(mountinfo: mountinfo, cgroups: cgroups) == .v2(own: "/sys/fs/cgroup/worker"))
        #expect(CgroupLayout.parse(mountinfo: "1 0 0:1 / / rw - ext4 /dev/sda rw\n", cgroups: cgroups) == nil)
    }

    @Test("CPU follows memory as Lambda allots it: 1,769 MB is one vCPU, capped at six")
    func cpuByMemory() {
        #expect(EnvironmentLimits(memoryMB: 1769).quotaMicroseconds == 100_000)
        #expect(EnvironmentLimits(memoryMB: 128).quotaMicroseconds == 7_236)
        #expect(EnvironmentLimits(memoryMB: 3008).quotaMicroseconds == 170_040)
        #expect(EnvironmentLimits(memoryMB: 10240).vcpus < 6 && EnvironmentLimits(memoryMB: 10240).vcpus > 5.7)
        #expect(EnvironmentLimits.vcpus(memoryMB: 20_000) == 6)
    }

    @Test("on v2 an environment's folder gets memory.max, no swap, pids.max and, after init, cpu.max and cpu.weight")
    func v2Limits() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cgroup-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        // A delegated cgroup holding no process: the controllers are enabled for its children directly.
        try "cpu memory pids".write(toFile: root + "/cgroup.controllers", atomically: true, encoding: .utf8)
        // What a killed Spool left: its folder goes; a running process's stays.
        try FileManager.default.createDirectory(atPath: root + "/spool-2147483000/env-4", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/spool-\(getpid())", withIntermediateDirectories: true)
        let host = try CgroupHost(layout: .v2(own: root), processID: 77)
        #expect(!FileManager.default.fileExists(atPath: root + "/spool-2147483000"))
        #expect(FileManager.default.fileExists(atPath: root + "/spool-\(getpid())"))
        #expect(try String(contentsOfFile: root + "/cgroup.subtree_control", encoding: .utf8) == "+memory +cpu +pids")
        let group = try host.makeEnvironment(id: 3, limits: EnvironmentLimits(memoryMB: 512))
        let folder = root + "/spool-77/env-3"
        #expect(group.procsFiles == [folder + "/cgroup.procs"])
        func read(_ name: String) throws -> String { try String(contentsOfFile: folder + "/" + name, encoding: .utf8) }
        #expect(try read("memory.max") == "\(512 * 1_048_576)")
        #expect(try read("memory.swap.max") == "0")
        #expect(try read("pids.max") == "1024")
        #expect(try read("cpu.max") == "max 100000", "init runs unthrottled")
        try group.limitCPU()
        #expect(try read("cpu.max") == "28943 100000")
        #expect(try read("cpu.weight") == "28")
        try "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n".write(toFile: folder + "/memory.events", atomically: true, encoding: .utf8)
        try "73400320\n".write(toFile: folder + "/memory.peak", atomically: true, encoding: .utf8)
        #expect(group.outOfMemoryKills == 1 && group.peakMemoryMB == 70)
    }

    @Test("host paths of the code, the layers and the runtime clients become /var/task, /opt and /var/runtime")
    func paths() {
        let host = SandboxPaths.host(root: "/data/functions/f/abc", layers: ["/data/layers/a/1", "/data/layers/b/2"],
                                     runtimeFolder: "/data/runtime", temporaryDirectory: "/tmp/x")
        let inside = SandboxPaths.sandboxed(hasLayers: true)
        #expect(inside.translate("/data/functions/f/abc/bootstrap", from: host) == "/var/task/bootstrap")
        #expect(inside.translate("/data/layers/b/2/extensions/watch", from: host) == "/opt/extensions/watch")
        #expect(inside.translate("/data/runtime/node/index.mjs", from: host) == "/var/runtime/node/index.mjs")
        #expect(inside.translate("/usr/bin/python3", from: host) == "/usr/bin/python3")
        // A virtual environment under /tmp, which the private /tmp would hide, is shown at /var/lang.
        #expect(Sandbox.relocated(for: "/tmp/ci/.venv/bin/python3") == "/tmp/ci/.venv")
        #expect(Sandbox.relocated(for: "/usr/bin/node") == nil && Sandbox.kept(for: "/usr/bin/node").isEmpty)
        let venv = SandboxPaths.host(root: "/data/f", layers: [], runtimeFolder: "/data/runtime", temporaryDirectory: "/tmp/x", interpreter: "/tmp/ci/.venv")
        #expect(SandboxPaths.sandboxed(hasLayers: false, relocatedInterpreter: true).translate("/tmp/ci/.venv/bin/python3", from: venv) == "/var/lang/bin/python3")
    }
}
