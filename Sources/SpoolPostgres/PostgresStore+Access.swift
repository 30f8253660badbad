import Foundation
import Logging
import PostgresNIO
import SpoolModel
import SpoolStorage

/// Transactions and the few ways rows are read, shared by every part of the PostgreSQL backend.
extension PostgresStore {
    /// Runs `body` in one transaction (READ COMMITTED, committed durably as every PostgreSQL commit with the
    /// server's `synchronous_commit`) on a pooled connection. A deadlock or serialization failure rolls back
    /// and runs the body again (it never committed anything); a `SpoolError` thrown by the body rolls back and
    /// reaches the caller as it is; a unique violation is `conflict` when one is given (two nodes creating the same
    /// thing at once); anything else is a storage failure.
    func transaction<T: Sendable>(conflict: SpoolError? = nil, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await client.withConnection { connection in
                    try await connection.run("BEGIN")
                    do {
                        let value = try await body(connection)
                        try await connection.run("COMMIT")
                        return value
                    } catch {
                        try? await connection.run("ROLLBACK")
                        throw error
                    }
                }
            } catch let error as SpoolError {
                throw error
            } catch let error as StreamStoreError {
                throw error
            } catch let error as PSQLError where Self.isTransient(error) && attempt < 8 {
                attempt += 1
                continue
            } catch let error as PSQLError where conflict != nil && Self.isUniqueViolation(error) {
                throw conflict!
            } catch {
                throw SpoolError.storage(error)
            }
        }
    }

    /// A read outside any transaction (one statement sees one snapshot).
    func read<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection { connection in try await body(connection) }
        } catch let error as SpoolError {
            throw error
        } catch {
            throw SpoolError.storage(error)
        }
    }

    static func isTransient(_ error: PSQLError) -> Bool {
        let state = error.serverInfo?[.sqlState]
        return state == PostgresError.Code.deadlockDetected.raw || state == PostgresError.Code.serializationFailure.raw
    }

    static func isUniqueViolation(_ error: any Error) -> Bool {
        (error as? PSQLError)?.serverInfo?[.sqlState] == PostgresError.Code.uniqueViolation.raw
    }
}

/// Statements are logged at trace level only.
let statementLogger: Logger = {
    var logger = Logger(label: "spool.postgres.sql")
    logger.logLevel = .critical
    return logger
}()

extension PostgresConnection {
    /// Runs a statement and discards what it returns.
    func run(_ query: PostgresQuery) async throws {
        _ = try await self.query(query, logger: statementLogger).collect()
    }

    /// Every row a statement returns.
    func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await self.query(query, logger: statementLogger).collect()
    }

    /// The first row, if any.
    func first(_ query: PostgresQuery) async throws -> PostgresRow? {
        try await rows(query).first
    }

    /// The first column of the first row, `nil` without a row (or for SQL `NULL`).
    func value<T: PostgresDecodable>(_ query: PostgresQuery, as type: T.Type = T.self) async throws -> T? where T._DecodableType == T {
        guard let row = try await first(query) else { return nil }
        return try row.decode(T?.self)
    }

    /// How many rows a statement returns (write `RETURNING 1` to count what it changed).
    func count(_ query: PostgresQuery) async throws -> Int {
        try await rows(query).count
    }
}

extension PostgresRow {
    /// A column by name.
    func column<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        try makeRandomAccess()[name].decode(T.self)
    }
}

/// A row's columns by name, indexed once for several reads.
struct Columns {
    let row: PostgresRandomAccessRow

    init(_ row: PostgresRow) {
        self.row = row.makeRandomAccess()
    }

    func callAsFunction<T: PostgresDecodable>(_ name: String) throws -> T {
        try row[name].decode(T.self)
    }
}

/// A `WHERE` clause put together from optional filters, each with its value bound (never spliced into the SQL).
struct Conditions {
    private var clauses: [String] = []
    private(set) var binds = PostgresBindings()

    /// Adds `clause`, whose one `?` stands for `value`.
    mutating func add<Value: PostgresThrowingDynamicTypeEncodable>(_ clause: String, _ value: Value) throws {
        try binds.append(value)
        clauses.append(clause.replacingOccurrences(of: "?", with: "$\(binds.count)"))
    }

    /// Adds a clause without a value.
    mutating func add(_ clause: String) {
        clauses.append(clause)
    }

    /// A placeholder for one more value, for the rest of the statement (`LIMIT`).
    mutating func bind<Value: PostgresThrowingDynamicTypeEncodable>(_ value: Value) throws -> String {
        try binds.append(value)
        return "$\(binds.count)"
    }

    /// `head WHERE … tail`; the tail may use placeholders made by `bind`.
    func query(_ head: String, _ tail: String = "") -> PostgresQuery {
        let filter = clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
        return PostgresQuery(unsafeSQL: head + filter + " " + tail, binds: binds)
    }
}
