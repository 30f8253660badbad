import Foundation
import Hummingbird
import SpoolModel

/// Refuses every API request that does not carry a valid Signature Version 4 from a configured credential
/// (`APIErrorMiddleware` answers in the error shape of the API it was meant for). `/health` stays open.
struct SignatureMiddleware: RouterMiddleware {
    typealias Context = SpoolRequestContext

    let verifier: SigV4Verifier
    /// The largest body read to hash it: a CreateFunction with a 50 MB zip; handlers apply their own smaller limits.
    static let maximumBodyBytes = FunctionLimits.createRequestBytes

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let service = APIService.of(request) else { return try await next(request, context) }
        // Nothing to check without a signature: refuse before reading a body.
        guard Self.isSigned(request) else {
            throw SpoolError(.missingAuthenticationToken, "Missing Authentication Token")
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: Self.maximumBodyBytes)
        } catch {
            throw SpoolError(.requestTooLarge, "Request must be smaller than \(Self.maximumBodyBytes) bytes.")
        }
        _ = try verifier.verify(Self.signed(request, body: body), service: service.signingName, now: Date())
        return try await next(request, context)
    }

    /// Whether a request carries a signature, in its `Authorization` header or its query (a presigned URL).
    static func isSigned(_ request: Request) -> Bool {
        request.headers[.authorization] != nil || (request.uri.query ?? "").contains("X-Amz-")
    }

    /// The request as Signature Version 4 reads it: method, raw path and query, headers (with `host`), the body's hash.
    static func signed(_ request: Request, body: ByteBuffer) -> SigV4.Request {
        let rawTarget = request.head.path ?? "/"
        let split = rawTarget.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var headers: [String: [String]] = [:]
        for field in request.headers { headers[field.name.canonicalName, default: []].append(field.value) }
        if let authority = request.head.authority { headers["host"] = [authority] }
        return SigV4.Request(method: request.method.rawValue, rawPath: String(split[0]), rawQuery: split.count > 1 ? String(split[1]) : "",
                             headers: headers, payloadHash: SigV4.hexSHA256(body.readableBytesView))
    }
}
