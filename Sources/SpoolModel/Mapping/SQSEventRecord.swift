import Foundation

/// One message as the AWS SQS event hands it to a function (`Records[]` of reference §4.1).
public struct SQSEventRecord: Sendable, Encodable {
    public struct Attribute: Sendable, Encodable {
        var stringValue: String?
        var binaryValue: String?
        var stringListValues: [String] = []
        var binaryListValues: [String] = []
        var dataType: String

        /// The attribute's JSON, keys sorted.
        var json: String {
            var members = [("binaryListValues", "[" + binaryListValues.map(JSONText.quoted).joined(separator: ",") + "]")]
            if let binaryValue { members.append(("binaryValue", JSONText.quoted(binaryValue))) }
            members.append(("dataType", JSONText.quoted(dataType)))
            members.append(("stringListValues", "[" + stringListValues.map(JSONText.quoted).joined(separator: ",") + "]"))
            if let stringValue { members.append(("stringValue", JSONText.quoted(stringValue))) }
            return SQSEventRecord.object(members)
        }
    }

    public var messageId: String
    public var receiptHandle: String
    public var body: String
    public var attributes: [String: String]
    public var messageAttributes: [String: Attribute]
    public var md5OfMessageAttributes: String?
    public var md5OfBody: String
    public var eventSource = "aws:sqs"
    public var eventSourceARN: String
    public var awsRegion: String

    /// The record for a received message, sent by the account of `identity`.
    public init(_ message: ReceivedMessage, queueARN: String, identity: AWSIdentity) {
        messageId = message.messageID
        receiptHandle = message.receipt.encoded
        body = message.body
        attributes = message.systemAttributeValues(senderID: identity.accountID)
        messageAttributes = message.attributes.mapValues { value in
            Attribute(stringValue: value.stringValue, binaryValue: value.binaryValue?.base64EncodedString(), dataType: value.dataType)
        }
        md5OfMessageAttributes = MessageDigest.attributes(message.attributes)
        md5OfBody = MessageDigest.body(message.body)
        eventSourceARN = queueARN
        // The queue's own region, which its ARN names.
        let arnParts = queueARN.split(separator: ":", omittingEmptySubsequences: false)
        awsRegion = arnParts.count > 3 ? String(arnParts[3]) : identity.region
    }

    /// The record's JSON as it goes into the event: what `JSONEncoder` makes of it with sorted keys and
    /// unescaped slashes, written directly (the encoder was a fifth of a queue mapping's CPU time).
    public func json() -> Data {
        var pieces = ["{\"attributes\":", Self.object(attributes.sorted { $0.key < $1.key }.map { ($0.key, JSONText.quoted($0.value)) }),
                      ",\"awsRegion\":", JSONText.quoted(awsRegion), ",\"body\":", JSONText.quoted(body),
                      ",\"eventSource\":", JSONText.quoted(eventSource), ",\"eventSourceARN\":", JSONText.quoted(eventSourceARN),
                      ",\"md5OfBody\":", JSONText.quoted(md5OfBody)]
        if let md5OfMessageAttributes { pieces += [",\"md5OfMessageAttributes\":", JSONText.quoted(md5OfMessageAttributes)] }
        pieces += [",\"messageAttributes\":", Self.object(messageAttributes.sorted { $0.key < $1.key }.map { ($0.key, $0.value.json) }),
                   ",\"messageId\":", JSONText.quoted(messageId), ",\"receiptHandle\":", JSONText.quoted(receiptHandle), "}"]
        // Appended into one buffer sized up front, rather than a string per `+`.
        var data = Data(capacity: pieces.reduce(0) { $0 + $1.utf8.count })
        for piece in pieces { data.append(contentsOf: piece.utf8) }
        return data
    }

    /// `{"key":value,…}` of members whose values are JSON already.
    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { JSONText.quoted($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    /// The record as filters see it: its JSON, with `body` parsed when it is a JSON object.
    public func filterValue(json: Data) -> [String: FilterValue] {
        guard let object = try? JSONSerialization.jsonObject(with: json), case .object(var fields) = FilterValue(foundation: object) else {
            return [:]
        }
        if let parsed = FilterValue.parse(body), case .object = parsed { fields["body"] = parsed }
        return fields
    }

    /// `{"Records":[…]}` from records already encoded.
    public static func event(_ records: [Data]) -> Data {
        var data = Data("{\"Records\":[".utf8)
        for (index, record) in records.enumerated() {
            if index > 0 { data.append(UInt8(ascii: ",")) }
            data.append(record)
        }
        data.append(contentsOf: Array("]}".utf8))
        return data
    }
}
