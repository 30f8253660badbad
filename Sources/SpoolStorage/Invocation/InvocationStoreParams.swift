import Foundation
import SpoolModel

// The inputs and results of `InvocationStore` operations; each input carries `now`.

/// One accepted event.
public struct NewInvocation: Sendable, Equatable {
    public var requestID: String
    public var functionName: String
    public var qualifier: String?
    public var payload: String
    /// `Idempotency-Key`, with the time its window ends.
    public var idempotencyKey: String?
    public var idempotencyExpiresAt: Millis
    /// The dead letter this event replays.
    public var replayOf: Int64?
    /// Stored already claimed, leased until then: the dispatcher runs it at once without a claim of its own.
    public var leaseUntil: Millis?

    public init(requestID: String, functionName: String, qualifier: String?, payload: String, idempotencyKey: String? = nil,
                idempotencyExpiresAt: Millis = 0, replayOf: Int64? = nil, leaseUntil: Millis? = nil) {
        self.leaseUntil = leaseUntil
        self.requestID = requestID
        self.functionName = functionName
        self.qualifier = qualifier
        self.payload = payload
        self.idempotencyKey = idempotencyKey
        self.idempotencyExpiresAt = idempotencyExpiresAt
        self.replayOf = replayOf
    }
}

public struct EnqueueInvocationsParams: Sendable {
    public var invocations: [NewInvocation]
    public var now: Millis

    public init(invocations: [NewInvocation], now: Millis) {
        self.invocations = invocations
        self.now = now
    }
}

/// What enqueueing one event did.
public struct EnqueuedInvocation: Sendable, Equatable {
    /// The event's request id: the new one, or the first request's when the idempotency key repeated.
    public var requestID: String
    /// `false` when an idempotency key repeated and nothing was stored.
    public var stored: Bool
    /// The event as claimed, when it was stored with a lease (`NewInvocation.leaseUntil`).
    public var claimed: ClaimedInvocation?

    public init(requestID: String, stored: Bool, claimed: ClaimedInvocation? = nil) {
        self.requestID = requestID
        self.stored = stored
        self.claimed = claimed
    }
}

public struct ClaimInvocationsParams: Sendable {
    public var functionName: String
    public var limit: Int
    public var leaseUntil: Millis
    public var now: Millis

    public init(functionName: String, limit: Int, leaseUntil: Millis, now: Millis) {
        self.functionName = functionName
        self.limit = limit
        self.leaseUntil = leaseUntil
        self.now = now
    }
}

/// A leased event. `(id, epoch)` is its receipt.
public struct ClaimedInvocation: Sendable, Equatable {
    public var id: Int64
    public var epoch: Int64
    public var requestID: String
    public var functionName: String
    public var qualifier: String?
    public var payload: String
    public var enqueuedAt: Millis
    /// Invocations started for the event, this one included.
    public var invokeCount: Int
    public var functionErrors: Int
    public var systemRetries: Int
    public var lastError: InvocationFailure?
    public var replayOf: Int64?

    public init(id: Int64, epoch: Int64, requestID: String, functionName: String, qualifier: String?, payload: String, enqueuedAt: Millis,
                invokeCount: Int, functionErrors: Int, systemRetries: Int, lastError: InvocationFailure?, replayOf: Int64?) {
        self.id = id
        self.epoch = epoch
        self.requestID = requestID
        self.functionName = functionName
        self.qualifier = qualifier
        self.payload = payload
        self.enqueuedAt = enqueuedAt
        self.invokeCount = invokeCount
        self.functionErrors = functionErrors
        self.systemRetries = systemRetries
        self.lastError = lastError
        self.replayOf = replayOf
    }
}

/// What settling an event does to its row.
public enum InvocationTransition: Sendable, Equatable {
    /// The event is done (success or final failure): the row goes.
    case finish
    /// The event runs again at `visibleAt`. A function error counts an attempt; a throttle or system
    /// failure counts a back-off step. `invokeCount` is the number of invocations that started so far.
    case retry(visibleAt: Millis, failure: InvocationFailure, invokeCount: Int)
    /// Spool cut the run off (or never started it): the event is claimable again at once, with no attempt or
    /// back-off step used. `invokeCount` is the number of invocations that started so far.
    case release(invokeCount: Int)
}

/// Something settling an event causes, written in the same transaction.
public enum InvocationEffect: Sendable, Equatable {
    /// Send a message to a Spool queue (destination records, dead-letter messages).
    case sendMessage(queueName: String, message: OutgoingMessage)
    /// Enqueue an asynchronous event for another function (a function destination).
    case invoke(NewInvocation)
    /// POST a record to a URL, through the delivery outbox.
    case post(url: String, body: String)
    /// Keep the event in the dead-letter table.
    case deadLetter(DeadLetter)
    /// Append a record to a Spool stream (stream mappings' on-failure destination).
    case putRecord(streamName: String, partitionKey: String, data: Data)
}

public struct SettleInvocationParams: Sendable {
    public var id: Int64
    public var epoch: Int64
    public var transition: InvocationTransition
    public var effects: [InvocationEffect]
    /// Whose records the destination effects carry; with it, a destination that cannot take one keeps it as a dead letter.
    public var origin: EffectOrigin?
    public var now: Millis

    public init(id: Int64, epoch: Int64, transition: InvocationTransition, effects: [InvocationEffect], origin: EffectOrigin? = nil, now: Millis) {
        self.id = id
        self.epoch = epoch
        self.transition = transition
        self.effects = effects
        self.origin = origin
        self.now = now
    }
}

/// The invocation behind a settle's destination effects. A destination that cannot take a record (a queue, function or
/// stream that is gone) turns it, in the same transaction, into a dead letter with the reason `DestinationUnreachable`,
/// this invocation's request id and function, the record as payload and where it was going; an http(s) delivery
/// carries it to the outbox for the same end if the endpoint never answers 2xx.
public struct EffectOrigin: Sendable, Equatable {
    public var requestID: String
    public var functionName: String
    public var qualifier: String?
    /// Times the function was started for it.
    public var attempts: Int
    public var enqueuedAt: Millis

    public init(requestID: String, functionName: String, qualifier: String?, attempts: Int, enqueuedAt: Millis) {
        self.requestID = requestID
        self.functionName = functionName
        self.qualifier = qualifier
        self.attempts = attempts
        self.enqueuedAt = enqueuedAt
    }
}

/// What settling did.
public struct SettleOutcome: Sendable, Equatable {
    /// `false` when the lease was stale and nothing changed.
    public var settled: Bool
    /// Queues that received a message, so their receivers can be woken.
    public var queuesSent: [Int64]
    /// Functions that received an event, with its request id.
    public var functionsInvoked: [String]
    /// Streams that received a record, so their readers can be woken.
    public var streamsPut: [Int64] = []
    /// Records written to the http delivery outbox.
    public var postsQueued: Int
    /// Effects that could not be applied (a destination that no longer exists), described for the log; each became a
    /// dead letter when the settle named its origin.
    public var undelivered: [String]

    public init(settled: Bool, queuesSent: [Int64] = [], functionsInvoked: [String] = [], postsQueued: Int = 0, undelivered: [String] = []) {
        self.settled = settled
        self.queuesSent = queuesSent
        self.functionsInvoked = functionsInvoked
        self.postsQueued = postsQueued
        self.undelivered = undelivered
    }
}

public struct ReplayDeadLettersParams: Sendable {
    public var filter: DeadLetterFilter
    public var afterID: Int64
    public var limit: Int
    /// Replay dead letters already replayed too.
    public var force: Bool
    /// Makes the request id of each new event.
    public var makeRequestID: @Sendable () -> String
    public var now: Millis

    public init(filter: DeadLetterFilter, afterID: Int64, limit: Int, force: Bool, makeRequestID: @escaping @Sendable () -> String, now: Millis) {
        self.filter = filter
        self.afterID = afterID
        self.limit = limit
        self.force = force
        self.makeRequestID = makeRequestID
        self.now = now
    }
}

/// One transaction's worth of a replay.
public struct ReplayChunk: Sendable, Equatable {
    /// Dead letters looked at (matching the filter), replayed or skipped.
    public var examined: Int
    public var replayed: Int
    /// Skipped because already replayed (without force) or because their function no longer exists.
    public var skipped: Int
    /// The last id looked at, where the next chunk starts; `nil` when nothing matched.
    public var lastID: Int64?
    /// Functions that received events.
    public var functions: [String]
    /// Queues that received a record (replayed `DestinationUnreachable` letters), so their receivers can be woken.
    public var queuesSent: [Int64] = []
    /// Records written to the http delivery outbox.
    public var postsQueued = 0

    public init(examined: Int, replayed: Int, skipped: Int, lastID: Int64?, functions: [String]) {
        self.examined = examined
        self.replayed = replayed
        self.skipped = skipped
        self.lastID = lastID
        self.functions = functions
    }
}

/// A leased http destination delivery.
public struct DestinationDelivery: Sendable, Equatable {
    public var id: Int64
    public var epoch: Int64
    public var url: String
    public var body: String
    public var createdAt: Millis
    /// Tries so far, this one included.
    public var attempts: Int
    /// The invocation whose record it is (absent on deliveries stored before Spool kept it).
    public var functionName: String?
    public var requestID: String?

    public init(id: Int64, epoch: Int64, url: String, body: String, createdAt: Millis, attempts: Int, functionName: String? = nil,
                requestID: String? = nil) {
        self.functionName = functionName
        self.requestID = requestID
        self.id = id
        self.epoch = epoch
        self.url = url
        self.body = body
        self.createdAt = createdAt
        self.attempts = attempts
    }
}
