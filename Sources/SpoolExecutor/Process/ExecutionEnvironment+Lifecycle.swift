import Foundation
import Logging
import NIOCore
import SpoolModel
import SpoolSignals

/// Init, invoke and shutdown of an execution environment.
extension ExecutionEnvironment {
    /// Starts the Runtime API, the extensions and the runtime, and waits until all of them wait for events.
    /// On any failure the environment is shut down, so nothing it started (listener, extensions, runtime,
    /// temporary directory) outlives it.
    func initialize() async -> InitResult {
        let result = await start()
        if case .failed = result { await shutdown(reason: "FAILURE") }
        return result
    }

    /// Starts one of the environment's processes (the runtime, an extension): its pid is known to `peers` before it can
    /// reach the Runtime API, its output goes to the environment's log, and the orphan guard records it.
    private func spawn(name: String, executable: String, arguments: [String], environment: [String: String], in root: String) async -> ChildProcess {
        let orphans = OrphanGuard(directory: settings.stateDirectory)
        let sink = lineSink
        let (executable, arguments) = launchCommand(executable, arguments)
        return await peers.spawning {
            await ChildProcess.spawn(name: name, executable: executable, arguments: arguments, environment: environment, workingDirectory: root,
                                     guard: orphans, onStarted: { [peers] in peers.started($0) }, onLine: sink)
        }
    }

    private func start() async -> InitResult {
        phase = .initializing
        let started = ContinuousClock.now
        let root = function.codeDirectory ?? "/nonexistent"
        let paths: EnvironmentPaths
        do {
            paths = try await prepareFilesystem()
            server = try await RuntimeAPIServer.start(environment: self, logger: logger)
        } catch {
            return fail(.systemFailure(.spawnFailed), type: "Runtime.Unknown", message: "Error: the execution environment could not be prepared: \(error)")
        }
        let variables = EnvironmentVariables.runtime(for: function, address: server!.address, paths: paths.inside,
                                                     provisioned: provisioned, settings: settings)
        // Extensions start first and must all register before the runtime starts.
        let extensionPaths = Self.extensionExecutables(in: root, layers: (function.layers ?? []).compactMap(\.directory))
        expectedExtensions = extensionPaths.count
        for path in extensionPaths {
            if sandboxLost { return lostSandbox() }
            let child = await spawn(name: (path as NSString).lastPathComponent, executable: path, arguments: [],
                                    environment: EnvironmentVariables.extensionVariables(from: variables), in: root)
            extensionProcesses.append(child)
        }
        let deadline = started + settings.initTimeout
        if expectedExtensions > 0 {
            while extensions.count < expectedExtensions, ContinuousClock.now < deadline {
                if let failed = extensionProcesses.first(where: { $0.exit != nil }) {
                    return fail(.functionError(type: "Extension.Crash"), type: "Extension.Crash",
                                message: "Error: extension \(failed.name) exited before registering: \(failed.exit!)")
                }
                try? await Task.sleep(for: .milliseconds(5))
            }
            guard extensions.count >= expectedExtensions else {
                return fail(.timedOut, type: "Sandbox.Timedout", message: "Error: extensions did not register within the init timeout")
            }
        }
        registrationOpen = false
        if sandboxLost { return lostSandbox() }
        guard let command = RuntimeCommand.make(for: function, settings: settings) else {
            return fail(.functionError(type: "Runtime.InvalidEntrypoint"), type: "Runtime.InvalidEntrypoint",
                        message: "Error: Couldn't find valid bootstrap(s): [\(root)/bootstrap]")
        }
        // In the sandbox the helper executes the runtime, after the spawn succeeded: a file that cannot be executed is
        // caught here, as the spawn itself would catch it without the sandbox.
        guard FileManager.default.isExecutableFile(atPath: command.executable) else {
            return fail(.functionError(type: "Runtime.InvalidEntrypoint"), type: "Runtime.InvalidEntrypoint",
                        message: "Error: fork/exec \(paths.translated(command.executable)): permission denied")
        }
        let child = await spawn(name: "runtime", executable: command.executable, arguments: command.arguments, environment: variables, in: root)
        runtime = child
        if case .failedToStart(let reason)? = child.exit {
            return fail(.functionError(type: "Runtime.InvalidEntrypoint"), type: "Runtime.InvalidEntrypoint", message: "Error: fork/exec \(command.executable): \(reason)")
        }
        Task { [weak self] in
            let exit = await child.exited()
            await self?.runtimeExited(exit)
        }
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<InitResult, Never>) in
            if let initError {
                continuation.resume(returning: .failed(.functionError(type: initError.type), type: initError.type, payload: initError.payload))
            } else if everyoneWaiting {
                continuation.resume(returning: .ready(durationMs: 0))
            } else {
                initWaiter = continuation
                initTimer = Task { [weak self] in
                    try await Task.sleep(until: deadline)
                    await self?.initTimedOut()
                }
            }
        }
        initTimer?.cancel()
        initTimer = nil
        switch result {
        case .ready:
            let duration = (ContinuousClock.now - started).milliseconds
            // A provisioned environment initialized ahead of time: no invocation waited for it, so none reports it.
            unreportedInitMs = provisioned ? nil : duration
            // Init ran with boosted CPU, as on Lambda; invocations get the share their memory buys.
            do { try cgroup?.limitCPU() } catch { logger.warning("the CPU limit could not be set", metadata: ["error": "\(error)"]) }
            if provisioned { output.dropInitLines() }
            phase = .ready
            logger.debug("environment initialized", metadata: ["initMs": "\(Int(duration))"])
            return .ready(durationMs: duration)
        case .failed:
            return result
        }
    }

    /// Runs one invocation on an initialized environment that no one else is using; `nil` when the
    /// environment died while idle, before anything was handed to it (the caller tries another).
    func invoke(_ request: InvocationRequest, waitForLogs: Bool) async -> InvocationOutcome? {
        guard phase == .ready else { return nil }
        let timeout = Duration.seconds(function.timeoutSeconds)
        if !everyoneWaiting {
            // Extensions (or the runtime) still finishing the previous invocation: wait, within the timeout.
            let expiry = Task { [weak self] in
                await WakeSignal.sleep(for: timeout)
                guard !Task.isCancelled else { return }
                await self?.expireReadyWaiters()
            }
            let ready = await withCheckedContinuation { continuation in
                readyWaiters.append(continuation)
            }
            expiry.cancel()
            // The runtime exited meanwhile (a Node.js runtime ends after reporting an unhandled rejection): nothing was
            // handed to this environment, so the caller takes another.
            if phase == .dead, crashed != nil { return nil }
            guard ready, phase == .ready else {
                await shutdown(reason: "FAILURE")
                return .error(.functionError(type: "Runtime.ExitError"), type: "Runtime.ExitError",
                              message: "RequestId: \(request.requestID) Error: the environment did not become ready for the next invocation")
            }
        }
        phase = .invoking
        let started = ContinuousClock.now
        let deadlineMs = WallClock().now() + Int64(function.timeoutSeconds) * 1000
        let invocation = RuntimeInvocation(requestID: request.requestID, deadlineMs: deadlineMs, invokedFunctionARN: request.invokedFunctionARN,
                                           traceID: request.traceID, clientContext: request.clientContext, payload: request.payload)
        output.begin(InvocationLog(requestID: request.requestID, version: request.function.versionName), includingInit: unreportedInitMs != nil)
        let initMs = unreportedInitMs
        unreportedInitMs = nil
        deliver(ExtensionEvent(json: Self.invokeEventJSON(invocation)), to: "INVOKE")
        let waiting = runtimeWaiting!
        runtimeWaiting = nil
        let requestID = request.requestID
        // Cancelled when the invocation ends; `WakeSignal.sleep` leaves no timer behind when cut short.
        let timer = Task { [weak self] in
            await WakeSignal.sleep(for: timeout)
            guard !Task.isCancelled else { return }
            await self?.timeoutFired(requestID: requestID)
        }
        let result: RuntimeResult? = await withCheckedContinuation { continuation in
            current = InFlight(invocation: invocation, stream: request.responseStream, continuation: continuation)
            waiting.resume(returning: .invocation(invocation))
            // A cgroup's limit is the kernel's to enforce; without one, resident memory is watched.
            if cgroup == nil { Task { [weak self] in await self?.watchMemory(requestID: requestID) } }
        }
        timer.cancel()
        let duration = (ContinuousClock.now - started).milliseconds
        if waitForLogs { await settleLogs() } else { await drainLogs() }
        let memory = cgroup?.peakMemoryMB ?? runtime?.pid.flatMap { ProcessStatus.memoryMB($0, field: "VmHWM") }
        var outcome: InvocationOutcome
        switch result {
        case .response(let payload)?:
            outcome = InvocationOutcome(status: .success, payload: payload)
        case .error(let type, let payload)?:
            outcome = InvocationOutcome(status: .functionError(type: type), payload: payload)
        case .responseTooLarge?:
            outcome = .error(.functionError(type: "Function.ResponseSizeTooLarge"), type: "Function.ResponseSizeTooLarge",
                             message: "Response payload size exceeded maximum allowed payload size (\(FunctionLimits.syncResponseBytesReported) bytes).")
        case nil:
            outcome = endedWithoutResult(requestID: request.requestID)
        }
        outcome.durationMs = duration
        outcome.initDurationMs = initMs
        outcome.maxMemoryUsedMB = memory
        let log = output.end() ?? InvocationLog(requestID: request.requestID, version: request.function.versionName)
        outcome.log = log.finished(durationMs: duration, memorySizeMB: function.memorySizeMB, maxMemoryUsedMB: memory, initDurationMs: initMs)
        current = nil
        if phase == .invoking { phase = .ready }
        return outcome
    }

    /// Shuts the environment down: SHUTDOWN to extensions, SIGTERM, SIGKILL after the grace period.
    func shutdown(reason: String) async {
        guard phase != .dead else { return }
        phase = .dead
        markUnusable()
        finishInvocation(nil)
        if let waiter = initWaiter {
            initWaiter = nil
            waiter.resume(returning: .failed(.systemFailure(.shuttingDown), type: "Runtime.Shutdown", payload: ByteBuffer()))
        }
        expireReadyWaiters()
        let deadline = WallClock().now() + Int64(settings.shutdownGrace.milliseconds)
        deliver(ExtensionEvent(json: #"{"eventType":"SHUTDOWN","shutdownReason":"\#(reason == "SPINDOWN" ? "spindown" : reason.lowercased())","deadlineMs":\#(deadline)}"#), to: "SHUTDOWN")
        runtimeWaiting?.resume(returning: .shutdown)
        runtimeWaiting = nil
        let grace = settings.shutdownGrace
        await withTaskGroup(of: Void.self) { group in
            if let runtime { group.addTask { await runtime.terminate(grace: grace) } }
            // Extensions got SHUTDOWN and end by themselves within the grace period; whatever is left is killed.
            for child in extensionProcesses {
                group.addTask {
                    if await !child.exited(within: grace) {
                        child.signal(SIGKILL)
                        _ = await child.exited()
                    }
                }
            }
        }
        for (identifier, ext) in extensions {
            ext.waiting?.resume(returning: nil)
            extensions[identifier]?.waiting = nil
        }
        await server?.stop()
        server = nil
        await releaseSandbox()
        if let temporaryDirectory { try? FileManager.default.removeItem(atPath: temporaryDirectory) }
        logger.debug("environment shut down", metadata: ["reason": "\(reason)"])
    }
}
