import Foundation

/// The invocation record Lambda sends to an asynchronous destination (reference §2.3).
///
/// Request and response payloads are embedded as JSON values when they are JSON, as strings otherwise.
public struct InvocationRecord: Sendable, Equatable {
    /// `Success`, or a failure condition.
    public var condition: String
    public var requestID: String
    /// The qualified function ARN (`…:function:NAME:$LATEST`).
    public var functionARN: String
    public var approximateInvokeCount: Int
    public var requestPayload: String
    /// The last attempt's response: present for a success and after a function error or timeout.
    public var response: Response?
    public var timestamp: Millis

    /// What the function answered.
    public struct Response: Sendable, Equatable {
        public var payload: String
        /// `Unhandled` for a function error or timeout, `nil` for a success.
        public var functionError: String?
        /// The version that ran: `$LATEST` or a version number (through an alias, the one routed to).
        public var executedVersion: String

        public init(payload: String, functionError: String?, executedVersion: String = "$LATEST") {
            self.payload = payload
            self.functionError = functionError
            self.executedVersion = executedVersion
        }
    }

    public init(condition: String, requestID: String, functionARN: String, approximateInvokeCount: Int, requestPayload: String,
                response: Response?, timestamp: Millis) {
        self.condition = condition
        self.requestID = requestID
        self.functionARN = functionARN
        self.approximateInvokeCount = approximateInvokeCount
        self.requestPayload = requestPayload
        self.response = response
        self.timestamp = timestamp
    }

    /// The record as the JSON text destinations receive.
    public func json() -> String {
        var text = "{\"version\":\"1.0\",\"timestamp\":\(Self.quoted(Self.iso8601(timestamp)))"
        text += ",\"requestContext\":{\"requestId\":\(Self.quoted(requestID)),\"functionArn\":\(Self.quoted(functionARN))"
        text += ",\"condition\":\(Self.quoted(condition)),\"approximateInvokeCount\":\(approximateInvokeCount)}"
        text += ",\"requestPayload\":\(Self.embedded(requestPayload))"
        if let response {
            text += ",\"responseContext\":{\"statusCode\":200,\"executedVersion\":\(Self.quoted(response.executedVersion))"
            if let functionError = response.functionError { text += ",\"functionError\":\(Self.quoted(functionError))" }
            text += "},\"responsePayload\":\(Self.embedded(response.payload))"
        }
        return text + "}"
    }

    /// `text` itself when it is one JSON value, otherwise `text` as a JSON string.
    public static func embedded(_ text: String) -> String {
        let data = Data(text.utf8)
        if !data.isEmpty, (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil {
            return text
        }
        return quoted(text)
    }

    /// A JSON string literal.
    public static func quoted(_ text: String) -> String {
        let data = (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// `2019-11-14T18:16:05.568Z`: ISO 8601 in UTC with milliseconds, as Lambda writes record timestamps.
    public static func iso8601(_ millis: Millis) -> String {
        let seconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
        let fraction = millis - seconds * 1000
        var days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        let month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):"
            + "\(pad(secondOfDay % 60, 2)).\(pad(fraction, 3))Z"
    }
}
