/// How hard a commit works to survive failures.
public enum SQLiteDurability: String, Sendable, CaseIterable {
    /// `synchronous=FULL`: a commit is on stable storage before the caller is answered, so an
    /// acknowledged write survives power loss and kernel crashes. The default.
    case full
    /// `synchronous=NORMAL`: survives a crash of the Spool process, but the last commits before a
    /// power loss may be lost. Faster; an explicit opt-in.
    case normal

    var pragmaValue: Int { self == .full ? 2 : 1 }
}
