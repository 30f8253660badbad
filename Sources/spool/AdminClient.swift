import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1
import SpoolHTTP
import SpoolModel

/// Talks to a running server's admin API (`/spool/v1/…`), for the operator subcommands.
struct AdminClient {
    let endpoint: String
    /// Signs every request (SigV4, service `spool`) when credentials are known.
    var signer: Signer? = .fromEnvironment()

    /// The key a request is signed with, found as the aws CLI finds it: a `--profile` of `~/.aws/credentials`
    /// (`AWS_SHARED_CREDENTIALS_FILE`), else `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, else the `AWS_PROFILE` (or
    /// `default`) profile, else the first entry of `SPOOL_AUTH_CREDENTIALS`, the server's own setting; the region from
    /// `AWS_REGION`, `AWS_DEFAULT_REGION` or `SPOOL_REGION` (default us-east-1).
    struct Signer {
        var accessKeyID: String
        var secret: String
        var region: String

        static func fromEnvironment(profile: String? = nil, _ environment: [String: String] = ProcessInfo.processInfo.environment) -> Signer? {
            let region = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? environment["SPOOL_REGION"] ?? "us-east-1"
            let file = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.aws/credentials")
            if let profile {
                return credentials(inFile: file, profile: profile).map { Signer(accessKeyID: $0.key, secret: $0.secret, region: region) }
            }
            if let key = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"], !key.isEmpty {
                return Signer(accessKeyID: key, secret: secret, region: region)
            }
            if let found = credentials(inFile: file, profile: environment["AWS_PROFILE"] ?? "default") {
                return Signer(accessKeyID: found.key, secret: found.secret, region: region)
            }
            guard let first = environment["SPOOL_AUTH_CREDENTIALS"]?.split(separator: ",").first else { return nil }
            let parts = first.trimmingCharacters(in: .whitespaces).split(separator: ":", maxSplits: 1).map(String.init)
            return parts.count == 2 ? Signer(accessKeyID: parts[0], secret: parts[1], region: region) : nil
        }

        /// `aws_access_key_id` and `aws_secret_access_key` of `[profile]` in an aws CLI credentials file.
        static func credentials(inFile path: String, profile: String) -> (key: String, secret: String)? {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
            var section = ""
            var values: [String: String] = [:]
            for raw in text.split(whereSeparator: \.isNewline) {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.hasPrefix("[") && line.hasSuffix("]") {
                    section = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                } else if section == profile, let equals = line.firstIndex(of: "="), !line.hasPrefix("#"), !line.hasPrefix(";") {
                    values[line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()] = line[line.index(after: equals)...]
                        .trimmingCharacters(in: .whitespaces)
                }
            }
            guard let key = values["aws_access_key_id"], let secret = values["aws_secret_access_key"] else { return nil }
            return (key, secret)
        }

        func sign(_ request: inout HTTPClientRequest, body: Data) {
            guard let url = URLComponents(string: request.url), let host = url.host else { return }
            var headers: [String: String] = ["host": url.port.map { "\(host):\($0)" } ?? host]
            for (name, value) in request.headers { headers[name.lowercased()] = value }
            SigV4.sign(method: request.method.rawValue, rawPath: url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath,
                       rawQuery: url.percentEncodedQuery ?? "", headers: &headers, body: body, accessKeyID: accessKeyID, secret: secret,
                       region: region, service: "spool")
            for (name, value) in headers where request.headers[name].isEmpty { request.headers.add(name: name, value: value) }
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// GETs `path` and decodes the JSON answer.
    func get<T: Decodable>(_ path: String, as type: T.Type) async throws -> T {
        let response = try await send(HTTPClientRequest(url: endpoint + path), body: Data())
        let body = try await response.body.collect(upTo: 64 * 1_048_576)
        try Self.check(response.status.code, body)
        return try JSONDecoder().decode(type, from: Data(buffer: body))
    }

    /// POSTs an empty body to `path` and decodes the JSON answer.
    func post<T: Decodable>(_ path: String, as type: T.Type) async throws -> T {
        var request = HTTPClientRequest(url: endpoint + path)
        request.method = .POST
        let response = try await send(request, body: Data())
        let body = try await response.body.collect(upTo: 64 * 1_048_576)
        try Self.check(response.status.code, body)
        return try JSONDecoder().decode(type, from: Data(buffer: body))
    }

    /// POSTs `body` as JSON to `path` and decodes the JSON answer, waiting up to `timeout`.
    func post<T: Decodable>(_ path: String, body: some Encodable, as type: T.Type, timeout: TimeAmount = .seconds(60)) async throws -> T {
        var request = HTTPClientRequest(url: endpoint + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let data = try JSONEncoder().encode(body)
        request.body = .bytes(ByteBuffer(data: data))
        let response = try await send(request, body: data, timeout: timeout)
        let answer = try await response.body.collect(upTo: 64 * 1_048_576)
        try Self.check(response.status.code, answer)
        return try JSONDecoder().decode(type, from: Data(buffer: answer))
    }

    /// POSTs `body` to `path` and calls `line` with every line of the streamed answer as it arrives.
    func stream(_ path: String, body: some Encodable, line: (Data) throws -> Void) async throws {
        var request = HTTPClientRequest(url: endpoint + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let data = try JSONEncoder().encode(body)
        request.body = .bytes(ByteBuffer(data: data))
        let response = try await send(request, body: data, timeout: .hours(24))
        guard response.status.code == 200 else {
            let error = try await response.body.collect(upTo: 1_048_576)
            try Self.check(response.status.code, error)
            return
        }
        var pending = Data()
        for try await chunk in response.body {
            pending.append(contentsOf: chunk.readableBytesView)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let text = pending[pending.startIndex..<newline]
                pending = Data(pending[pending.index(after: newline)...])
                if let error = try? JSONDecoder().decode(AdminWire.ErrorOutput.self, from: text) {
                    throw Failure(description: "\(error.error.code): \(error.error.message)")
                }
                try line(Data(text))
            }
        }
    }

    private func send(_ request: HTTPClientRequest, body: Data, timeout: TimeAmount = .seconds(60)) async throws -> HTTPClientResponse {
        var request = request
        signer?.sign(&request, body: body)
        do {
            return try await HTTPClient.shared.execute(request, timeout: timeout)
        } catch {
            throw Failure(description: "cannot reach Spool at \(endpoint): \(error)")
        }
    }

    static func check(_ status: UInt, _ body: ByteBuffer) throws {
        guard status >= 300 else { return }
        if let error = try? JSONDecoder().decode(AdminWire.ErrorOutput.self, from: Data(buffer: body)) {
            throw Failure(description: "\(error.error.code): \(error.error.message)")
        }
        throw Failure(description: "HTTP \(status): \(String(buffer: body))")
    }
}
