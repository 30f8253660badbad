import SpoolModel

/// Hands each invocation to the executor the function is configured for.
package struct ExecutorRouter: FunctionExecutor {
    package let process: ProcessExecutor
    package let webhook: WebhookExecutor
    package let inProcess: InProcessExecutor

    package init(process: ProcessExecutor, webhook: WebhookExecutor, inProcess: InProcessExecutor) {
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

    package func invoke(_ request: InvocationRequest) async -> InvocationOutcome {
        await executor(for: request.function.executor).invoke(request)
    }

    package func functionChanged(name: String, to definition: FunctionDefinition?) async {
        // A function may have moved between executors: every one of them forgets the old definition.
        await process.functionChanged(name: name, to: definition?.executor == .process ? definition : nil)
    }

    package func provisionedReadiness(of name: String) async -> ProvisionedReadiness {
        await process.provisionedReadiness(of: name)
    }
}
