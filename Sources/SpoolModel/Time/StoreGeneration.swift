/// The generation a store takes each time it opens, and the lease epochs it may issue.
///
/// Leases (receives, claims, hand-offs, stream lanes) commit without an fsync of their own, so a power loss can undo
/// one after its receipt was handed out. Fencing survives that because every opening takes a new generation,
/// committed durably before the first lease, and every epoch issued afterwards is at least `generation << 32`:
/// an epoch handed out before an unclean stop is below the floor of every later opening and can never be issued again.
/// A receipt whose message was not leased again keeps its epoch, and keeps working.
public enum StoreGeneration {
    /// 2020-01-01T00:00:00Z in Unix milliseconds: generations count seconds from there.
    static let originMillis: Millis = 1_577_836_800_000

    /// The generation after `stored`: one more, and at least the seconds since 2020 at `now`, so that a restored
    /// backup (whose stored generation is older than the receipts clients hold) still moves past every generation
    /// used since, unless the clock went back. Fits the shift until 2088.
    public static func next(after stored: Int64, now: Millis) -> Int64 {
        max(stored + 1, lowest(at: now))
    }

    /// The lowest generation an opening at `now` may take: the seconds since 2020 (a backend that computes `next` in
    /// its own statement, as PostgreSQL does with `GREATEST`, passes this).
    public static func lowest(at now: Millis) -> Int64 {
        max(0, (now - originMillis) / 1_000)
    }

    /// The lowest epoch issued under `generation`; 2³² leases of one row fit in one generation.
    public static func epochFloor(_ generation: Int64) -> Int64 {
        generation << 32
    }

    /// The generation an epoch was issued under.
    public static func generation(ofEpoch epoch: Int64) -> Int64 {
        epoch >> 32
    }
}
