import SpoolModel

/// Durable storage of function definitions.
///
/// Every write is one transaction. Conflicts and missing functions are `SpoolError`s with Lambda's codes.
public protocol FunctionStore: LayerStore {
    /// Stores a new function; `ResourceConflictException` if the name is taken.
    func createFunction(_ definition: FunctionDefinition) async throws -> FunctionDefinition
    /// Creates or replaces a function declared outside the API (configuration file, embedding program).
    func putFunction(_ definition: FunctionDefinition) async throws -> FunctionDefinition
    /// The function called `name`, or `nil`.
    func function(named name: String) async throws -> FunctionDefinition?
    /// Functions ordered by name, starting after `marker`.
    func listFunctions(after marker: String?, limit: Int) async throws -> [FunctionDefinition]
    /// Replaces a function's definition if its revision is still `expectedRevision`
    /// (`PreconditionFailedException` otherwise); the new definition carries its new revision.
    func updateFunction(_ definition: FunctionDefinition, expectedRevision: String) async throws -> FunctionDefinition
    /// Deletes a function and returns what it was, or `nil` if there was none.
    func deleteFunction(named name: String) async throws -> FunctionDefinition?
    /// The sum of reserved concurrency over every function except `name`.
    func reservedConcurrencyTotal(excluding name: String) async throws -> Int
    /// How many functions there are and the total size of their deployment packages.
    func functionUsage() async throws -> FunctionUsage

    // MARK: Versions and aliases (deleting a function deletes them too, and its version numbers start again at 1)

    /// PublishVersion: stores `snapshot` (the function's `$LATEST` definition) as the function's next version number,
    /// provided the function is still at `expectedRevision` (`PreconditionFailedException` otherwise). When the newest
    /// version already has the same code and configuration (`FunctionStoreRules.samePublishedState`), that version is
    /// returned and nothing is stored, as Lambda does. Numbers are never used twice for one function.
    func publishVersion(_ snapshot: FunctionDefinition, expectedRevision: String) async throws -> FunctionDefinition
    /// One published version, or `nil`.
    func functionVersion(_ name: String, version: Int) async throws -> FunctionDefinition?
    /// Published versions in number order, after `after`.
    func functionVersions(_ name: String, after: Int?, limit: Int) async throws -> [FunctionDefinition]
    /// Sets (or, with `nil`, removes) a published version's provisioned concurrency, the one setting of a version that
    /// changes; the version as it is now, or `nil` when it does not exist.
    func setVersionProvisionedConcurrency(_ name: String, version: Int, value: Int?, at: Millis?) async throws -> FunctionDefinition?
    /// Deletes a version and returns it, or `nil` if there was none; `ResourceConflictException` while an alias
    /// points or routes to it.
    func deleteFunctionVersion(_ name: String, version: Int) async throws -> FunctionDefinition?
    /// CreateAlias; `ResourceConflictException` when the name is taken, `ResourceNotFoundException` without the function.
    func createAlias(_ alias: FunctionAlias) async throws -> FunctionAlias
    /// One alias, or `nil`.
    func alias(_ functionName: String, name: String) async throws -> FunctionAlias?
    /// A function's aliases in name order, after `after`.
    func aliases(_ functionName: String, after: String?, limit: Int) async throws -> [FunctionAlias]
    /// Replaces an alias if its revision is still `expectedRevision` (`PreconditionFailedException` otherwise; any
    /// revision when `nil`); `ResourceNotFoundException` when it does not exist.
    func updateAlias(_ alias: FunctionAlias, expectedRevision: String?) async throws -> FunctionAlias
    /// Deletes an alias (and its function URL); whether there was one.
    func deleteAlias(_ functionName: String, name: String) async throws -> Bool

    // MARK: Function URLs (deleted with their function or alias)

    /// CreateFunctionUrlConfig; `ResourceConflictException` when the function or alias has one already,
    /// `ResourceNotFoundException` without the function.
    func createFunctionURL(_ config: FunctionURLConfig) async throws -> FunctionURLConfig
    /// The URL of a function (`qualifier` `nil`) or of one of its aliases, or `nil`.
    func functionURL(_ functionName: String, qualifier: String?) async throws -> FunctionURLConfig?
    /// The URL with this id, or `nil`: how a request to a URL finds its function.
    func functionURL(id: String) async throws -> FunctionURLConfig?
    /// Every URL of a function, the function's own first, then its aliases' in name order.
    func functionURLs(_ functionName: String) async throws -> [FunctionURLConfig]
    /// Replaces a URL's settings; `ResourceNotFoundException` when it does not exist.
    func updateFunctionURL(_ config: FunctionURLConfig) async throws -> FunctionURLConfig
    /// Deletes a URL; whether there was one.
    func deleteFunctionURL(_ functionName: String, qualifier: String?) async throws -> Bool

    // MARK: Resource-based policies (deleted with their function, version or alias)

    /// The policy of a function (`qualifier` `nil`), a version or an alias, or `nil` when it has none.
    func functionPolicy(_ functionName: String, qualifier: String?) async throws -> FunctionPolicy?
    /// Stores a policy if the stored one is still at `expectedRevision` (`nil`: there was none);
    /// `PreconditionFailedException` otherwise. An empty policy is deleted.
    func putFunctionPolicy(_ functionName: String, qualifier: String?, policy: FunctionPolicy, expectedRevision: String?) async throws
}

/// The account-wide figures GetAccountSettings reports.
public struct FunctionUsage: Sendable, Equatable {
    public var functionCount: Int
    public var totalCodeSize: Int64
    public var totalReservedConcurrency: Int

    public init(functionCount: Int, totalCodeSize: Int64, totalReservedConcurrency: Int) {
        self.functionCount = functionCount
        self.totalCodeSize = totalCodeSize
        self.totalReservedConcurrency = totalReservedConcurrency
    }
}
