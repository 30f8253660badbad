import Foundation

/// Deployment packages kept in a store every node shares, by `CodeSha256`, so that a function created through one node
/// runs on any other: each node unpacks a package once, into its own data directory, when it first needs it. Only a
/// shared backend (PostgreSQL) implements it; on SQLite the package lives in the data directory alone.
package protocol FunctionCodeStore: Sendable {
    /// Keeps `zip` under its digest (storing the same package twice keeps one copy).
    func putCode(sha256: String, zip: Data) async throws
    /// The package with this digest, if kept.
    func code(sha256: String) async throws -> Data?
    /// Forgets the package unless a function still uses it.
    func dropCodeIfUnused(sha256: String) async throws
}
