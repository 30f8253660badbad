import SpoolModel

/// Durable storage of function definitions.
///
/// Every write is one transaction. Conflicts and missing functions are `SpoolError`s with Lambda's codes.
public protocol FunctionStore: Sendable {
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
