import Foundation
import NIOCore
import SpoolExecutor
import SpoolModel
import Testing

@Suite("Process executor: real runtimes through the Runtime API")
struct ProcessExecutorTests {
    static let echo = """
    import os
    def handler(event, context):
        print("handling", event.get("n"))
        return {"n": event.get("n"), "pid": os.getpid(), "fn": context.function_name, "rid": context.aws_request_id,
                "mem": context.memory_limit_in_mb, "remaining": context.get_remaining_time_in_millis(),
                "tmp": os.environ.get("TMPDIR"), "init": os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE")}
    """

    @Test("a Python function starts cold once, then serves warm invocations from the same environment")
    func coldThenWarm() async throws {
        let fixture = try FunctionFixture.python(Self.echo)
        defer { fixture.remove() }
        let executor = ProcessExecutor(settings: testSettings())
        let first = await executor.invoke(fixture.request(#"{"n": 1}"#, id: "req-1"))
        #expect(first.status == .success, "\(first.text)")
        #expect(first.initDurationMs != nil)
        #expect(first.text.contains(#""rid": "req-1""#))
        #expect(first.text.contains(#""fn": "py""#))
        #expect(first.text.contains(#""init": "on-demand""#))
        #expect(first.log.contains("START RequestId: req-1 Version: $LATEST"))
        #expect(first.log.contains("handling 1"))
        #expect(first.log.contains("REPORT RequestId: req-1\tDuration:"))
        #expect(first.log.contains("Init Duration:"))
        let second = await executor.invoke(fixture.request(#"{"n": 2}"#))
        #expect(second.status == .success)
        #expect(second.initDurationMs == nil)
        #expect(!second.log.contains("Init Duration"))
        let pid = { (text: String) in text.components(separatedBy: #""pid": "#)[1].prefix(while: \.isNumber) }
        #expect(pid(first.text) == pid(second.text))
        #expect(await executor.environmentCount(of: "py") == 1)
        await executor.shutdownAll()
    }

    @Test("the log keeps the order in which the function printed its lines")
    func logOrder() async throws {
        let fixture = try FunctionFixture.python("import sys\ndef handler(event, context):\n    for i in range(300):\n        print('line', i)\n        print('err', i, file=sys.stderr) if i % 50 == 0 else None\n    return 1\n")
        defer { fixture.remove() }
        let executor = ProcessExecutor(settings: testSettings())
        let outcome = await executor.invoke(fixture.request())
        let numbers = outcome.log.split(separator: "\n").filter { $0.hasPrefix("line ") }.compactMap { Int($0.dropFirst(5)) }
        #expect(numbers == Array(0..<300))
        await executor.shutdownAll()
    }

    @Test("a raised exception is a function error carrying awslambdaric's error document")
    func functionError() async throws {
        let fixture = try FunctionFixture.python("def handler(event, context):\n    raise ValueError('bad input')\n")
        defer { fixture.remove() }
        let executor = ProcessExecutor(settings: testSettings())
        let outcome = await executor.invoke(fixture.request())
        #expect(outcome.status == .functionError(type: "ValueError"))
        #expect(outcome.text.contains(#""errorMessage": "bad input""#))
        #expect(outcome.log.contains("ValueError"))
        await executor.shutdownAll()
    }

    @Test("a timeout reports Sandbox.Timedout and kills the environment; the next invocation starts cold")
    func timeout() async throws {
        let fixture = try FunctionFixture.python("import time, os\ndef handler(event, context):\n    if event.get('sleep'): time.sleep(30)\n    return os.getpid()\n", timeout: 1)
        defer { fixture.remove() }
        let executor = ProcessExecutor(settings: testSettings())
        let warm = await executor.invoke(fixture.request())
        let pid = Int32(warm.text)!
        let outcome = await executor.invoke(fixture.request(#"{"sleep": true}"#, id: "slow"))
        #expect(outcome.status == .timedOut)
        #expect(outcome.text.contains("RequestId: slow Error: Task timed out after 1.00 seconds"))
        #expect(outcome.text.contains("Sandbox.Timedout"))
        #expect(!processExists(pid))
        let after = await executor.invoke(fixture.request())
        #expect(after.status == .success)
        #expect(after.initDurationMs != nil)
        await executor.shutdownAll()
    }

    @Test("a runtime that dies mid-invocation is a Runtime.ExitError function error, as Lambda reports it, and is replaced")
    func crash() async throws {
        let fixture = try FunctionFixture.python("import os\ndef handler(event, context):\n    if event.get('die'): os._exit(3)\n    return 'ok'\n")
        defer { fixture.remove() }
        let executor = ProcessExecutor(settings: testSettings())
        let outcome = await executor.invoke(fixture.request(#"{"die": true}"#, id: "dead"))
        #expect(outcome.status == .functionError(type: "Runtime.ExitError"))
        #expect(outcome.text.contains("Runtime.ExitError"))
        #expect(outcome.text.contains("RequestId: dead Error: Runtime exited with error: exit status 3"))
        let next = await executor.invoke(fixture.request())
        #expect(next.status == .success)
        #expect(next.text == "\"ok\"")
        await executor.shutdownAll()
    }

    @Test("an import error during init is a function error of type Runtime.ImportModuleError")
    func initError() async throws {
        let fixture = try FunctionFixture.python("import no_such_module\ndef handler(event, context):\n    return 1\n")
        defer { fixture.remove() }
        let executor = ProcessExecutor(settings: testSettings())
        let outcome = await executor.invoke(fixture.request())
        #expect(outcome.status == .functionError(type: "Runtime.ImportModuleError"), "\(outcome.text)")
        #expect(outcome.text.contains("no_such_module"))
        #expect(await executor.environmentCount(of: "py") == 0)
        await executor.shutdownAll()
    }

    @Test("a provided bootstrap script talks to the Runtime API with curl")
    func bootstrapScript() async throws {
        let fixture = try FunctionFixture.bootstrap(Self.curlBootstrap)
        defer { fixture.remove() }
        let executor = ProcessExecutor(settings: testSettings())
        let first = await executor.invoke(fixture.request(#"{"hello":"world"}"#, id: "b-1"))
        #expect(first.status == .success, "\(first.text) \(first.log)")
        #expect(first.text == #"{"echo":{"hello":"world"},"handler":"handler"}"#)
        #expect(first.log.contains("got b-1"))
        let failing = await executor.invoke(fixture.request(#"{"fail":true}"#))
        #expect(failing.status == .functionError(type: "Custom.Failure"))
        await executor.shutdownAll()
    }

    @Test("a missing bootstrap is Runtime.InvalidEntrypoint, a function error as Lambda reports it")
    func missingBootstrap() async throws {
        var fixture = try FunctionFixture.bootstrap("#!/bin/sh\n")
        defer { fixture.remove() }
        try FileManager.default.removeItem(atPath: fixture.directory + "/bootstrap")
        fixture.definition.revisionID = "r2"
        var settings = testSettings()
        settings.temporaryRoot = fixture.directory + "/tmp-root"
        let executor = ProcessExecutor(settings: settings)
        let outcome = await executor.invoke(fixture.request())
        #expect(outcome.status == .functionError(type: "Runtime.InvalidEntrypoint"))
        #expect(outcome.text.contains("Runtime.InvalidEntrypoint"))
        // The failed environment was shut down: its temporary directory is gone.
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: settings.temporaryRoot)) ?? []).isEmpty)
        await executor.shutdownAll()
    }

    @Test("idle environments are reclaimed and their processes end")
    func idleReclaim() async throws {
        let fixture = try FunctionFixture.python(Self.echo)
        defer { fixture.remove() }
        let executor = ProcessExecutor(settings: testSettings(idle: .milliseconds(300)))
        let service = Task { try await executor.run() }
        let outcome = await executor.invoke(fixture.request())
        let pid = Int32(outcome.text.components(separatedBy: #""pid": "#)[1].prefix(while: \.isNumber))!
        #expect(processExists(pid))
        var waited = 0
        while await executor.environmentCount(of: "py") > 0, waited < 100 {
            try await Task.sleep(for: .milliseconds(50))
            waited += 1
        }
        #expect(await executor.environmentCount(of: "py") == 0)
        // The process gets SIGTERM, then SIGKILL after its grace: watch it go (there is no event to await for another process).
        waited = 0
        while processExists(pid), waited < 200 {
            try await Task.sleep(for: .milliseconds(20))
            waited += 1
        }
        #expect(!processExists(pid))
        service.cancel()
        await executor.shutdownAll()
    }

    @Test("shutting down kills every child, including what a bootstrap started")
    func shutdownKillsEverything() async throws {
        let fixture = try FunctionFixture.bootstrap("""
        #!/bin/sh
        sleep 300 &
        echo $! > "$TMPDIR/child.pid"
        while true; do
          HEADERS="$(mktemp)"
          BODY=$(curl -sS -D "$HEADERS" "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation/next") || exit 1
          ID=$(grep -i Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
          curl -sS -X POST "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation/$ID/response" -d "{\\"pid\\":$$,\\"tmp\\":\\"$TMPDIR\\"}" >/dev/null
        done
        """)
        defer { fixture.remove() }
        let executor = ProcessExecutor(settings: testSettings())
        let outcome = await executor.invoke(fixture.request())
        #expect(outcome.status == .success, "\(outcome.text) \(outcome.log)")
        struct Info: Decodable { var pid: Int32; var tmp: String }
        let info = try JSONDecoder().decode(Info.self, from: Data(outcome.text.utf8))
        let sleeper = Int32(try String(contentsOfFile: info.tmp + "/child.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))!
        #expect(processExists(info.pid))
        #expect(processExists(sleeper))
        await executor.shutdownAll()
        #expect(!processExists(info.pid))
        #expect(!processExists(sleeper))
        #expect(!FileManager.default.fileExists(atPath: info.tmp))
    }

    @Test("init that outlasts the init timeout is cut off and reported as Sandbox.Timedout")
    func initTimeout() async throws {
        let fixture = try FunctionFixture.python("import time\ntime.sleep(30)\ndef handler(event, context):\n    return 1\n")
        defer { fixture.remove() }
        var settings = testSettings()
        settings.initTimeout = .seconds(1)
        let executor = ProcessExecutor(settings: settings)
        let started = ContinuousClock.now
        let outcome = await executor.invoke(fixture.request())
        // Cut off well before the 30 s sleep ends (1 s init timeout, then the shutdown grace; generous for a loaded machine).
        #expect(ContinuousClock.now - started < .seconds(15))
        #expect(outcome.status == .timedOut)
        #expect(outcome.text.contains("Init timed out after 1.00 seconds"))
        #expect(await executor.environmentCount(of: "py") == 0)
        await executor.shutdownAll()
    }

    @Test("the environment's /tmp keeps what init cached across warm invocations")
    func temporaryDirectorySurvivesWarmInvocations() async throws {
        let fixture = try FunctionFixture.python("""
        import os, tempfile
        CACHE = os.path.join(tempfile.gettempdir(), "cache.txt")
        if not os.path.exists(CACHE):
            open(CACHE, "w").write("made at init")
        def handler(event, context):
            count = int(open(CACHE + ".n").read()) + 1 if os.path.exists(CACHE + ".n") else 1
            open(CACHE + ".n", "w").write(str(count))
            return [open(CACHE).read(), count, tempfile.gettempdir()]
        """)
        defer { fixture.remove() }
        let executor = ProcessExecutor(settings: testSettings())
        _ = await executor.invoke(fixture.request())
        let second = await executor.invoke(fixture.request())
        #expect(second.text.hasPrefix(#"["made at init", 2, "/tmp/spool-env-"#), "\(second.text)")
        await executor.shutdownAll()
    }

    @Test("an environment busy when its function is deleted or updated does not serve again")
    func retiredWhileBusy() async throws {
        let fixture = try FunctionFixture.python("import os, time\ndef handler(event, context):\n    time.sleep(0.5)\n    return os.getpid()\n")
        defer { fixture.remove() }
        let executor = ProcessExecutor(settings: testSettings())
        let running = Task { await executor.invoke(fixture.request()) }
        while await executor.environmentCounts()["py"]?.busy != 1 { try await Task.sleep(for: .milliseconds(10)) }
        var updated = fixture.definition
        updated.revisionID = "next"
        await executor.functionChanged(name: "py", to: updated)
        let pid = try #require(Int32(await running.value.text))
        #expect(await executor.environmentCount(of: "py") == 0)
        var waited = 0
        while processExists(pid), waited < 100 {
            try await Task.sleep(for: .milliseconds(20))
            waited += 1
        }
        #expect(!processExists(pid))
        await executor.shutdownAll()
    }

    @Test("at maxEnvironments busy environments, another invocation is refused; an idle one makes room")
    func capacity() async throws {
        let slow = try FunctionFixture.python("import time\ndef handler(event, context):\n    time.sleep(event.get('sleep', 0))\n    return 1\n", name: "slow")
        let other = try FunctionFixture.python("def handler(event, context):\n    return 2\n", name: "other")
        defer { slow.remove(); other.remove() }
        var settings = testSettings()
        settings.maxEnvironments = 1
        let executor = ProcessExecutor(settings: settings)
        let busy = Task { await executor.invoke(slow.request(#"{"sleep": 1}"#)) }
        while await executor.environmentCount(of: "slow") == 0 { try await Task.sleep(for: .milliseconds(10)) }
        let refused = await executor.invoke(other.request())
        #expect(refused.status == .systemFailure(.atCapacity))
        #expect(await busy.value.status == .success)
        // The slow function's environment is idle now: it is shut down to make room for the other function.
        let served = await executor.invoke(other.request())
        #expect(served.status == .success && served.text == "2")
        #expect(await executor.environmentCount(of: "slow") == 0)
        await executor.shutdownAll()
    }

    static let curlBootstrap = """
    #!/bin/sh
    set -u
    API="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
    while true; do
      HEADERS="$(mktemp)"
      EVENT=$(curl -sS -D "$HEADERS" "$API/invocation/next")
      ID=$(grep -i Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
      rm -f "$HEADERS"
      echo "got $ID"
      case "$EVENT" in
        *fail*) curl -sS -X POST "$API/invocation/$ID/error" -H "Lambda-Runtime-Function-Error-Type: Custom.Failure" \\
                  -d '{"errorMessage":"asked to fail","errorType":"Custom.Failure"}' >/dev/null ;;
        *) curl -sS -X POST "$API/invocation/$ID/response" -d "{\\"echo\\":$EVENT,\\"handler\\":\\"$_HANDLER\\"}" >/dev/null ;;
      esac
    done
    """
}
