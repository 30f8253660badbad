import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import SpoolHTTP
import SpoolServer

/// A Spool server the benchmark drives: one it started for a scenario (a fresh data directory, torn
/// down afterwards) or the one at `--endpoint`.
final class BenchTarget: Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let endpoint: String
    let http: BenchConnectionPool
    /// The server process `spool bench` started, if it did.
    private let child: Process?
    private let directory: String?
    /// The scratch database made for this server, dropped with it: (the URL it was made beside, its name).
    private let scratch: (admin: String, name: String)?

    private init(endpoint: String, child: Process?, directory: String?, scratch: (admin: String, name: String)? = nil) throws {
        self.scratch = scratch
        self.endpoint = endpoint
        guard let url = URL(string: endpoint), url.scheme == "http", let host = url.host else {
            throw Failure(description: "--endpoint must be http://HOST:PORT, not \(endpoint)")
        }
        self.http = BenchConnectionPool(host: host, port: url.port ?? 80)
        self.child = child
        self.directory = directory
    }

    /// The server at `endpoint`, which must have been started with `--bench-probe`.
    static func existing(_ endpoint: String) async throws -> BenchTarget {
        let target = try BenchTarget(endpoint: endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint, child: nil, directory: nil)
        guard (try? await target.request(.GET, "/spool/v1/bench"))?.status == 200 else {
            target.http.close()
            throw Failure(description: "\(endpoint) does not serve /spool/v1/bench: start it with `spool serve --bench-probe`")
        }
        return target
    }

    /// Starts `spool serve --bench-probe` on a free loopback port with a new data directory; with `database`, on a new
    /// empty PostgreSQL database made beside that one (dropped when the server stops), or on `shared`, a database other
    /// servers of the run use too.
    static func start(durability: String, database: String? = nil, shared: String? = nil) async throws -> BenchTarget {
        var scratch: (admin: String, name: String)?
        var storeArguments = ["--durability", durability]
        if let shared {
            storeArguments = ["--database", shared]
        } else if let database {
            let name = "spool_bench_\(UUID().uuidString.prefix(8).lowercased())"
            storeArguments = ["--database", try await SpoolServer.createScratchDatabase(besides: database, name: name)]
            scratch = (database, name)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-bench-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let port = try freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", "\(port)", "--data-dir", "\(directory)/data", "--bench-probe"]
            + storeArguments
        var environment = ProcessInfo.processInfo.environment
        environment["SPOOL_LOG_LEVEL"] = environment["SPOOL_LOG_LEVEL"] ?? "warning"
        process.environment = environment
        FileManager.default.createFile(atPath: "\(directory)/server.log", contents: nil)
        process.standardError = FileHandle(forWritingAtPath: "\(directory)/server.log")
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let target = try BenchTarget(endpoint: "http://127.0.0.1:\(port)", child: process, directory: directory, scratch: scratch)
        let up = try await BenchLoad.until(timeout: 60) {
            guard process.isRunning else { return true }
            return (try? await target.request(.GET, "/health"))?.status == 200
        }
        guard up, process.isRunning else {
            let log = (try? String(contentsOfFile: "\(directory)/server.log", encoding: .utf8)) ?? ""
            await target.stop()
            throw Failure(description: "the benchmark's server did not start:\n\(log)")
        }
        return target
    }

    /// Stops the server this benchmark started (SIGTERM, then SIGKILL after 20 s) and removes its data.
    func stop() async {
        http.close()
        guard let child else { return }
        if child.isRunning {
            kill(child.processIdentifier, SIGTERM)
            _ = try? await BenchLoad.until(timeout: 20) { !child.isRunning }
            if child.isRunning { kill(child.processIdentifier, SIGKILL) }
            child.waitUntilExit()
        }
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
        if let scratch { try? await SpoolServer.dropScratchDatabase(besides: scratch.admin, name: scratch.name) }
    }

    private static func freePort() throws -> Int {
        let socket = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw Failure(description: "cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    // MARK: HTTP

    typealias Answer = BenchAnswer

    func request(_ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: ByteBuffer? = nil) async throws -> Answer {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: hostHeader)
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        return try await http.request(head, body: body)
    }

    private var hostHeader: String { String(endpoint.dropFirst("http://".count)) }

    /// Sends `request`, failing unless the answer is 2xx.
    @discardableResult
    func expect(_ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: ByteBuffer? = nil) async throws -> Answer {
        let answer = try await request(method, path, headers: headers, body: body)
        guard (200..<300).contains(answer.status) else {
            throw Failure(description: "\(method) \(path) answered \(answer.status): \(String(buffer: answer.body))")
        }
        return answer
    }

    /// An AWS JSON 1.0/1.1 call (SQS, Kinesis) with a body already encoded.
    @discardableResult
    func call(_ target: String, _ body: ByteBuffer) async throws -> Answer {
        let contentType = target.hasPrefix("AmazonSQS.") ? "application/x-amz-json-1.0" : "application/x-amz-json-1.1"
        return try await expect(.POST, "/", headers: [("X-Amz-Target", target), ("Content-Type", contentType)], body: body)
    }

    /// An AWS JSON call whose input is built from `input`.
    @discardableResult
    func call(_ target: String, _ input: [String: Any]) async throws -> [String: Any] {
        try await call(target, Self.encode(input)).json()
    }

    /// A Lambda REST call with a JSON body.
    @discardableResult
    func lambda(_ method: HTTPMethod, _ path: String, _ input: [String: Any]? = nil) async throws -> [String: Any] {
        try await expect(method, path, headers: [("Content-Type", "application/json")], body: input.map(Self.encode)).json()
    }

    static func encode(_ value: [String: Any]) -> ByteBuffer {
        ByteBuffer(data: (try? JSONSerialization.data(withJSONObject: value)) ?? Data("{}".utf8))
    }

    // MARK: Server figures

    /// The server's process figures (`GET /spool/v1/process`).
    func usage() async throws -> ProcessUsage {
        try JSONDecoder().decode(ProcessUsage.self, from: Data(buffer: try await expect(.GET, "/spool/v1/process").body))
    }

    /// Calls `body` and reports the server's CPU time spent meanwhile and its peak memory afterwards.
    func measured<T>(_ body: () async throws -> T) async throws -> (T, ServerFigures) {
        let before = try await usage()
        let value = try await body()
        let after = try await usage()
        return (value, ServerFigures(
            durability: after.durability, peakRSSMiB: Double(after.peakResidentBytes) / 1_048_576,
            cpuSeconds: (after.userCPUSeconds + after.systemCPUSeconds) - (before.userCPUSeconds + before.systemCPUSeconds)
        ))
    }

    /// The benchmark function's report (`GET /spool/v1/bench`).
    func probe() async throws -> BenchProbe.Report {
        try JSONDecoder().decode(BenchProbe.Report.self, from: Data(buffer: try await expect(.GET, "/spool/v1/bench").body))
    }

    func resetProbe() async throws {
        try await expect(.POST, "/spool/v1/bench/reset")
    }
}

extension BenchAnswer {
    /// The body as a JSON object, empty when it is not one.
    func json() -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
    }
}
