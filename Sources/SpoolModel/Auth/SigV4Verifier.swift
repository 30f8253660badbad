import Foundation

/// Checks the Signature Version 4 of a request against the configured credentials, with AWS's errors:
/// a missing signature, an incomplete one, an unknown key, a wrong scope, a clock more than five minutes
/// off, an expired presigned URL, and a signature that does not match.
public struct SigV4Verifier: Sendable {
    /// Secret access keys by access key id.
    public let secrets: [String: String]
    /// How far a request's timestamp may be from now (AWS: 5 minutes).
    public static let maximumSkew: TimeInterval = 300
    /// The longest a presigned URL may be valid (AWS: 7 days).
    public static let maximumExpires = 604_800

    /// Any region is accepted: each is a namespace of its own, which the credential scope chooses (`SigV4.region(of:)`).
    public init(secrets: [String: String]) {
        self.secrets = secrets
    }

    /// Verifies `request`, signed for `service`, with the body's SHA-256 in `request.payloadHash`.
    /// - Returns: the access key id that signed it.
    public func verify(_ request: SigV4.Request, service: String, now: Date) throws(SpoolError) -> String {
        if let authorization = request.headers["authorization"]?.first {
            return try verifyHeader(authorization, request, service: service, now: now)
        }
        let query = SigV4.queryParameters(request.rawQuery)
        if query["X-Amz-Signature"] != nil || query["X-Amz-Algorithm"] != nil || query["X-Amz-Credential"] != nil {
            return try verifyQuery(query, request, service: service, now: now)
        }
        throw SpoolError(.missingAuthenticationToken, "Missing Authentication Token")
    }

    private func verifyHeader(_ authorization: String, _ request: SigV4.Request, service: String, now: Date) throws(SpoolError) -> String {
        guard authorization.hasPrefix(SigV4.algorithm + " ") else {
            throw SpoolError(.incompleteSignature, "Authorization header requires '\(SigV4.algorithm)' as its algorithm. Authorization=\(authorization)")
        }
        var parameters: [String: String] = [:]
        for item in authorization.dropFirst(SigV4.algorithm.count + 1).split(separator: ",") {
            let parts = item.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if parts.count == 2 { parameters[String(parts[0])] = String(parts[1]) }
        }
        let missing = ["Credential", "Signature", "SignedHeaders"].filter { parameters[$0] == nil }
        guard missing.isEmpty, let credential = parameters["Credential"], let signature = parameters["Signature"],
              let signedHeaders = parameters["SignedHeaders"]
        else {
            let needs = missing.map { "Authorization header requires '\($0)' parameter." }.joined(separator: " ")
            throw SpoolError(.incompleteSignature, "\(needs) Authorization=\(authorization)")
        }
        guard let timestamp = request.headers["x-amz-date"]?.first ?? request.headers["date"]?.first.flatMap(Self.amzDate(fromHTTPDate:)) else {
            throw SpoolError(.incompleteSignature, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=\(authorization)")
        }
        return try check(credential: credential, timestamp: timestamp, signedHeaders: signedHeaders, signature: signature, request,
                         service: service, now: now, expires: nil, payloadHashes: [request.payloadHash])
    }

    private func verifyQuery(_ query: [String: String], _ request: SigV4.Request, service: String, now: Date) throws(SpoolError) -> String {
        guard let algorithm = query["X-Amz-Algorithm"], let credential = query["X-Amz-Credential"], let signature = query["X-Amz-Signature"],
              let signedHeaders = query["X-Amz-SignedHeaders"], let timestamp = query["X-Amz-Date"]
        else {
            throw SpoolError(.incompleteSignature, "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', "
                + "'X-Amz-SignedHeaders', 'X-Amz-Date'. Re-examine the query-string parameters.")
        }
        guard algorithm == SigV4.algorithm else {
            throw SpoolError(.incompleteSignature, "X-Amz-Algorithm only supports '\(SigV4.algorithm)', not '\(algorithm)'.")
        }
        var expires = Self.maximumExpires
        if let text = query["X-Amz-Expires"] {
            guard let value = Int(text), (1...Self.maximumExpires).contains(value) else {
                throw SpoolError(.incompleteSignature, "X-Amz-Expires must be a number of seconds from 1 to \(Self.maximumExpires), not '\(text)'.")
            }
            expires = value
        }
        // Over plain HTTP botocore hashes the (usually empty) body; other SDKs presign with UNSIGNED-PAYLOAD.
        return try check(credential: credential, timestamp: timestamp, signedHeaders: signedHeaders, signature: signature, request,
                         service: service, now: now, expires: expires, payloadHashes: [request.payloadHash, SigV4.unsignedPayload])
    }

    private func check(credential: String, timestamp: String, signedHeaders: String, signature: String, _ request: SigV4.Request,
                       service: String, now: Date, expires: Int?, payloadHashes: [String]) throws(SpoolError) -> String {
        let parts = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, parts[4] == "aws4_request", !parts[0].isEmpty else {
            throw SpoolError(.incompleteSignature, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '\(credential)'")
        }
        guard let secret = secrets[parts[0]] else {
            throw SpoolError(.unrecognizedClient, "The security token included in the request is invalid.")
        }
        guard let date = SigV4.parseTimestamp(timestamp) else {
            throw SpoolError(.incompleteSignature, "Date must be in ISO-8601 'basic format'. Got '\(timestamp)'. See http://en.wikipedia.org/wiki/ISO_8601")
        }
        let scope = SigV4.Scope(date: parts[1], region: parts[2], service: parts[3])
        guard scope.date == String(timestamp.prefix(8)) else {
            throw SpoolError(.invalidSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
                + "'\(scope.date)' != '\(timestamp.prefix(8))', from '\(timestamp)'.")
        }
        guard AWSIdentity.isRegionName(scope.region) else {
            throw SpoolError(.invalidSignature, "Credential should be scoped to a valid region, not '\(scope.region)'. ")
        }
        guard scope.service == service else {
            throw SpoolError(.invalidSignature, "Credential should be scoped to correct service: '\(service)'. ")
        }
        let nowText = SigV4.timestamp(now)
        if let expires {
            if now.timeIntervalSince(date) > TimeInterval(expires) {
                throw SpoolError(.invalidSignature, "Signature expired: \(timestamp) is now earlier than "
                    + "\(SigV4.timestamp(now.addingTimeInterval(-TimeInterval(expires)))) (\(nowText) - \(expires) sec.)")
            }
        } else if date < now.addingTimeInterval(-Self.maximumSkew) {
            throw SpoolError(.invalidSignature, "Signature expired: \(timestamp) is now earlier than "
                + "\(SigV4.timestamp(now.addingTimeInterval(-Self.maximumSkew))) (\(nowText) - 5 min.)")
        }
        if date > now.addingTimeInterval(Self.maximumSkew) {
            throw SpoolError(.invalidSignature, "Signature not yet current: \(timestamp) is still later than "
                + "\(SigV4.timestamp(now.addingTimeInterval(Self.maximumSkew))) (\(nowText) + 5 min.)")
        }
        let names = signedHeaders.split(separator: ";").map { String($0) }
        guard names.contains("host") else {
            throw SpoolError(.invalidSignature, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
        }
        var expected = ""
        for payloadHash in payloadHashes {
            var request = request
            request.payloadHash = payloadHash
            let canonical = SigV4.canonicalRequest(request, signedHeaders: names, excludingQuery: ["X-Amz-Signature"])
            let toSign = SigV4.stringToSign(timestamp: timestamp, scope: scope, canonicalRequest: canonical)
            if SigV4.constantTimeEqual(SigV4.signature(secret: secret, scope: scope, stringToSign: toSign), signature) { return parts[0] }
            if expected.isEmpty {
                expected = "\n\nThe Canonical String for this request should have been\n'\(canonical)'\n\nThe String-to-Sign should have been\n'\(toSign)'\n"
            }
        }
        throw SpoolError(.invalidSignature, "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
            + "Access Key and signing method. Consult the service documentation for details." + expected)
    }

    /// `Date: Sun, 30 Aug 2015 12:36:00 GMT` as `20150830T123600Z`.
    static func amzDate(fromHTTPDate text: String) -> String? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text).map(SigV4.timestamp)
    }
}

extension SigV4 {
    /// Signs a request as botocore does: sets `x-amz-date`, `x-amz-content-sha256` and `authorization` in `headers`
    /// (which must already hold `host`). For clients of Spool's own APIs, such as the CLI.
    public static func sign(method: String, rawPath: String, rawQuery: String = "", headers: inout [String: String], body: some DataProtocol,
                            accessKeyID: String, secret: String, region: String, service: String, now: Date = Date()) {
        let timestamp = timestamp(now)
        let payloadHash = hexSHA256(body)
        headers["x-amz-date"] = timestamp
        headers["x-amz-content-sha256"] = payloadHash
        headers["authorization"] = nil
        let names = headers.keys.map { $0.lowercased() }.sorted()
        let request = Request(method: method, rawPath: rawPath, rawQuery: rawQuery,
                              headers: Dictionary(uniqueKeysWithValues: headers.map { ($0.key.lowercased(), [$0.value]) }), payloadHash: payloadHash)
        let scope = Scope(date: String(timestamp.prefix(8)), region: region, service: service)
        let toSign = stringToSign(timestamp: timestamp, scope: scope, canonicalRequest: canonicalRequest(request, signedHeaders: names))
        headers["authorization"] = "\(algorithm) Credential=\(accessKeyID)/\(scope.text), SignedHeaders=\(names.joined(separator: ";")), "
            + "Signature=\(signature(secret: secret, scope: scope, stringToSign: toSign))"
    }
}
