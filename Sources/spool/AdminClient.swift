import AsyncHTTPClient
import Foundation
import NIOCore
import SpoolHTTP

/// Talks to a running server's admin API (`/spool/v1/…`), for the operator subcommands.
struct AdminClient {
    let endpoint: String

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// GETs `path` and decodes the JSON answer.
    func get<T: Decodable>(_ path: String, as type: T.Type) async throws -> T {
        let response = try await send(HTTPClientRequest(url: endpoint + path))
        let body = try await response.body.collect(upTo: 64 * 1_048_576)
        try Self.check(response.status.code, body)
        return try JSONDecoder().decode(type, from: Data(buffer: body))
    }

    /// POSTs `body` to `path` and calls `line` with every line of the streamed answer as it arrives.
    func stream(_ path: String, body: some Encodable, line: (Data) throws -> Void) async throws {
        var request = HTTPClientRequest(url: endpoint + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(body)))
        let response = try await send(request, timeout: .hours(24))
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

    private func send(_ request: HTTPClientRequest, timeout: TimeAmount = .seconds(60)) async throws -> HTTPClientResponse {
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
