import Synchronization

/// Remembers what a JSON column decoded to, keyed by the exact text, so that the queue row every
/// request reads (on either backend) is not parsed again until it changes.
package final class DecodedColumnCache<Value: Sendable>: Sendable {
    private let entries = Mutex<[String: Value]>([:])
    private let capacity: Int

    package init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    /// The value `text` decodes to, decoding it with `decode` only the first time.
    package func value(for text: String, decode: (String) -> Value) -> Value {
        if let hit = entries.withLock({ $0[text] }) { return hit }
        let value = decode(text)
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[text] = value
        }
        return value
    }
}
