import Foundation
import SpoolEngine
import SpoolModel
import SpoolServer
import SpoolSQLite
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    @Test("defaults are what a laptop user wants")
    func defaults() async throws {
        let config = try await SpoolConfiguration.load(flags: [:], environment: [:])
        #expect(config == SpoolConfiguration())
        #expect(config.host == "127.0.0.1" && config.port == 9070 && config.dataDir == "./spool-data")
        #expect(config.accountID == "000000000000" && config.region == "us-east-1" && config.durability == .full)
    }

    @Test("the example file lists every key with its default")
    func exampleFile() async throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Config/spool.example.json").standardized
        let config = try await SpoolConfiguration.load(environment: [:], file: example.path)
        var defaults = SpoolConfiguration()
        // Declared code directories resolve against the file's folder.
        defaults.configurationDirectory = example.deletingLastPathComponent().path
        #expect(config == defaults)
        let text = try String(contentsOf: example, encoding: .utf8)
        for key in SpoolConfiguration.keys {
            #expect(text.contains("\"\(key.split(separator: ".").last!)\""), "example lists \(key)")
        }
    }

    @Test("flags beat SPOOL_ variables, which beat the file")
    func precedence() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString).json")
        try Data(#"{"port": 9100, "region": "eu-west-1", "durability": "normal", "sqs": {"retentionSweepSeconds": 5, "moveTaskChunk": 7}}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let config = try await SpoolConfiguration.load(
            flags: ["port": "9200"],
            environment: ["SPOOL_PORT": "9300", "SPOOL_REGION": "ap-south-1", "SPOOL_SQS_MOVE_TASK_CHUNK": "9", "OTHER_PORT": "1"],
            file: file.path
        )
        #expect(config.port == 9200)
        #expect(config.region == "ap-south-1")
        #expect(config.durability == .normal)
        #expect(config.retentionSweepSeconds == 5)
        #expect(config.moveTaskChunk == 9)
    }

    @Test("function logs and the service log format: defaults, variables, and bad values refused")
    func logs() async throws {
        let defaults = try await SpoolConfiguration.load(environment: [:])
        #expect(defaults.logsEnabled && defaults.logsRetentionHours == 72 && defaults.logsMaxRecords == 1_000_000 && defaults.logFormat == "text")
        let set = try await SpoolConfiguration.load(flags: ["logFormat": "JSON"],
                                                    environment: ["SPOOL_LOGS_ENABLED": "false", "SPOOL_LOGS_RETENTION_HOURS": "6",
                                                                  "SPOOL_LOGS_MAX_RECORDS": "5000"])
        #expect(!set.logsEnabled && set.logsRetentionHours == 6 && set.logsMaxRecords == 5_000 && set.logFormat == "json")
        await #expect(throws: (any Error).self) { try await SpoolConfiguration.load(environment: ["SPOOL_LOG_FORMAT": "xml"]) }
        await #expect(throws: (any Error).self) { try await SpoolConfiguration.load(environment: ["SPOOL_LOGS_ENABLED": "maybe"]) }
        await #expect(throws: (any Error).self) { try await SpoolConfiguration.load(environment: ["SPOOL_LOGS_RETENTION_HOURS": "0"]) }
    }

    @Test("asynchronous retry timings come from SPOOL_ASYNC_ variables, so tests can retry in milliseconds")
    func asyncSettings() async throws {
        let config = try await SpoolConfiguration.load(environment: [
            "SPOOL_ASYNC_RETRY_BASE_DELAY_MS": "250", "SPOOL_ASYNC_THROTTLE_BASE_DELAY_MS": "20", "SPOOL_ASYNC_IDEMPOTENCY_WINDOW_SECONDS": "60",
        ])
        let settings = config.asyncSettings
        #expect(settings.retryPolicy.functionErrorDelay(retry: 2) == 500)
        #expect(settings.retryPolicy.throttleDelay(occurrence: 3) == 80)
        #expect(settings.retryPolicy.throttleMax == 300_000)
        #expect(settings.idempotencyWindow == 60_000)
        let defaults = try await SpoolConfiguration.load(environment: [:]).asyncSettings
        #expect(defaults.retryPolicy == AsyncRetryPolicy() && defaults.claimBatch == 10)
    }

    @Test("credentials, limits and the shutdown grace come from SPOOL_ variables; a network listener needs credentials or the flag")
    func authAndLimits() async throws {
        let config = try await SpoolConfiguration.load(environment: [
            "SPOOL_AUTH_CREDENTIALS": "AKIAONE:secret/with:colon, AKIA_TWO:other", "SPOOL_LIMITS_MAX_BACKLOG": "500",
            "SPOOL_LIMITS_MAX_MEMORY_MB": "256", "SPOOL_SHUTDOWN_GRACE_SECONDS": "5", "SPOOL_HOST": "0.0.0.0",
        ])
        #expect(config.credentials == ["AKIAONE": "secret/with:colon", "AKIA_TWO": "other"])
        #expect(config.maxBacklog == 500 && config.maxMemoryMB == 256 && config.shutdownGraceSeconds == 5)
        #expect(config.asyncSettings.shutdownGrace == .seconds(5))
        for bad in ["nokey", ":secret", "KEY:", "KEY:a,KEY:b", "bad key:x"] {
            await #expect(throws: SpoolConfiguration.Invalid.self) {
                try await SpoolConfiguration.load(environment: ["SPOOL_AUTH_CREDENTIALS": bad])
            }
        }
        do {
            _ = try await SpoolConfiguration.load(environment: ["SPOOL_HOST": "0.0.0.0"])
            Issue.record("an unsigned network listener was accepted")
        } catch let error as SpoolConfiguration.Invalid {
            #expect(error.key == "host" && error.reason.contains("--allow-unsigned-remote"))
        }
        let allowed = try await SpoolConfiguration.load(flags: ["auth.allowUnsignedRemote": "true"], environment: ["SPOOL_HOST": "0.0.0.0"])
        #expect(allowed.allowUnsignedRemote && allowed.credentials.isEmpty)
    }

    @Test("a bad value fails with a message naming its key")
    func invalidValues() async throws {
        let cases: [([String: String], String)] = [
            (["SPOOL_PORT": "ninety"], "port"),
            (["SPOOL_PORT": "70000"], "port"),
            (["SPOOL_DURABILITY": "sometimes"], "durability"),
            (["SPOOL_ACCOUNT_ID": "12"], "accountId"),
            (["SPOOL_LOG_LEVEL": "loud"], "logLevel"),
            (["SPOOL_SQS_RETENTION_SWEEP_SECONDS": "0"], "sqs.retentionSweepSeconds"),
            (["SPOOL_ASYNC_RETRY_BASE_DELAY_MS": "0"], "async.retryBaseDelayMs"),
            (["SPOOL_ASYNC_THROTTLE_BASE_DELAY_MS": "5000", "SPOOL_ASYNC_THROTTLE_MAX_DELAY_MS": "1000"], "async.throttleMaxDelayMs"),
            (["SPOOL_ASYNC_CLAIM_BATCH": "many"], "async.claimBatch"),
        ]
        for (environment, key) in cases {
            await #expect {
                _ = try await SpoolConfiguration.load(environment: environment)
            } throws: { error in
                (error as? SpoolConfiguration.Invalid)?.key == key
            }
        }
        await #expect(throws: SpoolConfiguration.Invalid.self) {
            _ = try await SpoolConfiguration.load(environment: [:], file: "/nonexistent/spool.json")
        }
        let typo = FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString).json")
        try Data(#"{"sqs": {"moveTaskChunks": 5}}"#.utf8).write(to: typo)
        defer { try? FileManager.default.removeItem(at: typo) }
        await #expect {
            _ = try await SpoolConfiguration.load(environment: [:], file: typo.path)
        } throws: { error in
            (error as? SpoolConfiguration.Invalid)?.key == "sqs.moveTaskChunks"
        }
    }

    @Test("functions declared in the file are read, and a bad declaration names its key")
    func declaredFunctions() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("spool-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("code"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("spool.json")
        try #"{"functions": {"idleTimeoutSeconds": 5, "declared": [{"name": "hook", "url": "http://127.0.0.1:8080/x"}, {"name": "py", "runtime": "python3.12", "handler": "app.handler", "codeDirectory": "code"}]}}"#
            .write(to: file, atomically: true, encoding: .utf8)
        let config = try await SpoolConfiguration.load(environment: [:], file: file.path)
        #expect(config.idleTimeoutSeconds == 5)
        #expect(config.declaredFunctions.map(\.name) == ["hook", "py"])
        try #"{"functions": {"declared": [{"name": "hook", "url": "http://x/y", "colour": "red"}]}}"#.write(to: file, atomically: true, encoding: .utf8)
        await #expect(throws: SpoolConfiguration.Invalid.self) { try await SpoolConfiguration.load(environment: [:], file: file.path) }
    }
}
