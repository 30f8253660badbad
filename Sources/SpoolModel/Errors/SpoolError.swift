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
        /// A query-protocol request without `Action`.
        case missingAction = "MissingAction"
        case serialization = "SerializationException"
        case storageFailure = "InternalFailure"
        case resourceConflict = "ResourceConflictException"
        case resourceInUse = "ResourceInUseException"
        case validation = "ValidationException"
        case requestTooLarge = "RequestEntityTooLargeException"
        case invalidRequestContent = "InvalidRequestContentException"
        case tooManyRequests = "TooManyRequestsException"
        case preconditionFailed = "PreconditionFailedException"
        case provisionedConcurrencyConfigNotFound = "ProvisionedConcurrencyConfigNotFoundException"
        case serviceFailure = "ServiceException"
        case invalidArgument = "InvalidArgumentException"
        case expiredIterator = "ExpiredIteratorException"
        case invalidSignature = "InvalidSignatureException"
        case incompleteSignature = "IncompleteSignatureException"
        case missingAuthenticationToken = "MissingAuthenticationTokenException"
        case unrecognizedClient = "UnrecognizedClientException"
        /// A queue's access policy denies the request (the part of a policy Spool evaluates: `QueuePolicy`).
        case accessDenied = "AccessDenied"
        /// Intake refused because the backlog or memory passed a configured limit.
        case throttling = "ThrottlingException"
        /// Kinesis's throttle of puts (and Spool's bound on stored stream records).
        case provisionedThroughputExceeded = "ProvisionedThroughputExceededException"
    }

    public var code: Code
    public var message: String
    /// The error that caused this one, kept for logs; never sent to clients.
    public var underlying: String?
    /// Lambda's `Reason` member of a throttle (`ReservedFunctionConcurrentInvocationLimitExceeded`, …).
    public var reason: String?

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

extension SpoolError {
    /// Lambda's 404 for a function: `Function not found: ARN`.
    public static func functionNotFound(_ arn: String) -> SpoolError {
        SpoolError(.resourceNotFound, "Function not found: \(arn)")
    }

    /// A model-constraint violation, worded as AWS's request validator words it.
    public static func validation(field: String, value: String, constraint: String) -> SpoolError {
        SpoolError(.validation, "1 validation error detected: Value '\(value)' at '\(field)' failed to satisfy constraint: \(constraint)")
    }

    /// A Lambda 429 with its `Reason`.
    public static func throttled(_ message: String, reason: String) -> SpoolError {
        var error = SpoolError(.tooManyRequests, message)
        error.reason = reason
        return error
    }
}
