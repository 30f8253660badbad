import Crypto
import Foundation

/// AWS Signature Version 4: the canonical request, the string to sign and the signature, computed the
/// way botocore computes them, so that one implementation both verifies requests (the server) and signs
/// them (the CLI).
public enum SigV4 {
    public static let algorithm = "AWS4-HMAC-SHA256"
    /// The SHA-256 of an empty body.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    /// One request as it was on the wire.
    public struct Request: Sendable {
        public var method: String
        /// The path exactly as sent (still percent-encoded), without the query.
        public var rawPath: String
        /// The query string as sent, without `?`.
        public var rawQuery: String
        /// Header names in lower case, each with every value it was sent with.
        public var headers: [String: [String]]
        /// Lowercase hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
        public var payloadHash: String

        public init(method: String, rawPath: String, rawQuery: String, headers: [String: [String]], payloadHash: String) {
            self.method = method
            self.rawPath = rawPath
            self.rawQuery = rawQuery
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    /// `yyyymmdd/region/service/aws4_request`.
    public struct Scope: Sendable, Equatable {
        public var date: String
        public var region: String
        public var service: String

        public init(date: String, region: String, service: String) {
            self.date = date
            self.region = region
            self.service = service
        }

        public var text: String { "\(date)/\(region)/\(service)/aws4_request" }
    }

    // MARK: Canonical request

    /// The canonical request of `request`, signing `signedHeaders` (lower case, any order). Query parameters
    /// named in `excludingQuery` (a presigned URL's `X-Amz-Signature`) are left out.
    public static func canonicalRequest(_ request: Request, signedHeaders: [String], excludingQuery: Set<String> = []) -> String {
        let names = signedHeaders.sorted()
        var lines = [request.method.uppercased(), canonicalURI(request.rawPath), canonicalQuery(request.rawQuery, excluding: excludingQuery)]
        for name in names {
            let values = request.headers[name] ?? []
            lines.append("\(name):\(values.map(collapseWhitespace).joined(separator: ","))")
        }
        lines.append("")
        lines.append(names.joined(separator: ";"))
        lines.append(request.payloadHash)
        return lines.joined(separator: "\n")
    }

    /// The path with dot segments removed, each byte outside `A-Za-z0-9-_.~/` percent-encoded: non-S3
    /// services encode the already-encoded wire path a second time.
    public static func canonicalURI(_ rawPath: String) -> String {
        var segments: [Substring] = []
        for part in rawPath.split(separator: "/") where part != "." {
            if part == ".." {
                _ = segments.popLast()
            } else {
                segments.append(part)
            }
        }
        let trailing = rawPath.hasSuffix("/") && !segments.isEmpty ? "/" : ""
        return encode("/" + segments.joined(separator: "/") + trailing, keepingSlash: true)
    }

    /// Pairs decoded and re-encoded as RFC 3986, sorted by key and then value, joined by `&`.
    public static func canonicalQuery(_ rawQuery: String, excluding: Set<String> = []) -> String {
        guard !rawQuery.isEmpty else { return "" }
        var pairs: [(String, String)] = []
        for item in rawQuery.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = decode(parts[0])
            if excluding.contains(key) { continue }
            let value = parts.count > 1 ? decode(parts[1]) : ""
            pairs.append((encode(key, keepingSlash: false), encode(value, keepingSlash: false)))
        }
        pairs.sort { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
        return pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// The region a request's credential scope names (`Credential=KEY/DATE/REGION/SERVICE/aws4_request` in its
    /// `Authorization` header, or `X-Amz-Credential` in a presigned query), when it names a valid one; whether the
    /// signature holds is the verifier's business.
    public static func region(authorization: String?, rawQuery: Substring?) -> String? {
        guard let parts = credential(authorization: authorization, rawQuery: rawQuery), AWSIdentity.isRegionName(parts[2]) else { return nil }
        return String(parts[2])
    }

    /// The five parts of a request's credential (`KEY/DATE/REGION/SERVICE/aws4_request`), from its `Authorization`
    /// header or the `X-Amz-Credential` of a presigned query, when it has one of that form; unchecked.
    public static func credential(authorization: String?, rawQuery: Substring?) -> [Substring]? {
        var credential: Substring?
        if let authorization, let start = authorization.range(of: "Credential=") {
            credential = authorization[start.upperBound...].prefix { $0 != "," && $0 != " " }
        } else if let rawQuery, rawQuery.contains("X-Amz-Credential=") {
            credential = queryParameters(String(rawQuery))["X-Amz-Credential"].map { Substring($0) }
        }
        guard let parts = credential?.split(separator: "/", omittingEmptySubsequences: false), parts.count == 5 else { return nil }
        return parts
    }

    /// The query parameters of `rawQuery`, decoded; the first value of a repeated key wins.
    public static func queryParameters(_ rawQuery: String) -> [String: String] {
        var result: [String: String] = [:]
        for item in rawQuery.split(separator: "&") {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = decode(parts[0])
            if result[key] == nil { result[key] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return result
    }

    // MARK: Signature

    public static func stringToSign(timestamp: String, scope: Scope, canonicalRequest: String) -> String {
        "\(algorithm)\n\(timestamp)\n\(scope.text)\n\(hexSHA256(Data(canonicalRequest.utf8)))"
    }

    /// `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`, then HMAC of the string to sign.
    public static func signature(secret: String, scope: Scope, stringToSign: String) -> String {
        var key = SymmetricKey(data: Data("AWS4\(secret)".utf8))
        for part in [scope.date, scope.region, scope.service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return MessageDigest.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
    }

    /// Compares two signatures in time that does not depend on where they differ.
    public static func constantTimeEqual(_ left: String, _ right: String) -> Bool {
        let a = Array(left.utf8), b = Array(right.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    public static func hexSHA256(_ data: some DataProtocol) -> String { MessageDigest.hex(SHA256.hash(data: data)) }

    /// `20150830T123600Z` ↔ a date.
    public static func parseTimestamp(_ text: String) -> Date? {
        guard text.count == 16 else { return nil }
        return try? timestampFormat.parse(text)
    }

    public static func timestamp(_ date: Date) -> String { timestampFormat.format(date) }

    private static let timestampFormat = Date.ISO8601FormatStyle(dateSeparator: .omitted, dateTimeSeparator: .standard, timeSeparator: .omitted,
                                                                  timeZone: TimeZone(identifier: "UTC")!)

    // MARK: Encoding

    private static func collapseWhitespace(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    /// RFC 3986 encoding: every byte outside `A-Za-z0-9-_.~` (and `/` when kept) as `%XX`, upper-case hex.
    static func encode(_ text: some StringProtocol, keepingSlash: Bool) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where keepingSlash:
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Percent-decoding of a query component (`+` stays a plus, as botocore sends spaces as `%20`).
    static func decode(_ text: some StringProtocol) -> String {
        guard text.contains("%") else { return String(text) }
        var out: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        while let byte = bytes.popFirst() {
            if byte == UInt8(ascii: "%"), bytes.count >= 2,
               let value = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) {
                out.append(value)
                bytes = bytes.dropFirst(2)
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
