import Foundation
import Logging
import NIOCore
import SpoolModel

/// How an environment's init and invocations end when the runtime does not answer: timeouts, crashes,
/// memory kills, and the outcomes Lambda reports for them.
extension ExecutionEnvironment {
    func fail(_ status: InvocationOutcome.Status, type: String, message: String) -> InitResult {
        .failed(status, type: type, payload: InvocationOutcome.errorDocument(type: type, message: message))
    }

    func initTimedOut() async {
        guard phase == .initializing, let waiter = initWaiter else { return }
        initWaiter = nil
        let seconds = String(format: "%.2f", settings.initTimeout.milliseconds / 1000)
        waiter.resume(returning: fail(.timedOut, type: "Sandbox.Timedout", message: "Error: Init timed out after \(seconds) seconds"))
    }

    func runtimeExited(_ exit: ChildProcess.Exit) async {
        guard phase != .dead else { return }
        markUnusable()
        logger.debug("runtime exited", metadata: ["exit": "\(exit)"])
        // The kernel ended a process of the environment for going over its cgroup's memory limit.
        if let cgroup, cgroup.outOfMemoryKills > 0 { outOfMemory = true }
        if let waiter = initWaiter {
            initWaiter = nil
            if outOfMemory {
                waiter.resume(returning: fail(.functionError(type: "Runtime.OutOfMemory"), type: "Runtime.OutOfMemory",
                                              message: "Error: Runtime exited with error: \(exit) (memory use exceeded \(function.memorySizeMB) MB during init)"))
            } else if let initError {
                waiter.resume(returning: .failed(.functionError(type: initError.type), type: initError.type, payload: initError.payload))
            } else {
                waiter.resume(returning: fail(.functionError(type: "Runtime.ExitError"), type: "Runtime.ExitError", message: "Error: Runtime exited with error: \(exit)"))
            }
        }
        crashed = exit
        finishInvocation(nil)
        await shutdown(reason: "FAILURE")
    }

    func timeoutFired(requestID: String) async {
        guard let current, current.invocation.requestID == requestID, !current.finished else { return }
        timedOut = true
        await reset(reason: "TIMEOUT")
    }

    func watchMemory(requestID: String) async {
        while let current, current.invocation.requestID == requestID, !current.finished, let pid = runtime?.pid {
            if let rss = ProcessStatus.memoryMB(pid, field: "VmRSS"), rss > function.memorySizeMB {
                outOfMemory = true
                await reset(reason: "FAILURE")
                return
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Lambda resets an environment at once after a timeout or running out of memory: the runtime is
    /// killed before the caller hears how the invocation ended.
    func reset(reason: String) async {
        if let runtime {
            runtime.signal(SIGKILL)
            _ = await runtime.exited()
        }
        finishInvocation(nil)
        await shutdown(reason: reason)
    }

    func endedWithoutResult(requestID: String) -> InvocationOutcome {
        let prefix = "RequestId: \(requestID) Error:"
        if timedOut {
            return .error(.timedOut, type: "Sandbox.Timedout", message: "\(prefix) Task timed out after \(function.timeoutSeconds).00 seconds")
        }
        if outOfMemory {
            return .error(.functionError(type: "Runtime.OutOfMemory"), type: "Runtime.OutOfMemory",
                          message: "\(prefix) Runtime exited with error: signal: killed (memory use exceeded \(function.memorySizeMB) MB)")
        }
        if phase == .dead, crashed == nil {
            return .error(.systemFailure(.shuttingDown), type: "Runtime.Shutdown", message: "\(prefix) the environment was shut down")
        }
        return .error(.functionError(type: "Runtime.ExitError"), type: "Runtime.ExitError", message: "\(prefix) Runtime exited with error: \(crashed.map { "\($0)" } ?? "unknown")")
    }

    func expireReadyWaiters() {
        let waiters = readyWaiters
        readyWaiters = []
        for waiter in waiters { waiter.resume(returning: false) }
    }

    /// Waits until the invocation's lines are in its log: every byte the runtime and the extensions wrote
    /// so far has been read and handed on, and the runtime has asked for its next event (or printed
    /// nothing for 3 ms). Never more than 200 ms, for a reader left far behind on a saturated machine.
    func settleLogs() async {
        let started = DispatchTime.now().uptimeNanoseconds
        while DispatchTime.now().uptimeNanoseconds - started < 200_000_000 {
            if phase == .dead { return }
            // Read the last line's time first: a line printed in between must not make `quiet` negative.
            let last = max(output.lastPrintedAt, started)
            let now = DispatchTime.now().uptimeNanoseconds
            let quiet = now > last ? now - last : 0
            if outputDrained, runtimeWaiting != nil || quiet > 3_000_000 { return }
            try? await Task.sleep(for: .microseconds(200))
        }
    }

    /// Whether everything the runtime and the extensions wrote so far is in the log.
    var outputDrained: Bool {
        (runtime?.outputDrained ?? true) && extensionProcesses.allSatisfy(\.outputDrained)
    }

    /// Waits (50 ms at most, usually not at all) until what the runtime and extensions wrote before the response is
    /// read into the log: a line printed before the handler returned belongs to this invocation's log, not to the
    /// next one's, even when a busy machine leaves the pipe readers behind. Unlike `settleLogs` it does not wait for a
    /// quiet period, so it costs nothing when the readers kept up.
    func drainLogs() async {
        let started = DispatchTime.now().uptimeNanoseconds
        while DispatchTime.now().uptimeNanoseconds - started < 50_000_000 {
            if phase == .dead { return }
            if outputDrained { return }
            try? await Task.sleep(for: .microseconds(100))
        }
    }

    static func invokeEventJSON(_ invocation: RuntimeInvocation) -> String {
        #"{"eventType":"INVOKE","deadlineMs":\#(invocation.deadlineMs),"requestId":"\#(invocation.requestID)","invokedFunctionArn":"\#(invocation.invokedFunctionARN)","tracing":{"type":"X-Amzn-Trace-Id","value":"\#(invocation.traceID)"}}"#
    }

    /// Executables in the `extensions/` folders of the package and of the function's layers (Lambda's
    /// `/opt/extensions`, where layers put them), by name: a later layer's extension replaces an earlier one of the same
    /// name, as files extracted over one another in `/opt` do. At most 10.
    static func extensionExecutables(in root: String, layers: [String] = []) -> [String] {
        var byName: [String: String] = [:]
        for base in [root] + layers {
            let folder = (base as NSString).appendingPathComponent("extensions")
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { continue }
            for name in names {
                let path = (folder as NSString).appendingPathComponent(name)
                if FileManager.default.isExecutableFile(atPath: path) { byName[name] = path }
            }
        }
        return byName.keys.sorted().prefix(10).map { byName[$0]! }
    }
}
