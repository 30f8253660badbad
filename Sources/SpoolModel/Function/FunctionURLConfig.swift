import Foundation

/// A function URL (CreateFunctionUrlConfig): an HTTP endpoint of its own for a function or one of its aliases, which
/// Spool serves as Lambda does (`<url-id>.lambda-url.<region>.on.aws` there, see docs/functions.md for Spool's forms).
public struct FunctionURLConfig: Sendable, Equatable, Codable {
    /// `Cors`: the CORS headers Spool answers preflight requests with and adds to responses.
    public struct CORS: Sendable, Equatable, Codable {
        public var allowCredentials: Bool?
        public var allowHeaders: [String]?
        public var allowMethods: [String]?
        public var allowOrigins: [String]?
        public var exposeHeaders: [String]?
        public var maxAge: Int?

        public init(allowCredentials: Bool? = nil, allowHeaders: [String]? = nil, allowMethods: [String]? = nil, allowOrigins: [String]? = nil,
                    exposeHeaders: [String]? = nil, maxAge: Int? = nil) {
            self.allowCredentials = allowCredentials
            self.allowHeaders = allowHeaders
            self.allowMethods = allowMethods
            self.allowOrigins = allowOrigins
            self.exposeHeaders = exposeHeaders
            self.maxAge = maxAge
        }

        /// The value of `Access-Control-Allow-Origin` for a request from `origin`, or `nil` when the origin is not allowed.
        public func allowedOrigin(_ origin: String) -> String? {
            let origins = allowOrigins ?? []
            if origins.contains(where: { $0.caseInsensitiveCompare(origin) == .orderedSame }) { return origin }
            return origins.contains("*") ? "*" : nil
        }

        /// Checks the settings as Lambda does: methods are HTTP methods or `*`, `MaxAge` 0–86,400, list sizes.
        public func validate() throws(SpoolError) {
            let methods = ["GET", "PUT", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS", "*"]
            for method in allowMethods ?? [] where !methods.contains(method.uppercased()) {
                throw SpoolError(.invalidParameterValue, "\(method) is not a valid HTTP method for Cors.AllowMethods.")
            }
            if let count = allowMethods?.count, count > 6 {
                throw SpoolError.validation(field: "cors.allowMethods", value: "\(count) entries", constraint: "Member must have length less than or equal to 6")
            }
            if let count = allowOrigins?.count, count > 100 {
                throw SpoolError.validation(field: "cors.allowOrigins", value: "\(count) entries", constraint: "Member must have length less than or equal to 100")
            }
            for (field, list) in [("allowHeaders", allowHeaders), ("exposeHeaders", exposeHeaders)] {
                if let count = list?.count, count > 100 {
                    throw SpoolError.validation(field: "cors.\(field)", value: "\(count) entries", constraint: "Member must have length less than or equal to 100")
                }
            }
            if let maxAge, !(0...86_400).contains(maxAge) {
                throw SpoolError.validation(field: "cors.maxAge", value: "\(maxAge)", constraint: "Member must have value between 0 and 86400")
            }
        }
    }

    /// The function's stored name.
    public var functionName: String
    /// The alias the URL invokes; `nil` for the function itself (`$LATEST`).
    public var qualifier: String?
    /// 32 lowercase letters and digits, the first label of the URL's host name.
    public var urlID: String
    /// `NONE` (anyone) or `AWS_IAM` (requests signed with Signature Version 4).
    public var authType: String
    public var cors: CORS?
    /// `BUFFERED`: the response is sent once the function returned.
    public var invokeMode: String
    public var createdAt: Millis
    public var modifiedAt: Millis

    public init(functionName: String, qualifier: String?, urlID: String, authType: String, cors: CORS?, invokeMode: String,
                createdAt: Millis, modifiedAt: Millis) {
        self.functionName = functionName
        self.qualifier = qualifier
        self.urlID = urlID
        self.authType = authType
        self.cors = cors
        self.invokeMode = invokeMode
        self.createdAt = createdAt
        self.modifiedAt = modifiedAt
    }

    /// A new URL id: 32 random lowercase letters and digits, as Lambda's.
    public static func newID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }

    /// Whether `text` can be a URL id (a host name's first label).
    public static func isURLID(_ text: some StringProtocol) -> Bool {
        text.utf8.count == 32 && text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) }
    }
}
