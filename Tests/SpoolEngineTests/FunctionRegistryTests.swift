import Foundation
import NIOCore
import SpoolEngine
import SpoolExecutor
import SpoolModel
import SpoolSignals
import SpoolSQLite
import Testing
import ZIPFoundation

@Suite("Function registry, code packages and concurrency")
struct FunctionRegistryTests {
    struct Harness {
        let registry: FunctionRegistry
        let invoker: FunctionInvoker
        let directory: String
    }

    func withRegistry(limit: Int = 1000, handlers: [String: InProcessExecutor.Handler] = [:], _ body: (Harness) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-registry-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(directory: directory)
        let executor = InProcessExecutor(handlers: handlers)
        let registry = FunctionRegistry(store: store, runner: FunctionRunner(executor: executor, accountLimit: limit),
                                        codeRoot: directory + "/functions", identity: AWSIdentity())
        try await body(Harness(registry: registry, invoker: FunctionInvoker(registry: registry), directory: directory))
    }

    static func zip(_ files: [String: String], symlinks: [String: String] = [:]) throws -> Data {
        let archive = try Archive(data: Data(), accessMode: .create)
        for (path, text) in files.sorted(by: { $0.key < $1.key }) {
            let data = Data(text.utf8)
            try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        for (path, target) in symlinks {
            let data = Data(target.utf8)
            try archive.addEntry(with: path, type: .symlink, uncompressedSize: Int64(data.count)) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        return try #require(archive.data)
    }

    static let settings = FunctionSettings(runtime: "python3.12", handler: "app.handler", role: "arn:aws:iam::000000000000:role/r")

    @Test("creating a function unpacks its code, records its digest, and reads back by name and ARN")
    func create() async throws {
        try await withRegistry { harness in
            let zip = try Self.zip(["app.py": "def handler(e, c): return e\n", "lib/util.py": "X = 1\n"])
            let created = try await harness.registry.create(name: "fn", settings: Self.settings, zip: zip, tags: ["a": "b"])
            let directory = try #require(created.codeDirectory)
            #expect(FileManager.default.fileExists(atPath: directory + "/lib/util.py"))
            #expect(created.codeSize == Int64(zip.count))
            #expect(Data(base64Encoded: created.codeSHA256)?.count == 32)
            let byARN = try await harness.registry.function(try FunctionReference.parse("arn:aws:lambda:us-east-1:000000000000:function:fn", identity: AWSIdentity()))
            #expect(byARN == created)
            await #expect(throws: SpoolError.self) { try await harness.registry.create(name: "fn", settings: Self.settings, zip: zip, tags: [:]) }
        }
    }

    @Test("packages that escape their folder, link outside it or are not zips are refused and leave nothing behind")
    func unsafePackages() async throws {
        try await withRegistry { harness in
            let root = harness.directory + "/functions"
            for bad in [try Self.zip(["../../escape.py": "x"]), try Self.zip(["app.py": "x"], symlinks: ["link": "/etc/passwd"]), Data("nope".utf8)] {
                do {
                    _ = try CodePackage.unpack(zip: bad, under: root, operation: "CreateFunction")
                    Issue.record("an unsafe package was accepted")
                } catch let error as SpoolError {
                    #expect(error.code == .invalidParameterValue)
                }
            }
            #expect(!FileManager.default.fileExists(atPath: harness.directory + "/escape.py"))
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).isEmpty)
            let inside = try CodePackage.unpack(zip: try Self.zip(["a/b.py": "x"], symlinks: ["a/c.py": "b.py"]), under: root, operation: "CreateFunction")
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: inside.directory + "/a/c.py") == "b.py")
        }
    }

    @Test("updates change the revision, honour RevisionId, and replace the code folder")
    func updates() async throws {
        try await withRegistry { harness in
            let reference = FunctionReference(name: "fn")
            let created = try await harness.registry.create(name: "fn", settings: Self.settings, zip: try Self.zip(["app.py": "1"]), tags: [:])
            let configured = try await harness.registry.updateConfiguration(reference, settings: FunctionSettings(timeoutSeconds: 60), revisionID: created.revisionID)
            #expect(configured.timeoutSeconds == 60 && configured.revisionID != created.revisionID)
            await #expect(throws: SpoolError.self) {
                try await harness.registry.updateConfiguration(reference, settings: FunctionSettings(timeoutSeconds: 5), revisionID: created.revisionID)
            }
            let recoded = try await harness.registry.updateCode(reference, zip: try Self.zip(["app.py": "2"]), revisionID: nil, dryRun: false)
            #expect(recoded.codeDirectory != created.codeDirectory)
            #expect(!FileManager.default.fileExists(atPath: created.codeDirectory!))
            #expect(try String(contentsOfFile: recoded.codeDirectory! + "/app.py", encoding: .utf8) == "2")
            try await harness.registry.delete(reference)
            #expect(!FileManager.default.fileExists(atPath: recoded.codeDirectory!))
            await #expect(throws: SpoolError.self) { try await harness.registry.function(reference) }
        }
    }

    @Test("reserved concurrency leaves the unreserved minimum and throttles invocations past it")
    func reservedConcurrency() async throws {
        let gate = AsyncStream<Void>.makeStream()
        let handler: InProcessExecutor.Handler = { payload, _ in
            if String(buffer: payload).contains("wait") { for await _ in gate.stream { break } }
            return payload
        }
        try await withRegistry(limit: 200, handlers: ["slow": handler]) { harness in
            try await harness.registry.declare(FunctionDefinition(name: "slow", executor: .inProcess, source: .embedded, revisionID: "r", lastModified: 0))
            let reference = FunctionReference(name: "slow")
            await #expect(throws: SpoolError.self) { try await harness.registry.putReservedConcurrency(reference, value: 181) }
            #expect(try await harness.registry.putReservedConcurrency(reference, value: 1) == 1)
            let running = Task {
                try await harness.invoker.invoke(.init(function: reference, payload: ByteBuffer(string: #""wait""#), clientContext: nil, requestID: "1"))
            }
            while harness.registry.runner.admission.inFlight("slow") == 0 { await Task.yield() }
            do {
                _ = try await harness.invoker.invoke(.init(function: reference, payload: ByteBuffer(string: "1"), clientContext: nil, requestID: "2"))
                Issue.record("a second invocation ran past reserved concurrency 1")
            } catch let error as SpoolError {
                #expect(error.code == .tooManyRequests)
                #expect(error.reason == "ReservedFunctionConcurrentInvocationLimitExceeded")
            }
            gate.continuation.yield()
            #expect(try await running.value.outcome.status == .success)
            #expect(harness.registry.runner.admission.inFlight("slow") == 0)
        }
    }

    @Test("the account limit throttles unreserved functions together")
    func accountLimit() {
        let admission = Admission(accountLimit: 20)
        admission.configure("reserved", reserved: 5, provisioned: nil, process: false)
        func function(_ name: String) -> FunctionDefinition {
            FunctionDefinition(name: name, executor: .inProcess, source: .embedded, revisionID: "r", lastModified: 0)
        }
        var permits: [Admission.Permit] = []
        for index in 0..<15 { permits.append(try! admission.acquire(function("f\(index % 3)")).get()) }
        #expect(admission.acquire(function("f0")) .isRefused(.accountConcurrency))
        #expect((try? admission.acquire(function("reserved")).get()) != nil)
        admission.release(permits.removeLast())
        #expect((try? admission.acquire(function("f0")).get()) != nil)
    }

    @Test("process functions share the node's environments, provisioned ones counted while idle")
    func environmentLimit() throws {
        let admission = Admission(accountLimit: 1000, environmentLimit: 3)
        func function(_ name: String) -> FunctionDefinition {
            FunctionDefinition(name: name, executor: .process, source: .api, revisionID: "r", lastModified: 0)
        }
        admission.configure("warm", reserved: nil, provisioned: 2, process: true)
        // Two environments are kept for "warm": one is left for everybody else.
        let first = try! admission.acquire(function("cold")).get()
        let refused = admission.acquire(function("cold"))
        #expect(refused.isRefused(.environments))
        // "warm" runs in its provisioned environments without needing more.
        let warm = [try! admission.acquire(function("warm")).get(), try! admission.acquire(function("warm")).get()]
        #expect(admission.acquire(function("warm")).isRefused(.environments))
        // A release wakes whoever waits for an environment: the refusal's wake-up is raised.
        let wakeup = try #require(refused.failure).wakeup
        admission.release(first)
        #expect(wakeup.signal.generation != wakeup.seen)
        #expect((try? admission.acquire(function("warm")).get()) != nil)
        for permit in warm { admission.release(permit) }
        #expect(admission.environmentsInUse == 2)
    }

    @Test("invalid payloads and client contexts are refused before anything runs")
    func invalidRequests() async throws {
        try await withRegistry(handlers: ["echo": { payload, _ in payload }]) { harness in
            try await harness.registry.declare(FunctionDefinition(name: "echo", executor: .inProcess, source: .embedded, revisionID: "r", lastModified: 0))
            let reference = FunctionReference(name: "echo")
            let cases: [(ByteBuffer, String?, SpoolError.Code)] = [
                (ByteBuffer(string: "{oops"), nil, .invalidRequestContent),
                (ByteBuffer(repeating: UInt8(ascii: " "), count: FunctionLimits.syncPayloadBytes + 1), nil, .requestTooLarge),
                (ByteBuffer(string: "{}"), "not base64!", .invalidRequestContent),
            ]
            for (payload, context, code) in cases {
                do {
                    _ = try await harness.invoker.invoke(.init(function: reference, payload: payload, clientContext: context, requestID: "x"))
                    Issue.record("accepted \(code)")
                } catch let error as SpoolError {
                    #expect(error.code == code)
                }
            }
            let empty = try await harness.invoker.invoke(.init(function: reference, payload: ByteBuffer(), clientContext: nil, requestID: "y"))
            #expect(String(buffer: empty.outcome.payload) == "{}")
        }
    }
}

extension Result where Failure == Admission.Refused {
    /// Whether admission refused, for the reason given.
    func isRefused(_ reason: Admission.Refusal) -> Bool { failure?.refusal == reason }

    var failure: Admission.Refused? {
        if case .failure(let refused) = self { return refused }
        return nil
    }
}
