/// A failure with a stable code, a message meant for the client, and an optional underlying cause.
///
/// Only the HTTP layer turns these into status codes and AWS error shapes; everything below it
/// creates them through the static factories so that a code is always paired with AWS's wording.
public struct SpoolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure. Each case names the AWS error it becomes on the wire.
    public enum Code: String, Sendable, Equatable {
        case queueDoesNotExist = "QueueDoesNotExist"
        case queueNameExists = "QueueNameExists"
        case queueDeletedRecently = "QueueDeletedRecently"
        case invalidParameterValue = "InvalidParameterValue"
        case missingParameter = "MissingParameter"
        case invalidAttributeName = "InvalidAttributeName"
        case invalidAttributeValue = "InvalidAttributeValue"
        case receiptHandleIsInvalid = "ReceiptHandleIsInvalid"
        case messageNotInflight = "MessageNotInflight"
        case tooManyEntriesInBatchRequest = "TooManyEntriesInBatchRequest"
        case emptyBatchRequest = "EmptyBatchRequest"
        case batchEntryIdsNotDistinct = "BatchEntryIdsNotDistinct"
        case invalidBatchEntryId = "InvalidBatchEntryId"
        case batchRequestTooLong = "BatchRequestTooLong"
        case purgeQueueInProgress = "PurgeQueueInProgress"
        case invalidMessageContents = "InvalidMessageContents"
        case unsupportedOperation = "UnsupportedOperation"
        case resourceNotFound = "ResourceNotFoundException"
        case overLimit = "OverLimit"
        case invalidAddress = "InvalidAddress"
        case unknownOperation = "UnknownOperation"
        case serialization = "SerializationException"
        case storageFailure = "InternalFailure"
    }

    public var code: Code
    public var message: String
    /// The error that caused this one, kept for logs; never sent to clients.
    public var underlying: String?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying.map { String(describing: $0) }
    }

    public var description: String {
        underlying.map { "\(code.rawValue): \(message) (\($0))" } ?? "\(code.rawValue): \(message)"
    }
}

extension SpoolError {
    public static func queueDoesNotExist() -> SpoolError {
        SpoolError(.queueDoesNotExist, "The specified queue does not exist.")
    }

    public static func invalidParameter(_ name: String, value: String, reason: String) -> SpoolError {
        SpoolError(.invalidParameterValue, "Value \(value) for parameter \(name) is invalid. Reason: \(reason)")
    }

    public static func missingParameter(_ name: String) -> SpoolError {
        SpoolError(.missingParameter, "The request must contain the parameter \(name).")
    }

    public static func invalidAttributeValue(_ name: String, reason: String) -> SpoolError {
        SpoolError(.invalidAttributeValue, "Invalid value for the parameter \(name). Reason: \(reason)")
    }

    public static func invalidAttributeName(_ name: String) -> SpoolError {
        SpoolError(.invalidAttributeName, "Unknown Attribute \(name).")
    }

    public static func receiptHandleIsInvalid(_ handle: String) -> SpoolError {
        SpoolError(.receiptHandleIsInvalid, "The input receipt handle \"\(handle)\" is not a valid receipt handle.")
    }

    public static func notSupportedYet(_ what: String) -> SpoolError {
        SpoolError(.unsupportedOperation, "\(what) is not supported yet by Spool.")
    }

    public static func storage(_ error: any Error) -> SpoolError {
        SpoolError(.storageFailure, "The request could not be stored.", underlying: error)
    }
}
