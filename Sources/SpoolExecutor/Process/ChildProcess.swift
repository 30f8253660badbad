import Foundation
import SpoolSignals
import Logging
import Subprocess
import Synchronization
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// One child process of an execution environment, in a process group of its own so that whatever it
/// starts (a bootstrap script's `curl`, say) is signalled and reaped with it.
///
/// Its standard output and error are read line by line and handed to `onLine`. `exited` resolves once
/// the process has ended and its pipes are drained.
final class ChildProcess: Sendable {
    /// How the process ended.
    enum Exit: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)
        case failedToStart(String)

        /// Lambda's wording: `exit status 1`, `signal: killed`.
        var description: String {
            switch self {
            case .exited(let code): return "exit status \(code)"
            case .signaled(let signal): return signal == SIGKILL ? "signal: killed" : signal == SIGTERM ? "signal: terminated" : "signal: \(signal)"
            case .failedToStart(let reason): return reason
            }
        }
    }

    private struct State {
        var pipes: [OutputPipe] = []
        var pid: pid_t?
        var exit: Exit?
        var waiters: [CheckedContinuation<Exit, Never>] = []
    }

    private let state = Mutex(State())
    let name: String

    private init(name: String) {
        self.name = name
    }

    /// Starts `executable` and returns once it is running (or has failed to start).
    static func spawn(
        name: String, executable: String, arguments: [String], environment: [String: String], workingDirectory: String,
        guard orphans: OrphanGuard = OrphanGuard(directory: nil), onStarted: @escaping @Sendable (pid_t) -> Void = { _ in },
        onLine: @escaping @Sendable (String) -> Void
    ) async -> ChildProcess {
        let child = ChildProcess(name: name)
        let marker = OrphanGuard.makeMarker()
        var environment = environment
        environment[OrphanGuard.markerVariable] = marker
        let started = AsyncStream<Void>.makeStream()
        var options = PlatformOptions()
        options.processGroupID = 0
        // strdup'ed by Subprocess: each entry needs its terminating NUL.
        let variables = environment.map { Array("\($0.key)=\($0.value)".utf8) + [0] }
        let pipes: (OutputPipe, OutputPipe)
        do {
            pipes = (try OutputPipe(), try OutputPipe())
        } catch {
            child.finish(.failedToStart("\(error)"))
            return child
        }
        child.state.withLock { $0.pipes = [pipes.0, pipes.1] }
        pipes.0.start(onLine: onLine)
        pipes.1.start(onLine: onLine)
        Task.detached {
            do {
                let result = try await Subprocess.run(
                    .path(FilePath(executable)), arguments: Arguments(arguments), environment: .custom(variables),
                    workingDirectory: FilePath(workingDirectory), platformOptions: options, input: .none,
                    output: .fileDescriptor(FileDescriptor(rawValue: pipes.0.writeDescriptor), closeAfterSpawningProcess: true),
                    error: .fileDescriptor(FileDescriptor(rawValue: pipes.1.writeDescriptor), closeAfterSpawningProcess: true)
                ) { execution in
                    child.state.withLock { $0.pid = execution.processIdentifier.value }
                    onStarted(execution.processIdentifier.value)
                    orphans.record(pid: execution.processIdentifier.value, marker: marker)
                    defer { orphans.forget(pid: execution.processIdentifier.value) }
                    started.continuation.finish()
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask { await pipes.0.finished() }
                        group.addTask { await pipes.1.finished() }
                        group.addTask { await child.watchForExit() }
                        await group.waitForAll()
                    }
                }
                switch result.terminationStatus {
                case .exited(let code): child.finish(.exited(code))
                case .signaled(let signal): child.finish(.signaled(signal))
                }
            } catch {
                child.finish(.failedToStart("\(error)"))
            }
            started.continuation.finish()
        }
        for await _ in started.stream {}
        return child
    }

    /// Whether everything the process has written to its standard output and error so far was handed to `onLine`.
    var outputDrained: Bool { state.withLock { $0.pipes }.allSatisfy(\.isDrained) }

    /// The process id, while the process runs.
    var pid: pid_t? { state.withLock { $0.exit == nil ? $0.pid : nil } }

    /// How it ended, if it has.
    var exit: Exit? { state.withLock { $0.exit } }

    /// Waits for the process to end.
    func exited() async -> Exit {
        await withCheckedContinuation { continuation in
            let done: Exit? = state.withLock { state in
                if let exit = state.exit { return exit }
                state.waiters.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    /// Waits up to `timeout` for the process to end; `true` if it did.
    func exited(within timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { _ = await self.exited(); return true }
            group.addTask { await WakeSignal.sleep(for: timeout); return false }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// Sends `signal` to the whole process group while it runs.
    func signal(_ signal: Int32) {
        guard let pid else { return }
        kill(-pid, signal)
    }

    /// SIGTERM, then SIGKILL for what is still running after `grace`.
    func terminate(grace: Duration) async {
        guard pid != nil else { return }
        signal(SIGTERM)
        if await exited(within: grace) { return }
        signal(SIGKILL)
        _ = await exited()
    }

    private func finish(_ exit: Exit) {
        let waiters = state.withLock { state -> [CheckedContinuation<Exit, Never>] in
            guard state.exit == nil else { return [] }
            state.exit = exit
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: exit) }
    }

    /// Ends the group once the leader has died, so that pipes held open by its children close and the
    /// reader sees the end: a crashed runtime must not look alive because a `curl` it started still runs.
    private func watchForExit() async {
        while let pid = state.withLock({ $0.pid }) {
            if ProcessStatus.isGone(pid) {
                kill(-pid, SIGKILL)
                return
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}
