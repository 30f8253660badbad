import Foundation
import Logging
import NIOCore
import SpoolModel
import Synchronization

/// One execution environment: a runtime process (and its extensions) started in the function's code
/// directory, with its own Runtime API address and its own `/tmp`.
///
/// It goes through init once, then serves one invocation at a time until it is shut down (idle, a new
/// revision of the function, service stop) or reset (timeout, crash, out of memory). The Runtime API
/// handlers call into this actor; so do the executor's invoke and shutdown.
actor ExecutionEnvironment {
    enum Phase: Equatable {
        case created, initializing, ready, invoking, dead
    }

    /// How init ended.
    enum InitResult: Sendable {
        case ready(durationMs: Double)
        case failed(InvocationOutcome.Status, type: String, payload: ByteBuffer)
    }

    struct InFlight {
        var invocation: RuntimeInvocation
        /// Where a streamed response goes (InvokeWithResponseStream), if the caller reads one.
        var stream: ResponseStream?
        var continuation: CheckedContinuation<RuntimeResult?, Never>?
        var result: RuntimeResult?
        /// Set once the invocation has ended, with or without a result.
        var finished = false
    }

    struct Extension {
        var name: String
        var events: Set<String>
        var waiting: CheckedContinuation<ExtensionEvent?, Never>?
        var queued: [ExtensionEvent] = []
    }

    nonisolated let id: Int
    nonisolated let function: FunctionDefinition
    nonisolated let provisioned: Bool
    nonisolated let output = EnvironmentOutput()
    /// The processes allowed to use this environment's Runtime API.
    nonisolated let peers = RuntimePeers()
    let settings: ProcessExecutorSettings
    let logger: Logger

    var phase = Phase.created
    var server: RuntimeAPIServer?
    var runtime: ChildProcess?
    var extensionProcesses: [ChildProcess] = []
    var expectedExtensions = 0
    var extensions: [String: Extension] = [:]
    var registrationOpen = true
    var runtimeWaiting: CheckedContinuation<RuntimeNext, Never>?
    var current: InFlight?
    var initWaiter: CheckedContinuation<InitResult, Never>?
    var readyWaiters: [CheckedContinuation<Bool, Never>] = []
    var initError: (type: String, payload: ByteBuffer)?
    var unreportedInitMs: Double?
    var temporaryDirectory: String?
    /// In the sandbox: the process holding the environment's mount namespace, and its cgroup.
    var holder: ChildProcess?
    var cgroup: EnvironmentCgroup?
    /// Set by `prepareFilesystem` once the environment's filesystem is made.
    var paths: EnvironmentPaths?
    var timedOut = false
    var initTimer: Task<Void, any Error>?
    var outOfMemory = false
    var crashed: ChildProcess.Exit?

    init(id: Int, function: FunctionDefinition, provisioned: Bool, settings: ProcessExecutorSettings, logger: Logger) {
        self.id = id
        self.function = function
        self.provisioned = provisioned
        self.settings = settings
        var logger = logger
        logger[metadataKey: "function"] = "\(function.name)"
        logger[metadataKey: "environment"] = "\(id)"
        self.logger = logger
    }

    /// False once the environment has begun shutting down or its runtime has exited. Readable without
    /// awaiting, so that the pool can choose environments without suspending (and without races).
    nonisolated var isUsable: Bool { usable.load(ordering: .acquiring) }
    private let usable = Atomic<Bool>(true)

    func markUnusable() {
        usable.store(false, ordering: .releasing)
    }

    // MARK: Runtime API

    /// `GET /runtime/invocation/next`: the runtime is ready; it waits here for the next event.
    func runtimeNext() async -> RuntimeNext {
        guard phase != .dead else { return .shutdown }
        if phase == .invoking, current?.finished == false {
            // Asking for the next event without answering this one: Lambda treats it as an empty response.
            finishInvocation(.response(ByteBuffer()))
        }
        return await withCheckedContinuation { continuation in
            runtimeWaiting?.resume(returning: .superseded)
            runtimeWaiting = continuation
            checkReady()
        }
    }

    /// `POST /runtime/invocation/{id}/response` and `/error`. Returns false for an unknown request id.
    func post(_ result: RuntimeResult, requestID: String) -> Bool {
        guard let current, current.invocation.requestID == requestID, !current.finished else { return false }
        finishInvocation(result)
        return true
    }

    /// The stream a response in streaming mode goes to, for the invocation in flight with this id; `nil` when the
    /// caller reads no stream (the response is then collected whole).
    func responseStream(for requestID: String) -> ResponseStream? {
        guard let current, current.invocation.requestID == requestID, !current.finished else { return nil }
        return current.stream
    }

    /// `POST /runtime/init/error`.
    func postInitError(type: String, payload: ByteBuffer) {
        initError = (type, payload)
        if let waiter = initWaiter {
            initWaiter = nil
            waiter.resume(returning: .failed(.functionError(type: type), type: type, payload: payload))
        }
    }

    /// `POST /extension/register`: returns the identifier, or an error type.
    func registerExtension(name: String, events: [String]) -> Result<String, RuntimeAPIError> {
        guard registrationOpen else { return .failure(.init(status: 403, type: "Extension.RegistrationClosed", message: "registration is closed")) }
        guard extensions.count < 10 else { return .failure(.init(status: 400, type: "Extension.TooManyExtensions", message: "at most 10 extensions")) }
        if let bad = events.first(where: { $0 != "INVOKE" && $0 != "SHUTDOWN" }) {
            return .failure(.init(status: 400, type: "Extension.InvalidEventType", message: "unknown event type \(bad)"))
        }
        let identifier = UUID().uuidString.lowercased()
        extensions[identifier] = Extension(name: name, events: Set(events))
        logger.debug("extension registered", metadata: ["extension": "\(name)"])
        checkReady()
        return .success(identifier)
    }

    /// `GET /extension/event/next`.
    func extensionNext(identifier: String) async -> Result<ExtensionEvent?, RuntimeAPIError> {
        guard var ext = extensions[identifier] else {
            return .failure(.init(status: 403, type: "Extension.InvalidExtensionIdentifier", message: "unknown extension identifier"))
        }
        if !ext.queued.isEmpty {
            let event = ext.queued.removeFirst()
            extensions[identifier] = ext
            return .success(event)
        }
        let event = await withCheckedContinuation { continuation in
            extensions[identifier]?.waiting = continuation
            checkReady()
        }
        return .success(event)
    }

    /// `POST /extension/init/error` and `/exit/error`.
    func extensionFailed(identifier: String, type: String) -> Bool {
        guard let ext = extensions[identifier] else { return false }
        let payload = InvocationOutcome.errorDocument(type: type, message: "Extension \(ext.name) failed: \(type)")
        if phase == .initializing { postInitError(type: type, payload: payload) }
        return true
    }

    func extensionInfo() -> (functionName: String, version: String, handler: String) {
        (AWSIdentity.plainName(function.name), function.versionName, function.handler ?? "")
    }

    // MARK: Log

    /// Where the runtime's and extensions' output lines go: straight into the log, and to Spool's debug log.
    nonisolated var lineSink: @Sendable (String) -> Void {
        { [output, logger] line in
            let requestID = output.append(line)
            logger.debug("\(line)", metadata: ["requestId": "\(requestID ?? "init")"])
        }
    }

    // MARK: Helpers

    func finishInvocation(_ result: RuntimeResult?) {
        guard current != nil, !current!.finished else { return }
        current!.finished = true
        current!.result = result
        let continuation = current!.continuation
        current!.continuation = nil
        continuation?.resume(returning: result)
    }

    /// Init and reuse both wait for the runtime and every registered extension to be blocked in `next`.
    var everyoneWaiting: Bool {
        runtimeWaiting != nil && extensions.count >= expectedExtensions && extensions.values.allSatisfy { $0.waiting != nil || !$0.queued.isEmpty }
    }

    func checkReady() {
        guard everyoneWaiting else { return }
        if phase == .initializing, let waiter = initWaiter {
            initWaiter = nil
            waiter.resume(returning: .ready(durationMs: 0))
        }
        let waiters = readyWaiters
        readyWaiters = []
        for waiter in waiters { waiter.resume(returning: true) }
    }

    func deliver(_ event: ExtensionEvent, to kind: String) {
        for (identifier, var ext) in extensions where ext.events.contains(kind) {
            if let waiting = ext.waiting {
                ext.waiting = nil
                extensions[identifier] = ext
                waiting.resume(returning: event)
            } else {
                ext.queued.append(event)
                extensions[identifier] = ext
            }
        }
    }
}

/// An error a Runtime API or Extensions API route answers with.
struct RuntimeAPIError: Error, Sendable {
    var status: Int
    var type: String
    var message: String
}
