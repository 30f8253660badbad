import Foundation
import HTTPTypes
import Hummingbird
import NIOFoundationEssentialsCompat
import SpoolModel

/// How a `SpoolError` looks on Lambda's REST-JSON wire: a status, `x-amzn-ErrorType`, and a body with
/// `Type` and `message` (or `Message`, for the shapes that spell it so).
enum LambdaError {
    static let errorType = HTTPField.Name("x-amzn-ErrorType")!
    static let retryAfter = HTTPField.Name("Retry-After")!

    static func shape(_ error: SpoolError) -> (status: HTTPResponse.Status, type: String, capitalMessage: Bool) {
        switch error.code {
        case .resourceNotFound: return (.notFound, "ResourceNotFoundException", true)
        case .resourceConflict: return (.conflict, "ResourceConflictException", false)
        case .validation: return (.badRequest, "ValidationException", false)
        case .resourceInUse: return (.badRequest, "ResourceInUseException", false)
        case .requestTooLarge: return (.contentTooLarge, "RequestEntityTooLargeException", true)
        case .unknownOperation: return (.notFound, "UnknownOperationException", false)
        case .invalidRequestContent, .serialization: return (.badRequest, "InvalidRequestContentException", false)
        case .tooManyRequests, .throttling: return (.tooManyRequests, "TooManyRequestsException", false)
        case .invalidSignature, .incompleteSignature, .missingAuthenticationToken, .unrecognizedClient:
            return (.forbidden, error.code.rawValue, false)
        case .preconditionFailed: return (.preconditionFailed, "PreconditionFailedException", false)
        case .provisionedConcurrencyConfigNotFound: return (.notFound, "ProvisionedConcurrencyConfigNotFoundException", false)
        case .storageFailure, .serviceFailure: return (.internalServerError, "ServiceException", true)
        default: return (.badRequest, "InvalidParameterValueException", false)
        }
    }

    static func response(_ error: SpoolError, requestID: String) -> Response {
        let (status, type, capital) = shape(error)
        var body: [String: String] = ["Type": status.code >= 500 ? "Service" : "User", capital ? "Message" : "message": error.message]
        let headers: HTTPFields = [.contentType: "application/json", errorType: type, AWSJSON.requestID: requestID]
        if let reason = error.reason { body["Reason"] = reason }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: AWSJSON.encode(body))))
    }
}
