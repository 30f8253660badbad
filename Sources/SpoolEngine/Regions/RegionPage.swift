import SpoolModel

/// A page of a listing ordered by stored name, kept to the resources of the region a request acts in: each region is
/// a namespace of its own (`AWSIdentity`), but the stores hold every region's resources in one table, and a listing's
/// order is the store's (its collation need not keep one region's names together), so pages are read from the store
/// and filtered until one is full.
package enum RegionPage {
    /// - Parameters:
    ///   - limit: the most items the page holds.
    ///   - after: the stored name the page continues after.
    ///   - identity: the account acting in the region to keep; `nil` keeps every region's (the operator's views).
    ///   - fetch: reads up to `count` items after a key (a stored name, unless `key` says otherwise) from the store.
    ///   - name: the stored name of an item, or of the resource it belongs to (a mapping's function), whose region it is in.
    ///   - key: what the listing is ordered by and continues after; the stored name by default.
    /// - Returns: the page, and whether more may follow it.
    package static func read<Item>(limit: Int, after: String?, identity: AWSIdentity?,
                                   fetch: (_ after: String?, _ count: Int) async throws -> [Item],
                                   name: (Item) -> String, key: ((Item) -> String)? = nil) async throws -> (items: [Item], hasMore: Bool) {
        try await FilteredPage.read(limit: limit, after: after, fetch: fetch, key: { key?($0) ?? name($0) }) { item in
            identity?.isInRegion(name(item)) ?? true
        }
    }
}

/// A page of a listing of which only some items are shown (a filter the store does not apply): pages are read from the
/// store after a key and filtered until one is full.
package enum FilteredPage {
    /// - Parameters:
    ///   - limit: the most items the page holds.
    ///   - after: the key the page continues after.
    ///   - fetch: reads up to `count` items after a key from the store, in its order.
    ///   - key: what the listing is ordered by and continues after.
    ///   - keep: whether an item is shown.
    /// - Returns: the page, and whether more may follow it.
    package static func read<Item>(limit: Int, after: String?, fetch: (_ after: String?, _ count: Int) async throws -> [Item],
                                   key: (Item) -> String, keep: (Item) -> Bool) async throws -> (items: [Item], hasMore: Bool) {
        var items: [Item] = []
        var cursor = after
        let chunk = max(limit + 1, 100)
        while true {
            let batch = try await fetch(cursor, chunk)
            for item in batch where keep(item) {
                items.append(item)
                if items.count > limit { return (Array(items.prefix(limit)), true) }
            }
            guard batch.count == chunk, let last = batch.last else { return (items, false) }
            cursor = key(last)
        }
    }
}
