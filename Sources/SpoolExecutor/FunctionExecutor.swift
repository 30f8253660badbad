import SpoolModel

/// Runs one invocation of a function and says how it ended.
///
/// An executor never throws: every way an invocation can end is an `InvocationOutcome`, so that the
/// engine can tell a function error (consumes a retry) from a timeout and from a failure of Spool's
/// own machinery (environment not prepared, webhook unreachable, no environment free), which retries differently.
public protocol FunctionExecutor: Sendable {
    /// Runs the invocation to its end, bounded by the function's timeout.
    func invoke(_ request: InvocationRequest) async -> InvocationOutcome

    /// Told when a function's definition changed (new code, configuration or provisioned concurrency)
    /// or, with `nil`, when it was deleted: environments of older revisions must not serve again.
    func functionChanged(name: String, to definition: FunctionDefinition?) async

    /// How many environments are initialized and how many are ready for the provisioned concurrency of a function.
    func provisionedReadiness(of name: String) async -> ProvisionedReadiness
}

/// The state of a function's provisioned environments.
public struct ProvisionedReadiness: Sendable, Equatable {
    public var requested: Int
    /// Environments that finished init and are kept warm.
    public var allocated: Int
    /// Allocated environments not serving an invocation right now.
    public var available: Int
    /// Why environments could not be initialized, if they could not.
    public var failureReason: String?

    public init(requested: Int = 0, allocated: Int = 0, available: Int = 0, failureReason: String? = nil) {
        self.requested = requested
        self.allocated = allocated
        self.available = available
        self.failureReason = failureReason
    }
}

extension FunctionExecutor {
    public func functionChanged(name: String, to definition: FunctionDefinition?) async {}
    public func provisionedReadiness(of name: String) async -> ProvisionedReadiness { ProvisionedReadiness() }
}
