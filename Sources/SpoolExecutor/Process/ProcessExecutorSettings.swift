import SpoolModel

/// The tunables of the process executor, from Spool's configuration.
package struct ProcessExecutorSettings: Sendable {
    /// The interpreter that runs `python3.x` functions as `PYTHON -m awslambdaric HANDLER`.
    package var pythonExecutable = "python3"
    /// The Node.js executables that run `nodejsNN.x` functions under Spool's own runtime client.
    package var node = NodeInstallations()
    /// Where the runtime clients Spool ships (Node.js's) are written for environments to run (`DATA_DIR/runtime`);
    /// `nil`: a folder under `temporaryRoot`.
    package var runtimeDirectory: String?
    /// The per-environment sandbox, when this node has one (`Sandbox.prepare`); `nil`: plain child processes.
    package var sandbox: Sandbox?
    /// How long init (extensions registering, the runtime reaching its first `next`) may take, as Lambda's 10 s.
    package var initTimeout: Duration = .seconds(10)
    /// How long an environment may sit unused before it is shut down.
    package var idleTimeout: Duration = .seconds(300)
    /// Time a runtime (and its extensions) get after SIGTERM before SIGKILL.
    package var shutdownGrace: Duration = .seconds(2)
    /// The most environments alive at once, across functions. When all of them are busy, an invocation that
    /// would need another ends at once as `atCapacity` (a throttle); idle ones are shut down to make room.
    package var maxEnvironments = 64
    /// The account and region in ARNs and `AWS_REGION`.
    package var identity = AWSIdentity()
    /// Where environments' temporary directories are made.
    package var temporaryRoot = "/tmp"
    /// Where running environments are recorded so that a restarted Spool can end what a killed one left
    /// (`DATA_DIR/run`); `nil` records nothing.
    package var stateDirectory: String?

    package init() {}
}
