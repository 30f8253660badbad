import Foundation
import SpoolModel

/// A function declared in the configuration file's `functions.declared` list, re-applied at every start.
///
/// ```json
/// {"name": "hook", "executor": "webhook", "url": "http://127.0.0.1:8080/events", "timeout": 10}
/// {"name": "resize", "runtime": "python3.12", "handler": "app.handler", "codeDirectory": "./functions/resize"}
/// ```
public struct DeclaredFunction: Sendable, Equatable, Codable {
    public var name: String
    /// `process` (default when `runtime` is given) or `webhook`.
    public var executor: String?
    public var url: String?
    public var runtime: String?
    public var handler: String?
    public var codeDirectory: String?
    public var timeout: Int?
    public var memorySize: Int?
    public var environment: [String: String]?
    public var description: String?
    public var reservedConcurrency: Int?
    public var provisionedConcurrency: Int?
    public var deadLetterTargetArn: String?

    /// The definition this declaration stands for, or an error naming what is wrong.
    func definition(identity: AWSIdentity, baseDirectory: String, now: Millis) throws -> FunctionDefinition {
        let key = "functions.declared[\(name)]"
        guard FunctionReference.isValidName(name) else {
            throw SpoolConfiguration.Invalid(key: key, reason: "the name must be 1-64 characters of letters, digits, '-' and '_'")
        }
        let kind = executor ?? (url != nil ? "webhook" : "process")
        var definition = FunctionDefinition(name: name, executor: .process, source: .configuration, revisionID: UUID().uuidString.lowercased(), lastModified: now)
        let settings = FunctionSettings(runtime: runtime, handler: handler, description: description, timeoutSeconds: timeout,
                                        memorySizeMB: memorySize, environment: environment, deadLetterTargetARN: deadLetterTargetArn)
        do {
            try settings.apply(to: &definition, identity: identity)
        } catch {
            throw SpoolConfiguration.Invalid(key: key, reason: error.message)
        }
        switch kind {
        case "webhook":
            guard let url, let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                throw SpoolConfiguration.Invalid(key: key, reason: "a webhook function needs an http(s) 'url'")
            }
            definition.executor = .webhook
            definition.webhookURL = url
        case "process":
            guard runtime != nil, handler != nil, let codeDirectory else {
                throw SpoolConfiguration.Invalid(key: key, reason: "a process function needs 'runtime', 'handler' and 'codeDirectory'")
            }
            let path = codeDirectory.hasPrefix("/") ? codeDirectory : (baseDirectory as NSString).appendingPathComponent(codeDirectory)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw SpoolConfiguration.Invalid(key: key, reason: "codeDirectory \(path) is not a directory")
            }
            definition.codeDirectory = URL(fileURLWithPath: path).standardizedFileURL.path
        default:
            throw SpoolConfiguration.Invalid(key: key, reason: "executor must be 'process' or 'webhook', not '\(kind)'")
        }
        if let reservedConcurrency, reservedConcurrency < 0 {
            throw SpoolConfiguration.Invalid(key: key, reason: "reservedConcurrency must be 0 or more")
        }
        definition.reservedConcurrency = reservedConcurrency
        if let provisionedConcurrency {
            guard provisionedConcurrency >= 1, definition.executor == .process else {
                throw SpoolConfiguration.Invalid(key: key, reason: "provisionedConcurrency must be 1 or more, for a process function")
            }
            definition.provisionedConcurrency = provisionedConcurrency
            definition.provisionedLastModified = now
        }
        return definition
    }
}
