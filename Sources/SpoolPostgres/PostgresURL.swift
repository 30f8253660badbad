import Foundation
import NIOSSL
import PostgresNIO
import SpoolModel

/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=disable|prefer|require]`, as the `database` setting takes it.
package struct PostgresURL: Sendable, Equatable {
    package enum SSLMode: String, Sendable {
        case disable, prefer, require
    }

    package var host: String
    package var port: Int
    package var user: String
    package var password: String?
    package var database: String
    package var sslMode: SSLMode

    /// Parses the URL, or throws an error that says what is wrong with it (the password never appears in it).
    package init(_ text: String) throws(SpoolError) {
        func invalid(_ reason: String) -> SpoolError {
            SpoolError(.invalidParameterValue, "The database URL is not valid: \(reason). Expected postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=disable|prefer|require].")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme,
              scheme == "postgres" || scheme == "postgresql" else { throw invalid("it must start with postgres://") }
        guard let host = components.host, !host.isEmpty else { throw invalid("it names no host") }
        guard let user = components.user, !user.isEmpty else { throw invalid("it names no user") }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else { throw invalid("it names no database") }
        var mode = SSLMode.prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value.flatMap(SSLMode.init(rawValue:)) else {
                    throw invalid("sslmode must be disable, prefer or require")
                }
                mode = value
            default:
                throw invalid("the option \(item.name) is not supported yet")
            }
        }
        self.init(host: host, port: components.port ?? 5432, user: user.removingPercentEncoding ?? user,
                  password: components.password.map { $0.removingPercentEncoding ?? $0 },
                  database: database.removingPercentEncoding ?? database, sslMode: mode)
    }

    /// A URL from its parts (tests, tools).
    package init(host: String, port: Int = 5432, user: String, password: String?, database: String, sslMode: SSLMode = .prefer) {
        (self.host, self.port, self.user, self.password, self.database, self.sslMode) = (host, port, user, password, database, sslMode)
    }

    /// The URL without its password, for logs and errors.
    package var redacted: String {
        "postgres://\(user)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)?sslmode=\(sslMode.rawValue)"
    }

    /// The URL itself, password included (what another process is given).
    package var text: String {
        func encoded(_ part: String) -> String { part.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed.subtracting(.init(charactersIn: ":@/"))) ?? part }
        return "postgres://\(encoded(user))\(password.map { ":" + encoded($0) } ?? "")@\(host):\(port)/\(encoded(database))?sslmode=\(sslMode.rawValue)"
    }

    /// Why `text` is not a database URL Spool takes, or `nil` when it is one.
    package static func refusal(of text: String) -> String? {
        do {
            _ = try PostgresURL(text)
            return nil
        } catch {
            return error.message
        }
    }

    /// The client configuration this URL describes.
    package var clientConfiguration: PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS = switch sslMode {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
        return PostgresClient.Configuration(host: host, port: port, username: user, password: password, database: database, tls: tls)
    }
}
