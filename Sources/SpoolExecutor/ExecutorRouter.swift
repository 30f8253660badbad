import SpoolModel

/// Hands each invocation to the executor the function is configured for.
public struct ExecutorRouter: FunctionExecutor {
    public let process: ProcessExecutor
    public let webhook: WebhookExecutor
    public let inProcess: InProcessExecutor

    public init(process: ProcessExecutor, webhook: WebhookExecutor, inProcess: InProcessExecutor) {
        self.process = process
        self.webhook = webhook
        self.inProcess = inProcess
    }

    func executor(for kind: FunctionDefinition.ExecutorKind) -> any FunctionExecutor {
        switch kind {
        case .process: process
        case .webhook: webhook
        case .inProcess: inProcess
        }
    }

    public func invoke(_ request: InvocationRequest) async -> InvocationOutcome {
        await executor(for: request.function.executor).invoke(request)
    }

    public func functionChanged(name: String, to definition: FunctionDefinition?) async {
        // A function may have moved between executors: every one of them forgets the old definition.
        await process.functionChanged(name: name, to: definition?.executor == .process ? definition : nil)
    }

    public func provisionedReadiness(of name: String) async -> ProvisionedReadiness {
        await process.provisionedReadiness(of: name)
    }
}
