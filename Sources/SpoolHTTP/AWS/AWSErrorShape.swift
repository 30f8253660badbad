import HTTPTypes
import SpoolModel

/// How one `SpoolError` looks on the wire of a JSON-protocol AWS service.
struct AWSErrorShape {
    var status: HTTPResponse.Status
    /// The modelled shape name, sent as `__type` after the service namespace.
    var type: String
    /// The legacy query-protocol code SQS clients read from `x-amzn-query-error`.
    var queryCode: String
    var fault: String

    /// The SQS shape of an error: `__type` and `x-amzn-query-error` as botocore expects them.
    static func sqs(_ error: SpoolError) -> AWSErrorShape {
        let legacy = "AWS.SimpleQueueService."
        switch error.code {
        case .queueDoesNotExist: return .init(status: .badRequest, type: "QueueDoesNotExist", queryCode: legacy + "NonExistentQueue", fault: "Sender")
        case .queueNameExists: return .init(status: .badRequest, type: "QueueNameExists", queryCode: "QueueAlreadyExists", fault: "Sender")
        case .invalidParameterValue: return .init(status: .badRequest, type: "InvalidParameterValueException", queryCode: "InvalidParameterValue", fault: "Sender")
        case .missingParameter: return .init(status: .badRequest, type: "MissingRequiredParameterException", queryCode: "MissingParameter", fault: "Sender")
        case .purgeQueueInProgress: return .init(status: .forbidden, type: "PurgeQueueInProgress", queryCode: legacy + "PurgeQueueInProgress", fault: "Sender")
        case .overLimit: return .init(status: .forbidden, type: "OverLimit", queryCode: "OverLimit", fault: "Sender")
        case .resourceNotFound: return .init(status: .notFound, type: "ResourceNotFoundException", queryCode: "ResourceNotFoundException", fault: "Sender")
        case .unknownOperation: return .init(status: .badRequest, type: "UnknownOperationException", queryCode: "InvalidAction", fault: "Sender")
        case .missingAction: return .init(status: .badRequest, type: "MissingAction", queryCode: "MissingAction", fault: "Sender")
        case .serialization: return .init(status: .badRequest, type: "SerializationException", queryCode: "MalformedInput", fault: "Sender")
        case .storageFailure, .serviceFailure: return .init(status: .internalServerError, type: "InternalFailure", queryCode: "InternalFailure", fault: "Receiver")
        case .requestTooLarge:
            return .init(status: .contentTooLarge, type: "RequestEntityTooLarge", queryCode: "RequestEntityTooLarge", fault: "Sender")
        case .resourceConflict, .resourceInUse, .validation, .invalidRequestContent, .tooManyRequests, .preconditionFailed,
             .provisionedConcurrencyConfigNotFound, .invalidArgument, .expiredIterator:
            return .init(status: .badRequest, type: error.code.rawValue, queryCode: error.code.rawValue, fault: "Sender")
        case .queueDeletedRecently, .messageNotInflight, .unsupportedOperation, .tooManyEntriesInBatchRequest, .emptyBatchRequest,
             .batchEntryIdsNotDistinct, .invalidBatchEntryId, .batchRequestTooLong:
            return .init(status: .badRequest, type: error.code.rawValue, queryCode: legacy + error.code.rawValue, fault: "Sender")
        case .invalidAttributeName, .invalidAttributeValue, .receiptHandleIsInvalid, .invalidMessageContents, .invalidAddress:
            return .init(status: .badRequest, type: error.code.rawValue, queryCode: error.code.rawValue, fault: "Sender")
        case .invalidSignature: return .init(status: .forbidden, type: error.code.rawValue, queryCode: "SignatureDoesNotMatch", fault: "Sender")
        case .incompleteSignature: return .init(status: .forbidden, type: error.code.rawValue, queryCode: "IncompleteSignature", fault: "Sender")
        case .missingAuthenticationToken:
            return .init(status: .forbidden, type: error.code.rawValue, queryCode: "MissingAuthenticationToken", fault: "Sender")
        case .unrecognizedClient: return .init(status: .forbidden, type: error.code.rawValue, queryCode: "InvalidClientTokenId", fault: "Sender")
        case .accessDenied: return .init(status: .forbidden, type: "AccessDeniedException", queryCode: "AccessDenied", fault: "Sender")
        case .throttling, .provisionedThroughputExceeded:
            return .init(status: .tooManyRequests, type: "ThrottlingException", queryCode: "RequestThrottled", fault: "Sender")
        }
    }

    /// The Kinesis shape of an error: status 400 and the modelled `__type` for everything the client caused.
    static func kinesis(_ error: SpoolError) -> AWSErrorShape {
        func client(_ type: String) -> AWSErrorShape { .init(status: .badRequest, type: type, queryCode: type, fault: "Sender") }
        switch error.code {
        case .resourceNotFound, .queueDoesNotExist: return client("ResourceNotFoundException")
        case .resourceInUse, .resourceConflict: return client("ResourceInUseException")
        case .invalidArgument, .invalidParameterValue, .invalidAttributeValue, .invalidAttributeName: return client("InvalidArgumentException")
        case .validation, .missingParameter: return client("ValidationException")
        case .requestTooLarge:
            return .init(status: .contentTooLarge, type: "RequestEntityTooLargeException", queryCode: "RequestEntityTooLargeException", fault: "Sender")
        case .expiredIterator: return client("ExpiredIteratorException")
        case .overLimit, .tooManyRequests: return client("LimitExceededException")
        case .serialization: return client("SerializationException")
        case .invalidSignature, .incompleteSignature, .missingAuthenticationToken, .unrecognizedClient:
            return .init(status: .forbidden, type: error.code.rawValue, queryCode: error.code.rawValue, fault: "Sender")
        case .throttling: return .init(status: .tooManyRequests, type: "ThrottlingException", queryCode: "ThrottlingException", fault: "Sender")
        // As Kinesis sends it: 400, retried by the SDKs as a throttle (with Spool's Retry-After).
        case .provisionedThroughputExceeded: return client("ProvisionedThroughputExceededException")
        case .unknownOperation: return client("UnknownOperationException")
        case .unsupportedOperation: return client("UnsupportedOperationException")
        case .storageFailure, .serviceFailure:
            return .init(status: .internalServerError, type: "InternalFailure", queryCode: "InternalFailure", fault: "Receiver")
        default: return client(error.code.rawValue)
        }
    }
}
