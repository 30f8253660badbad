
/// One value of a stored row, as both backends can write it back: SQLite's storage classes (PostgreSQL booleans are
/// integers 0 and 1, as SQLite keeps them).
package enum DumpValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// A table as a store copy sees it: its columns in order, its primary key (rows are read in its order), and the
/// tables its rows refer to.
package struct DumpTable: Sendable, Equatable {
    package var name: String
    package var columns: [String]
    package var primaryKey: [String]
    /// Tables this one's foreign keys point at (loaded first).
    package var references: [String]
    /// Columns referring to rows of this same table (loaded empty, then set once every row is there).
    package var selfReferences: [String]

    package init(name: String, columns: [String], primaryKey: [String], references: [String] = [], selfReferences: [String] = []) {
        self.name = name
        self.columns = columns
        self.primaryKey = primaryKey
        self.references = references
        self.selfReferences = selfReferences
    }
}

/// What `spool store copy` needs of a backend: its data tables, their rows in key order, and loading rows into an
/// empty store. Bookkeeping (migrations, generations, counters, node rows, leases) is each store's own and is not
/// copied.
package protocol StoreDumping: Sendable {
    /// The tables holding Spool's records.
    func dumpTables() async throws -> [DumpTable]
    /// A page of `table`'s rows, `columns` only, in primary-key order.
    func dumpRows(_ table: DumpTable, columns: [String], offset: Int, limit: Int) async throws -> [[DumpValue]]
    /// Whether every data table is empty (a copy goes only into an empty store).
    func isEmptyForLoad() async throws -> Bool
    /// Inserts rows as they are (identities included), in one transaction.
    func loadRows(_ table: DumpTable, columns: [String], rows: [[DumpValue]]) async throws
    /// Sets `column` of the rows whose primary key is `key` (self-references, after every row is in).
    func setColumn(_ table: DumpTable, column: String, values: [(key: [DumpValue], value: DumpValue)]) async throws
    /// After every row is in: identity sequences moved past the copied ids, derived columns and counters recomputed.
    func finishLoad() async throws
}
