/// Gathers records into one batch: it is ready when it holds `batchSize` records, when the next record
/// would push the event past the payload limit, or when the batching window that opened with its first
/// record closes — whichever comes first.
public struct BatchAssembly<Element>: Sendable where Element: Sendable {
    public let batchSize: Int
    public let maximumBytes: Int
    public let window: Millis
    public private(set) var elements: [Element] = []
    /// The event's size so far: `{"Records":[` `]}` and a comma between records.
    public private(set) var bytes = Self.envelopeBytes
    /// When the first record arrived, which opens the window.
    public private(set) var openedAt: Millis?
    /// A record was refused for size: the batch must go now.
    public private(set) var isSizeLimited = false

    static var envelopeBytes: Int { 14 }

    public init(batchSize: Int, maximumBytes: Int, windowMillis: Millis) {
        self.batchSize = batchSize
        self.maximumBytes = maximumBytes
        self.window = windowMillis
    }

    /// Adds a record of `size` bytes; `false` (and nothing added) when it would exceed the payload limit.
    /// A single record larger than the limit is still taken into an empty batch: it fails on its own.
    public mutating func add(_ element: Element, bytes size: Int, now: Millis) -> Bool {
        let added = size + (elements.isEmpty ? 0 : 1)
        if !elements.isEmpty && bytes + added > maximumBytes {
            isSizeLimited = true
            return false
        }
        if openedAt == nil { openedAt = now }
        elements.append(element)
        bytes += added
        return true
    }

    /// How many more records fit by count.
    public var remaining: Int { max(0, batchSize - elements.count) }

    public var isEmpty: Bool { elements.isEmpty }

    /// When the window closes, once the first record arrived.
    public var deadline: Millis? { openedAt.map { $0 + window } }

    /// Whether the batch should be handed over at `now`.
    public func isReady(now: Millis) -> Bool {
        guard !elements.isEmpty else { return false }
        if elements.count >= batchSize || isSizeLimited { return true }
        return now >= (deadline ?? .max)
    }
}
