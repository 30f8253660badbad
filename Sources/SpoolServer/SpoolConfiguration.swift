import Configuration
import Foundation
import Logging
import SpoolEngine
import SpoolExecutor
import SpoolModel
import SpoolPostgres
import SpoolSQLite
import SystemPackage

/// Every setting of a Spool server, with its default.
///
/// Built once at start-up from, in rising precedence: these defaults, the JSON file given with
/// `--config`, `SPOOL_*` environment variables, and command-line flags. `Config/spool.example.json`
/// lists every key. A bad value fails start-up with a message that names its key.
public struct SpoolConfiguration: Sendable, Equatable {
    /// `host`, `SPOOL_HOST`: the address to listen on.
    public var host = "127.0.0.1"
    /// `port`, `SPOOL_PORT`: the TCP port to listen on.
    public var port = 9070
    /// `http2Port`, `SPOOL_HTTP2_PORT`, `--http2-port`: a second port serving the same APIs over cleartext HTTP/2 (prior
    /// knowledge, as the AWS SDK for Java's async clients and the KCL connect to an `http://` endpoint); unset or empty, none.
    public var http2Port: Int?
    /// `dataDir`, `SPOOL_DATA_DIR`: where the SQLite database lives, and (with `database`) this node's own files: its id,
    /// unpacked function code, environments' state.
    public var dataDir = "./spool-data"
    /// `database`, `SPOOL_DATABASE_URL`, `--database`: `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=disable|prefer|require]`
    /// to keep every record in that PostgreSQL database, shared by every Spool node given the same URL; unset (or empty),
    /// SQLite in `dataDir`.
    public var database: String?
    /// `accountId`, `SPOOL_ACCOUNT_ID`: the twelve-digit account in ARNs and queue URLs.
    public var accountID = "000000000000"
    /// `region`, `SPOOL_REGION`: the region in ARNs.
    public var region = "us-east-1"
    /// `durability`, `SPOOL_DURABILITY`: `full` (survives power loss) or `normal` (survives process crashes).
    public var durability = SQLiteDurability.full
    /// `logLevel`, `SPOOL_LOG_LEVEL`: trace, debug, info, notice, warning, error or critical.
    public var logLevel = Logger.Level.info
    /// `sqs.retentionSweepSeconds`, `SPOOL_SQS_RETENTION_SWEEP_SECONDS`: how often expired messages are removed.
    public var retentionSweepSeconds = 30
    /// `sqs.moveTaskChunk`, `SPOOL_SQS_MOVE_TASK_CHUNK`: most messages a move task moves per transaction.
    public var moveTaskChunk = 100
    /// `functions.concurrencyLimit`, `SPOOL_FUNCTIONS_CONCURRENCY_LIMIT`: the account's concurrent executions (Lambda: 1,000).
    public var concurrencyLimit = 1000
    /// `functions.maxEnvironments`, `SPOOL_FUNCTIONS_MAX_ENVIRONMENTS`: most process environments alive at once.
    public var maxEnvironments = 64
    /// `functions.idleTimeoutSeconds`, `SPOOL_FUNCTIONS_IDLE_TIMEOUT_SECONDS`: an unused environment is shut down after this long.
    public var idleTimeoutSeconds = 300
    /// `functions.initTimeoutSeconds`, `SPOOL_FUNCTIONS_INIT_TIMEOUT_SECONDS`: the limit on an environment's init (Lambda: 10).
    public var initTimeoutSeconds = 10
    /// `functions.shutdownGraceMs`, `SPOOL_FUNCTIONS_SHUTDOWN_GRACE_MS`: time between SIGTERM and SIGKILL when an environment stops.
    public var shutdownGraceMs = 2000
    /// `functions.python`, `SPOOL_FUNCTIONS_PYTHON`: the interpreter that runs `python3.x` functions (it needs awslambdaric).
    public var python = "python3"
    /// `functions.node`, `SPOOL_FUNCTIONS_NODE`: the Node.js that runs `nodejsNN.x` functions of its major version.
    public var node = "node"
    /// `functions.nodeVersions`, `SPOOL_FUNCTIONS_NODE_VERSIONS`: runtimes mapped to other Node.js executables
    /// (`{"nodejs18.x": "/opt/node18/bin/node"}` in the file, `nodejs18.x=/opt/node18/bin/node,…` as a variable); a
    /// mapped runtime runs under its executable whatever that one's version.
    public var nodeVersions: [String: String] = [:]
    /// `functions.isolation`, `SPOOL_FUNCTIONS_ISOLATION`: `auto` (a sandbox per environment where the host allows it),
    /// `sandbox` (refuse to start without it) or `none` (plain child processes).
    public var isolation = IsolationRequest.auto
    /// The spool executable, which carries the sandbox helper (`spool __sandbox`); set by `spool serve`. An embedding
    /// program without it runs environments without the sandbox.
    public var sandboxHelper: String?
    /// `async.retryBaseDelayMs`, `SPOOL_ASYNC_RETRY_BASE_DELAY_MS`: after a function error the n-th retry waits n × this (AWS: 60 s).
    public var asyncRetryBaseDelayMs = 60_000
    /// `async.throttleBaseDelayMs`, `SPOOL_ASYNC_THROTTLE_BASE_DELAY_MS`: first back-off after a throttle or system failure (AWS: 1 s).
    public var asyncThrottleBaseDelayMs = 1_000
    /// `async.throttleMaxDelayMs`, `SPOOL_ASYNC_THROTTLE_MAX_DELAY_MS`: the longest such back-off (AWS: 5 min).
    public var asyncThrottleMaxDelayMs = 300_000
    /// `async.idempotencyWindowSeconds`, `SPOOL_ASYNC_IDEMPOTENCY_WINDOW_SECONDS`: how long an `Idempotency-Key` is remembered.
    public var asyncIdempotencyWindowSeconds = 3_600
    /// `async.claimBatch`, `SPOOL_ASYNC_CLAIM_BATCH`: events of one function claimed per dispatch round (the fairness quantum).
    public var asyncClaimBatch = 10
    /// `auth.credentials`, `SPOOL_AUTH_CREDENTIALS`: `KEYID:SECRET[,KEYID:SECRET…]`. When set, every API request must carry
    /// a valid Signature Version 4 from one of them; when empty, Spool accepts unsigned requests.
    public var credentials: [String: String] = [:]
    /// `auth.allowUnsignedRemote`, `SPOOL_AUTH_ALLOW_UNSIGNED_REMOTE`, `--allow-unsigned-remote`: listen on a non-loopback
    /// address without credentials. Off by default: start-up refuses it.
    public var allowUnsignedRemote = false
    /// `limits.maxBacklog`, `SPOOL_LIMITS_MAX_BACKLOG`: waiting asynchronous events (and, separately, stored SQS messages)
    /// above which intake answers 429 until the backlog drains.
    public var maxBacklog = 10_000_000
    /// `limits.maxMemoryMB`, `SPOOL_LIMITS_MAX_MEMORY_MB`: resident memory above which every intake request answers 429.
    public var maxMemoryMB = 4_096
    /// `limits.checkIntervalMs`, `SPOOL_LIMITS_CHECK_INTERVAL_MS`: how often the backlog and memory are measured.
    public var limitsCheckIntervalMs = 1_000
    /// `shutdown.graceSeconds`, `SPOOL_SHUTDOWN_GRACE_SECONDS`: how long SIGTERM waits for running asynchronous events;
    /// those still running then are cut off and run again at the next start.
    public var shutdownGraceSeconds = 30
    /// `logs.enabled`, `SPOOL_LOGS_ENABLED`: keep every invocation's log and outcome in the journal (admin API, `spool logs`, dashboard).
    public var logsEnabled = true
    /// `logs.retentionHours`, `SPOOL_LOGS_RETENTION_HOURS`: how long journal records (function logs) are kept.
    public var logsRetentionHours = 72
    /// `logs.maxRecords`, `SPOOL_LOGS_MAX_RECORDS`: the most invocations the journal keeps; the oldest beyond it are deleted.
    public var logsMaxRecords = 1_000_000
    /// `logFormat`, `SPOOL_LOG_FORMAT`, `--log-format`: `text` (human-readable lines) or `json` (one object per line).
    public var logFormat = "text"
    /// `functions.declared` (file only): functions declared in the configuration file, re-applied at every start.
    public var declaredFunctions: [DeclaredFunction] = []
    /// The folder of the configuration file, against which declared code directories are resolved.
    public var configurationDirectory = FileManager.default.currentDirectoryPath

    public init() {}

    /// The asynchronous invocation settings the engine runs with.
    package var asyncSettings: AsyncSettings {
        AsyncSettings(
            retryPolicy: AsyncRetryPolicy(functionErrorBase: Millis(asyncRetryBaseDelayMs), throttleBase: Millis(asyncThrottleBaseDelayMs),
                                          throttleMax: Millis(asyncThrottleMaxDelayMs)),
            idempotencyWindow: Millis(asyncIdempotencyWindowSeconds) * 1_000, claimBatch: asyncClaimBatch,
            shutdownGrace: .seconds(shutdownGraceSeconds)
        )
    }

    /// The AWS identity the settings describe.
    public var identity: AWSIdentity { AWSIdentity(accountID: accountID, region: region) }

    /// A configuration error, naming the key at fault.
    public struct Invalid: Error, CustomStringConvertible {
        public var key: String
        public var reason: String
        public var description: String { "Invalid configuration value for '\(key)': \(reason)" }
    }

    /// Reads the configuration.
    /// - Parameters:
    ///   - flags: values given on the command line, by configuration key.
    ///   - environment: the process environment; only `SPOOL_*` variables are read.
    ///   - file: the JSON configuration file, if any.
    public static func load(flags: [String: String] = [:], environment: [String: String] = ProcessInfo.processInfo.environment, file: String? = nil) async throws -> SpoolConfiguration {
        var spoolVariables: [String: String] = [:]
        for (name, value) in environment where name.hasPrefix("SPOOL_") {
            spoolVariables[String(name.dropFirst("SPOOL_".count))] = value
        }
        var providers: [any ConfigProvider] = [
            InMemoryProvider(name: "flags", values: Dictionary(uniqueKeysWithValues: flags.map { (AbsoluteConfigKey($0.key.split(separator: ".").map(String.init)), ConfigValue(.string($0.value), isSecret: false)) })),
            EnvironmentVariablesProvider(environmentVariables: spoolVariables),
        ]
        if let file {
            guard FileManager.default.fileExists(atPath: file) else { throw Invalid(key: "config", reason: "file \(file) does not exist") }
            try checkKeys(ofFile: file)
            do {
                providers.append(try await FileProvider<JSONSnapshot>(filePath: .init(try scalarCopy(of: file))))
            } catch {
                throw Invalid(key: "config", reason: "cannot read \(file) as JSON: \(error)")
            }
        }
        let reader = ConfigReader(providers: providers)
        var config = SpoolConfiguration()
        config.host = reader.string(forKey: "host", default: config.host)
        config.port = try integer(reader, "port", default: config.port, in: 0...65535)
        // Unset or empty (the example file's ""): no HTTP/2 port. The key's own variable would be SPOOL_HTTP2PORT;
        // SPOOL_HTTP2_PORT is read too.
        if reader.int(forKey: "http2Port") != nil || !(reader.string(forKey: "http2Port") ?? "").isEmpty {
            config.http2Port = try integer(reader, "http2Port", default: 0, in: 0...65535)
        } else if let text = spoolVariables["HTTP2_PORT"], !text.isEmpty {
            guard let port = Int(text), (0...65535).contains(port) else {
                throw Invalid(key: "http2Port", reason: "must be an integer from 0 to 65535, not '\(text)'")
            }
            config.http2Port = port
        }
        config.dataDir = reader.string(forKey: "dataDir", default: config.dataDir)
        // SPOOL_DATABASE_URL is the usual name of such a variable; SPOOL_DATABASE (the key's own) is read too.
        let database = reader.string(forKey: "database", default: spoolVariables["DATABASE_URL"] ?? "")
        if !database.isEmpty {
            if let refusal = PostgresURL.refusal(of: database) { throw Invalid(key: "database", reason: refusal) }
            config.database = database
        }
        config.accountID = reader.string(forKey: "accountId", default: config.accountID)
        guard config.accountID.count == 12, config.accountID.allSatisfy(\.isNumber) else {
            throw Invalid(key: "accountId", reason: "must be twelve digits, not '\(config.accountID)'")
        }
        config.region = reader.string(forKey: "region", default: config.region)
        guard !config.region.isEmpty, config.region.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" }) else {
            throw Invalid(key: "region", reason: "must look like us-east-1, not '\(config.region)'")
        }
        let durability = reader.string(forKey: "durability", default: config.durability.rawValue)
        guard let parsed = SQLiteDurability(rawValue: durability.lowercased()) else {
            throw Invalid(key: "durability", reason: "must be 'full' or 'normal', not '\(durability)'")
        }
        config.durability = parsed
        if config.database != nil, parsed != .full {
            throw Invalid(key: "durability", reason: "applies to SQLite only; with a PostgreSQL database, durability is the server's "
                + "synchronous_commit (Spool acknowledges a write once PostgreSQL committed it)")
        }
        let level = reader.string(forKey: "logLevel", default: config.logLevel.rawValue)
        guard let logLevel = Logger.Level(rawValue: level.lowercased()) else {
            throw Invalid(key: "logLevel", reason: "must be one of trace, debug, info, notice, warning, error, critical")
        }
        config.logLevel = logLevel
        config.retentionSweepSeconds = try integer(reader, "sqs.retentionSweepSeconds", default: config.retentionSweepSeconds, in: 1...86_400)
        config.moveTaskChunk = try integer(reader, "sqs.moveTaskChunk", default: config.moveTaskChunk, in: 1...10_000)
        config.concurrencyLimit = try integer(reader, "functions.concurrencyLimit", default: config.concurrencyLimit, in: 1...100_000)
        config.maxEnvironments = try integer(reader, "functions.maxEnvironments", default: config.maxEnvironments, in: 1...10_000)
        config.idleTimeoutSeconds = try integer(reader, "functions.idleTimeoutSeconds", default: config.idleTimeoutSeconds, in: 1...86_400)
        config.initTimeoutSeconds = try integer(reader, "functions.initTimeoutSeconds", default: config.initTimeoutSeconds, in: 1...900)
        config.shutdownGraceMs = try integer(reader, "functions.shutdownGraceMs", default: config.shutdownGraceMs, in: 0...60_000)
        config.python = reader.string(forKey: "functions.python", default: config.python)
        config.node = reader.string(forKey: "functions.node", default: config.node)
        let isolation = reader.string(forKey: "functions.isolation", default: config.isolation.rawValue)
        guard let request = IsolationRequest(rawValue: isolation.lowercased()) else {
            throw Invalid(key: "functions.isolation", reason: "must be auto, sandbox or none, not '\(isolation)'")
        }
        config.isolation = request
        if let text = reader.string(forKey: "functions.nodeVersions"), !text.isEmpty {
            config.nodeVersions = try parseNodeVersions(text)
        }
        config.asyncRetryBaseDelayMs = try integer(reader, "async.retryBaseDelayMs", default: config.asyncRetryBaseDelayMs, in: 1...3_600_000)
        config.asyncThrottleBaseDelayMs = try integer(reader, "async.throttleBaseDelayMs", default: config.asyncThrottleBaseDelayMs, in: 1...300_000)
        config.asyncThrottleMaxDelayMs = try integer(reader, "async.throttleMaxDelayMs", default: config.asyncThrottleMaxDelayMs, in: 1...3_600_000)
        guard config.asyncThrottleMaxDelayMs >= config.asyncThrottleBaseDelayMs else {
            throw Invalid(key: "async.throttleMaxDelayMs", reason: "must not be less than async.throttleBaseDelayMs")
        }
        config.asyncIdempotencyWindowSeconds = try integer(reader, "async.idempotencyWindowSeconds", default: config.asyncIdempotencyWindowSeconds,
                                                           in: 1...604_800)
        config.asyncClaimBatch = try integer(reader, "async.claimBatch", default: config.asyncClaimBatch, in: 1...1_000)
        config.maxBacklog = try integer(reader, "limits.maxBacklog", default: config.maxBacklog, in: 1...1_000_000_000)
        config.maxMemoryMB = try integer(reader, "limits.maxMemoryMB", default: config.maxMemoryMB, in: 16...16_777_216)
        config.limitsCheckIntervalMs = try integer(reader, "limits.checkIntervalMs", default: config.limitsCheckIntervalMs, in: 10...60_000)
        config.shutdownGraceSeconds = try integer(reader, "shutdown.graceSeconds", default: config.shutdownGraceSeconds, in: 0...3_600)
        config.logsRetentionHours = try integer(reader, "logs.retentionHours", default: config.logsRetentionHours, in: 1...8_760)
        config.logsEnabled = try boolean(reader, "logs.enabled", default: config.logsEnabled)
        config.logsMaxRecords = try integer(reader, "logs.maxRecords", default: config.logsMaxRecords, in: 1_000...1_000_000_000)
        let format = reader.string(forKey: "logFormat", default: config.logFormat).lowercased()
        guard ["text", "json"].contains(format) else { throw Invalid(key: "logFormat", reason: "must be text or json, not '\(format)'") }
        config.logFormat = format
        config.credentials = try parseCredentials(reader.string(forKey: "auth.credentials", isSecret: true, default: ""))
        config.allowUnsignedRemote = try boolean(reader, "auth.allowUnsignedRemote", default: false)
        if config.credentials.isEmpty, !config.allowUnsignedRemote, !isLoopback(config.host) {
            throw Invalid(key: "host", reason: "\(config.host) is not a loopback address and no credentials are configured (auth.credentials, "
                + "SPOOL_AUTH_CREDENTIALS): anyone who can reach it could use every API. Configure credentials, or pass --allow-unsigned-remote "
                + "(auth.allowUnsignedRemote) to accept unsigned requests from the network")
        }
        if let file, let mapped = try nodeVersions(inFile: file) { config.nodeVersions = mapped }
        if let file {
            config.configurationDirectory = (URL(fileURLWithPath: file).standardizedFileURL.path as NSString).deletingLastPathComponent
            config.declaredFunctions = try declaredFunctions(inFile: file)
        }
        return config
    }

    /// Every key the configuration reads, as dotted paths.
    public static let keys: Set<String> = [
        "host", "port", "http2Port", "dataDir", "database", "accountId", "region", "durability", "logLevel", "sqs.retentionSweepSeconds", "sqs.moveTaskChunk",
        "functions.concurrencyLimit", "functions.maxEnvironments", "functions.idleTimeoutSeconds", "functions.initTimeoutSeconds",
        "functions.shutdownGraceMs", "functions.python", "functions.node", "functions.nodeVersions", "functions.isolation", "functions.declared", "async.retryBaseDelayMs", "async.throttleBaseDelayMs",
        "async.throttleMaxDelayMs", "async.idempotencyWindowSeconds", "async.claimBatch", "auth.credentials", "auth.allowUnsignedRemote",
        "limits.maxBacklog", "limits.maxMemoryMB", "limits.checkIntervalMs", "shutdown.graceSeconds", "logs.enabled", "logs.retentionHours", "logs.maxRecords",
        "logFormat",
    ]

    /// `RUNTIME=EXECUTABLE[,RUNTIME=EXECUTABLE…]` as executables by Node.js runtime.
    static func parseNodeVersions(_ text: String) throws -> [String: String] {
        var mapped: [String: String] = [:]
        for entry in text.split(separator: ",") {
            let parts = entry.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty else {
                throw Invalid(key: "functions.nodeVersions", reason: "each entry must be RUNTIME=EXECUTABLE, like nodejs18.x=/opt/node18/bin/node")
            }
            try checkNodeRuntime(parts[0])
            mapped[parts[0]] = parts[1]
        }
        return mapped
    }

    static func checkNodeRuntime(_ runtime: String) throws {
        guard (FunctionRuntime.nodeMajor(of: runtime) ?? 0) >= 18 else {
            throw Invalid(key: "functions.nodeVersions", reason: "'\(runtime)' is not a Node.js runtime Spool runs (nodejs18.x or later)")
        }
    }

    /// The `functions.nodeVersions` object of a configuration file, if it holds one (a string is read with the scalars).
    static func nodeVersions(inFile file: String) throws -> [String: String]? {
        guard let data = FileManager.default.contents(atPath: file),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let value = (object["functions"] as? [String: Any])?["nodeVersions"], !(value is String)
        else { return nil }
        guard let mapped = value as? [String: String] else {
            throw Invalid(key: "functions.nodeVersions", reason: "must map runtimes to Node.js executables, like {\"nodejs18.x\": \"/opt/node18/bin/node\"}")
        }
        for runtime in mapped.keys { try checkNodeRuntime(runtime) }
        return mapped
    }

    /// `KEYID:SECRET[,KEYID:SECRET…]` as secrets by key id.
    static func parseCredentials(_ text: String) throws -> [String: String] {
        var secrets: [String: String] = [:]
        for entry in text.split(separator: ",") {
            let parts = entry.trimmingCharacters(in: .whitespaces).split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty, (1...128).contains(parts[0].count),
                  parts[0].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
            else { throw Invalid(key: "auth.credentials", reason: "each entry must be KEYID:SECRET with a key id of letters, digits and _") }
            guard secrets[parts[0]] == nil else { throw Invalid(key: "auth.credentials", reason: "the key id \(parts[0]) is listed twice") }
            secrets[parts[0]] = parts[1]
        }
        return secrets
    }

    /// Whether `host` only accepts connections from this machine.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// swift-configuration reads scalar keys only; the `functions.declared` list is read separately, so the
    /// provider gets a copy of the file without it.
    static func scalarCopy(of file: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: file),
              var object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              var functions = object["functions"] as? [String: Any],
              functions["declared"] != nil || (functions["nodeVersions"] != nil && !(functions["nodeVersions"] is String))
        else { return file }
        functions["declared"] = nil
        if !(functions["nodeVersions"] is String) { functions["nodeVersions"] = nil }
        object["functions"] = functions
        let copy = NSTemporaryDirectory() + "spool-config-\(getpid())-\(UUID().uuidString).json"
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: copy))
        return copy
    }

    /// The `functions.declared` list of a configuration file; unknown members of an entry are refused.
    static func declaredFunctions(inFile file: String) throws -> [DeclaredFunction] {
        struct File: Decodable {
            struct Functions: Decodable { var declared: [DeclaredFunction]? }
            var functions: Functions?
        }
        guard let data = FileManager.default.contents(atPath: file) else { return [] }
        let known = Set(["name", "executor", "url", "runtime", "handler", "codeDirectory", "timeout", "memorySize", "environment",
                         "description", "reservedConcurrency", "provisionedConcurrency", "deadLetterTargetArn"])
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let entries = (object["functions"] as? [String: Any])?["declared"] as? [[String: Any]] {
            for entry in entries {
                if let unknown = entry.keys.first(where: { !known.contains($0) }) {
                    throw Invalid(key: "functions.declared.\(unknown)", reason: "unknown member of a declared function in \(file)")
                }
            }
        }
        do {
            return try JSONDecoder().decode(File.self, from: data).functions?.declared ?? []
        } catch {
            throw Invalid(key: "functions.declared", reason: "must be a list of functions: \(error)")
        }
    }

    /// Refuses a file that names a key Spool does not read, so that a typo is not silently ignored.
    static func checkKeys(ofFile file: String) throws {
        guard let data = FileManager.default.contents(atPath: file),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw Invalid(key: "config", reason: "\(file) is not a JSON object") }
        func walk(_ object: [String: Any], prefix: String) throws {
            for (key, value) in object {
                let path = prefix.isEmpty ? key : "\(prefix).\(key)"
                if let nested = value as? [String: Any], !keys.contains(path) {
                    try walk(nested, prefix: path)
                } else if !keys.contains(path) {
                    throw Invalid(key: path, reason: "unknown configuration key in \(file)")
                }
            }
        }
        try walk(object, prefix: "")
    }

    /// A boolean given as a JSON boolean or as `true`/`false`/`1`/`0` text (environment variables, flags).
    static func boolean(_ reader: ConfigReader, _ key: String, default value: Bool) throws -> Bool {
        if let parsed = reader.bool(forKey: ConfigKey(key)) { return parsed }
        guard let text = reader.string(forKey: ConfigKey(key)) else { return value }
        guard let parsed = ["true": true, "1": true, "false": false, "0": false][text.lowercased()] else {
            throw Invalid(key: key, reason: "must be true or false, not '\(text)'")
        }
        return parsed
    }

    static func integer(_ reader: ConfigReader, _ key: String, default value: Int, in range: ClosedRange<Int>) throws -> Int {
        let number: Int
        if let parsed = reader.int(forKey: ConfigKey(key)) {
            number = parsed
        } else if let text = reader.string(forKey: ConfigKey(key)) {
            guard let parsed = Int(text) else { throw Invalid(key: key, reason: "must be an integer, not '\(text)'") }
            number = parsed
        } else {
            return value
        }
        guard range.contains(number) else {
            throw Invalid(key: key, reason: "must be from \(range.lowerBound) to \(range.upperBound), not \(number)")
        }
        return number
    }
}
