import Foundation
import HTTPTypes
import Hummingbird
import NIOFoundationEssentialsCompat
import SpoolEngine
import SpoolExecutor
import SpoolModel

/// Serves function URLs as Lambda does: an HTTP request becomes the payload format 2.0 event, the function's answer
/// becomes the HTTP response, CORS is applied from the URL's settings, and `AWS_IAM` URLs require Signature Version 4.
///
/// A URL is reached by host name, `<url-id>.lambda-url.<region>.localhost:PORT` (AWS's `<url-id>.lambda-url.<region>.on.aws`),
/// or, without any name resolution, by path: `http://HOST:PORT/lambda-url/<url-id>/…`, which is the `FunctionUrl` the
/// API reports. Either way the function sees the path after the URL's root as `rawPath`.
struct FunctionURLHandler: Sendable {
    let registry: FunctionRegistry
    let invoker: FunctionInvoker
    /// When credentials are configured, `AWS_IAM` URLs check signatures against them.
    let verifier: SigV4Verifier?

    /// The first path component of the path form.
    static let pathPrefix = "lambda-url"

    /// The URL the API reports for a configuration: the path form, which works without DNS.
    static func url(of config: FunctionURLConfig, base: String) -> String {
        "\(base)/\(pathPrefix)/\(config.urlID)/"
    }

    /// The URL id a `Host` header names: `<url-id>.lambda-url.<anything>`.
    static func id(fromHost authority: String?) -> String? {
        // Every request passes here: a substring test before anything is split keeps the others free of allocations.
        guard let authority, authority.contains(".lambda-url.") else { return nil }
        let host = authority.split(separator: ":", maxSplits: 1).first ?? ""
        let labels = host.split(separator: ".")
        guard labels.count >= 3, labels[1] == "lambda-url", FunctionURLConfig.isURLID(labels[0]) else { return nil }
        return String(labels[0])
    }

    /// The body a URL reads at most: Lambda's synchronous payload limit.
    static let maximumBodyBytes = FunctionLimits.syncPayloadBytes

    /// Answers one request to the URL `id`; `rawPath` is the request's path below the URL's root. Never throws: every
    /// failure is answered as Lambda's URLs answer it.
    func serve(_ request: Request, context: SpoolRequestContext, id: String, rawPath: String) async -> Response {
        let requestID = context.requestID
        guard let config = try? await registry.url(id: id) else { return Self.message(.forbidden, "Forbidden", requestID) }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: Self.maximumBodyBytes)
        } catch {
            return Self.message(.contentTooLarge, "Request Entity Too Large", requestID)
        }
        var accessKey: String?
        // A public URL is public only when the policy says so, as on Lambda (AddPermission lambda:InvokeFunctionUrl to *).
        if config.authType == "NONE", await !registry.allowsPublicURL(config) {
            return Self.message(.forbidden, "Forbidden", requestID)
        }
        if config.authType == "AWS_IAM" {
            guard SignatureMiddleware.isSigned(request) else { return Self.message(.forbidden, "Forbidden", requestID) }
            if let verifier {
                do {
                    accessKey = try verifier.verify(SignatureMiddleware.signed(request, body: body), service: "lambda", now: Date())
                } catch {
                    return Self.message(.forbidden, error.message, requestID)
                }
            } else {
                accessKey = Self.accessKey(request)
            }
        }
        let origin = request.headers[.origin]
        if let cors = config.cors, request.method == .options, let origin, request.headers[.accessControlRequestMethod] != nil {
            return Self.preflight(cors, origin: origin, requestID: requestID)
        }
        let event = Self.event(request, body: body, rawPath: rawPath, config: config, identity: registry.identity, accessKey: accessKey,
                               sourceIP: context.remoteIP, requestID: requestID)
        var response: Response
        do {
            let invocation = FunctionInvoker.Request(function: FunctionReference(name: config.functionName, qualifier: config.qualifier),
                                                     payload: ByteBuffer(data: event), clientContext: nil, requestID: requestID)
            if config.invokeMode == "RESPONSE_STREAM" {
                response = try await streamed(invocation, requestID: requestID)
            } else {
                let result = try await invoker.invoke(invocation)
                response = result.outcome.isError ? Self.message(.badGateway, "Internal Server Error", requestID)
                    : Self.response(from: result.outcome.payload, requestID: requestID)
            }
        } catch let error as SpoolError {
            switch error.code {
            case .tooManyRequests: response = Self.message(.tooManyRequests, "Rate Exceeded.", requestID)
            case .requestTooLarge: response = Self.message(.contentTooLarge, "Request Entity Too Large", requestID)
            case .resourceNotFound: response = Self.message(.forbidden, "Forbidden", requestID)
            default: response = Self.message(.internalServerError, "Internal Server Error", requestID)
            }
        } catch {
            response = Self.message(.internalServerError, "Internal Server Error", requestID)
        }
        if let cors = config.cors, let origin { Self.applyCORS(cors, origin: origin, to: &response) }
        return response
    }

    // MARK: Streaming (InvokeMode RESPONSE_STREAM)

    /// The content type with which a streaming runtime says its response starts with an HTTP prelude: a JSON object
    /// (`statusCode`, `headers`, `cookies`), eight zero bytes, then the body.
    static let integrationContentType = "application/vnd.awslambda.http-integration-response"

    /// The status and headers a streamed answer starts with, known once its prelude (or its first chunk) arrived.
    struct Head: Sendable {
        var status: HTTPResponse.Status
        var headers: HTTPFields
    }

    /// A `RESPONSE_STREAM` URL: the body goes to the client chunk by chunk as the function writes it. A runtime that
    /// answers whole (no streaming mode) is answered as a `BUFFERED` URL answers.
    func streamed(_ invocation: FunctionInvoker.Request, requestID: String) async throws -> Response {
        let stream = ResponseStream()
        let started = try await invoker.start(invocation, stream: stream)
        let run = invoker.run(started, streamingInto: stream)
        let (body, bodyWriter) = AsyncStream.makeStream(of: ByteBuffer.self)
        // Reads the head (the prelude, or the first chunk) and hands the rest of the stream on as it comes.
        let head: Head? = await withCheckedContinuation { (continuation: CheckedContinuation<Head?, Never>) in
            Task {
                var resumed = false
                var pending = ByteBuffer()
                for await chunk in stream.chunks {
                    if resumed {
                        bodyWriter.yield(chunk)
                        continue
                    }
                    pending.writeImmutableBuffer(chunk)
                    guard stream.contentType?.lowercased().hasPrefix(Self.integrationContentType) == true else {
                        var headers: HTTPFields = [.contentType: stream.contentType ?? "application/octet-stream", AWSJSON.requestID: requestID]
                        headers[.transferEncoding] = nil
                        continuation.resume(returning: Head(status: .ok, headers: headers))
                        resumed = true
                        bodyWriter.yield(pending)
                        continue
                    }
                    let bytes = Array(pending.readableBytesView)
                    guard let end = Self.preludeEnd(bytes) else { continue }
                    continuation.resume(returning: Self.head(prelude: Data(bytes[..<end]), requestID: requestID))
                    resumed = true
                    bodyWriter.yield(ByteBuffer(bytes: bytes[(end + 8)...]))
                }
                if !resumed { continuation.resume(returning: nil) }
                bodyWriter.finish()
            }
        }
        guard let head else {
            // Nothing streamed: a whole answer, mapped as a buffered URL maps it.
            guard let result = await run.value else { return Self.message(.internalServerError, "Internal Server Error", requestID) }
            return result.outcome.isError ? Self.message(.badGateway, "Internal Server Error", requestID)
                : Self.response(from: result.outcome.payload, requestID: requestID)
        }
        return Response(status: head.status, headers: head.headers, body: ResponseBody { writer in
            for await chunk in body { try await writer.write(chunk) }
            _ = await run.value
            try await writer.finish(nil)
        })
    }

    /// Where the eight zero bytes after an HTTP prelude start, if they arrived.
    static func preludeEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 8 else { return nil }
        var zeros = 0
        for (index, byte) in bytes.enumerated() {
            zeros = byte == 0 ? zeros + 1 : 0
            if zeros == 8 { return index - 7 }
        }
        return nil
    }

    /// The status and headers an HTTP prelude describes.
    static func head(prelude: Data, requestID: String) -> Head {
        let object = (try? JSONSerialization.jsonObject(with: prelude)) as? [String: Any] ?? [:]
        let status = (object["statusCode"] as? NSNumber)?.intValue ?? 200
        let headers = fields(of: object, defaultContentType: "application/octet-stream", requestID: requestID)
        return Head(status: (100...599).contains(status) ? .init(code: status) : .badGateway, headers: headers)
    }

    // MARK: The event

    /// Lambda's payload format 2.0 for a request.
    static func event(_ request: Request, body: ByteBuffer, rawPath: String, config: FunctionURLConfig, identity: AWSIdentity,
                      accessKey: String?, sourceIP: String?, requestID: String) -> Data {
        var headers: [String: String] = [:]
        var cookies: [String] = []
        for field in request.headers {
            let name = field.name.canonicalName
            if name == "cookie" {
                cookies += field.value.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                continue
            }
            headers[name] = headers[name].map { $0 + "," + field.value } ?? field.value
        }
        let host = request.head.authority ?? ""
        let domain = id(fromHost: host) != nil ? String(host.split(separator: ":").first ?? "")
            : "\(config.urlID).lambda-url.\(identity.region(of: config.functionName)).localhost"
        headers["host"] = host
        let rawQuery = request.uri.query ?? ""
        let now = Date()
        var http: [String: Any] = ["method": request.method.rawValue, "path": rawPath, "protocol": "HTTP/1.1",
                                   "sourceIp": sourceIP ?? "127.0.0.1"]
        if let agent = request.headers[.userAgent] { http["userAgent"] = agent }
        var authorizer: Any = NSNull()
        if let accessKey {
            authorizer = ["iam": ["accessKey": accessKey, "accountId": identity.accountID, "callerId": accessKey, "cognitoIdentity": NSNull(),
                                  "principalOrgId": NSNull(), "userArn": "arn:aws:iam::\(identity.accountID):root", "userId": accessKey]]
        }
        let context: [String: Any] = [
            "accountId": identity.accountID, "apiId": config.urlID, "authentication": NSNull(), "authorizer": authorizer,
            "domainName": domain, "domainPrefix": config.urlID, "http": http, "requestId": requestID, "routeKey": "$default",
            "stage": "$default", "time": timeFormat.string(from: now), "timeEpoch": Int64(now.timeIntervalSince1970 * 1000),
        ]
        var event: [String: Any] = [
            "version": "2.0", "routeKey": "$default", "rawPath": rawPath, "rawQueryString": rawQuery, "headers": headers,
            "requestContext": context, "isBase64Encoded": false,
        ]
        if !cookies.isEmpty { event["cookies"] = cookies }
        if let parameters = queryParameters(rawQuery) { event["queryStringParameters"] = parameters }
        if body.readableBytes > 0 {
            let bytes = Data(buffer: body)
            if isText(request.headers[.contentType]), let text = String(data: bytes, encoding: .utf8) {
                event["body"] = text
            } else {
                event["body"] = bytes.base64EncodedString()
                event["isBase64Encoded"] = true
            }
        }
        return (try? JSONSerialization.data(withJSONObject: event, options: [.withoutEscapingSlashes])) ?? Data("{}".utf8)
    }

    /// `queryStringParameters`: decoded, a repeated name's values joined with commas; `nil` without a query.
    static func queryParameters(_ rawQuery: String) -> [String: String]? {
        guard !rawQuery.isEmpty else { return nil }
        var parameters: [String: String] = [:]
        for item in rawQuery.split(separator: "&") where !item.isEmpty {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring) in text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text) }
            let name = decode(parts[0])
            let value = parts.count > 1 ? decode(parts[1]) : ""
            parameters[name] = parameters[name].map { $0 + "," + value } ?? value
        }
        return parameters
    }

    /// Whether a body of this content type reaches the function as text (otherwise base64, `isBase64Encoded: true`).
    static func isText(_ contentType: String?) -> Bool {
        guard let type = contentType?.lowercased() else { return true }
        return type.hasPrefix("text/") || ["json", "xml", "javascript", "x-www-form-urlencoded", "yaml", "graphql"].contains { type.contains($0) }
    }

    /// `12/Mar/2020:19:03:58 +0000`.
    static let timeFormat: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "dd/MMM/yyyy:HH:mm:ss Z"
        return formatter
    }()

    /// The access key id of a signed request (`Credential=KEY/…`), for the event when signatures cannot be checked.
    static func accessKey(_ request: Request) -> String? {
        SigV4.credential(authorization: request.headers[.authorization], rawQuery: request.uri.query.map { Substring($0) })?.first.map(String.init)
    }

    // MARK: The response

    /// The function's answer as the HTTP response: a JSON object with `statusCode` is a response description
    /// (`headers`, `cookies`, `body`, `isBase64Encoded`); any other JSON value is the body of a 200 `application/json`.
    static func response(from payload: ByteBuffer, requestID: String) -> Response {
        let data = Data(buffer: payload)
        guard let value = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
            return message(.badGateway, "Internal Server Error", requestID)
        }
        guard let object = value as? [String: Any], let code = object["statusCode"] else {
            return Response(status: .ok, headers: [.contentType: "application/json", AWSJSON.requestID: requestID],
                            body: .init(byteBuffer: payload))
        }
        guard let status = (code as? NSNumber)?.intValue ?? (code as? String).flatMap(Int.init), (100...599).contains(status) else {
            return message(.badGateway, "Internal Server Error", requestID)
        }
        let headers = fields(of: object, defaultContentType: "application/json", requestID: requestID)
        var body = Data()
        if let text = object["body"] as? String {
            if (object["isBase64Encoded"] as? Bool) == true {
                guard let decoded = Data(base64Encoded: text) else { return message(.badGateway, "Internal Server Error", requestID) }
                body = decoded
            } else {
                body = Data(text.utf8)
            }
        } else if let other = object["body"], !(other is NSNull) {
            body = (try? JSONSerialization.data(withJSONObject: other, options: [.fragmentsAllowed])) ?? Data()
        }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(data: body)))
    }

    /// The headers a response description (an answer with `statusCode`, or a streamed prelude) asks for: `headers`,
    /// `cookies` as `Set-Cookie`, a content type by default, and the request id.
    static func fields(of object: [String: Any], defaultContentType: String, requestID: String) -> HTTPFields {
        var headers = HTTPFields()
        for (name, value) in (object["headers"] as? [String: Any]) ?? [:] {
            guard let field = HTTPField.Name(name) else { continue }
            headers[field] = (value as? String) ?? "\(value)"
        }
        for cookie in (object["cookies"] as? [String]) ?? [] { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        if headers[.contentType] == nil { headers[.contentType] = defaultContentType }
        headers[AWSJSON.requestID] = requestID
        return headers
    }

    /// `{"Message": …}` with a status, as Lambda's URLs answer their own errors.
    static func message(_ status: HTTPResponse.Status, _ text: String, _ requestID: String) -> Response {
        let body = (try? JSONSerialization.data(withJSONObject: ["Message": text])) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json", AWSJSON.requestID: requestID],
                        body: .init(byteBuffer: ByteBuffer(data: body)))
    }

    // MARK: CORS

    /// The answer to a preflight request (`OPTIONS` with `Origin` and `Access-Control-Request-Method`), which the
    /// function never sees when the URL has CORS settings.
    static func preflight(_ cors: FunctionURLConfig.CORS, origin: String, requestID: String) -> Response {
        var headers: HTTPFields = [AWSJSON.requestID: requestID, .vary: "Origin"]
        if let allowed = cors.allowedOrigin(origin) {
            headers[.accessControlAllowOrigin] = allowed
            if let methods = cors.allowMethods, !methods.isEmpty { headers[.accessControlAllowMethods] = methods.joined(separator: ",") }
            if let names = cors.allowHeaders, !names.isEmpty { headers[.accessControlAllowHeaders] = names.joined(separator: ",") }
            if let maxAge = cors.maxAge { headers[.accessControlMaxAge] = String(maxAge) }
            if cors.allowCredentials == true { headers[.accessControlAllowCredentials] = "true" }
        }
        return Response(status: .ok, headers: headers)
    }

    /// The CORS headers of a response to an allowed origin; they replace any the function set.
    static func applyCORS(_ cors: FunctionURLConfig.CORS, origin: String, to response: inout Response) {
        guard let allowed = cors.allowedOrigin(origin) else { return }
        response.headers[.accessControlAllowOrigin] = allowed
        if let names = cors.exposeHeaders, !names.isEmpty { response.headers[.accessControlExposeHeaders] = names.joined(separator: ",") }
        if cors.allowCredentials == true { response.headers[.accessControlAllowCredentials] = "true" }
        response.headers[.vary] = "Origin"
    }
}

/// Serves function URLs reached by host name (`<url-id>.lambda-url.<region>.localhost`), before any other route.
struct FunctionURLHostMiddleware: RouterMiddleware {
    typealias Context = SpoolRequestContext
    let handler: FunctionURLHandler

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let id = FunctionURLHandler.id(fromHost: request.head.authority) else { return try await next(request, context) }
        let rawPath = String((request.head.path ?? "/").prefix { $0 != "?" })
        return await handler.serve(request, context: context, id: id, rawPath: rawPath.isEmpty ? "/" : rawPath)
    }
}
