import Foundation
import SpoolModel
import Testing

@Suite("Event filter patterns")
struct FilterPatternTests {
    struct Case: Sendable, CustomStringConvertible {
        var pattern: String
        var event: String
        var matches: Bool
        var description: String { "\(pattern) ~ \(event) → \(matches)" }
    }

    /// AWS's documented examples (Lambda event filtering, EventBridge content filtering) and their edges.
    static let cases: [Case] = [
        // Equals, and OR across values.
        Case(pattern: #"{"Name": ["Alice"]}"#, event: #"{"Name": "Alice"}"#, matches: true),
        Case(pattern: #"{"Name": ["Alice"]}"#, event: #"{"Name": "alice"}"#, matches: false),
        Case(pattern: #"{"PaymentType": ["Credit", "Debit"]}"#, event: #"{"PaymentType": "Debit"}"#, matches: true),
        Case(pattern: #"{"PaymentType": ["Credit", "Debit"]}"#, event: #"{"PaymentType": "Cash"}"#, matches: false),
        // AND across keys; every key named must exist.
        Case(pattern: #"{"Location": ["New York"], "Day": ["Monday"]}"#, event: #"{"Location": "New York", "Day": "Monday"}"#, matches: true),
        Case(pattern: #"{"Location": ["New York"], "Day": ["Monday"]}"#, event: #"{"Location": "New York"}"#, matches: false),
        // Null and empty.
        Case(pattern: #"{"UserID": [null]}"#, event: #"{"UserID": null}"#, matches: true),
        Case(pattern: #"{"UserID": [null]}"#, event: #"{}"#, matches: false),
        Case(pattern: #"{"LastName": [""]}"#, event: #"{"LastName": ""}"#, matches: true),
        // Not.
        Case(pattern: #"{"Weather": [{"anything-but": ["Raining"]}]}"#, event: #"{"Weather": "Sunny"}"#, matches: true),
        Case(pattern: #"{"Weather": [{"anything-but": ["Raining"]}]}"#, event: #"{"Weather": "Raining"}"#, matches: false),
        Case(pattern: #"{"Weather": [{"anything-but": "Raining"}]}"#, event: #"{}"#, matches: false),
        Case(pattern: #"{"Code": [{"anything-but": [100, 200]}]}"#, event: #"{"Code": 300}"#, matches: true),
        Case(pattern: #"{"Code": [{"anything-but": [100, 200]}]}"#, event: #"{"Code": 200}"#, matches: false),
        Case(pattern: #"{"Region": [{"anything-but": {"prefix": "us-"}}]}"#, event: #"{"Region": "eu-west-1"}"#, matches: true),
        Case(pattern: #"{"Region": [{"anything-but": {"prefix": "us-"}}]}"#, event: #"{"Region": "us-east-1"}"#, matches: false),
        // Numeric.
        Case(pattern: #"{"Price": [{"numeric": ["=", 100]}]}"#, event: #"{"Price": 100}"#, matches: true),
        Case(pattern: #"{"Price": [{"numeric": ["=", 100]}]}"#, event: #"{"Price": 100.0}"#, matches: true),
        Case(pattern: #"{"Price": [{"numeric": [">", 10, "<=", 20]}]}"#, event: #"{"Price": 20}"#, matches: true),
        Case(pattern: #"{"Price": [{"numeric": [">", 10, "<=", 20]}]}"#, event: #"{"Price": 10}"#, matches: false),
        Case(pattern: #"{"Price": [{"numeric": [">", 10, "<=", 20]}]}"#, event: #"{"Price": "15"}"#, matches: false),
        // Exact numbers compare as written: 300 is not 300.0.
        Case(pattern: #"{"Count": [300]}"#, event: #"{"Count": 300}"#, matches: true),
        Case(pattern: #"{"Count": [300]}"#, event: #"{"Count": 300.0}"#, matches: false),
        Case(pattern: #"{"Flag": [true]}"#, event: #"{"Flag": true}"#, matches: true),
        Case(pattern: #"{"Flag": [true]}"#, event: #"{"Flag": "true"}"#, matches: false),
        // Exists.
        Case(pattern: #"{"ProductName": [{"exists": true}]}"#, event: #"{"ProductName": "Bike"}"#, matches: true),
        Case(pattern: #"{"ProductName": [{"exists": true}]}"#, event: #"{"Other": 1}"#, matches: false),
        Case(pattern: #"{"ProductName": [{"exists": false}]}"#, event: #"{"Other": 1}"#, matches: true),
        Case(pattern: #"{"ProductName": [{"exists": false}]}"#, event: #"{"ProductName": "Bike"}"#, matches: false),
        // Prefix, suffix, equals-ignore-case.
        Case(pattern: #"{"Region": [{"prefix": "us-"}]}"#, event: #"{"Region": "us-east-1"}"#, matches: true),
        Case(pattern: #"{"Region": [{"prefix": "us-"}]}"#, event: #"{"Region": "eu-west-1"}"#, matches: false),
        Case(pattern: #"{"FileName": [{"suffix": ".png"}]}"#, event: #"{"FileName": "cat.png"}"#, matches: true),
        Case(pattern: #"{"FileName": [{"suffix": ".png"}]}"#, event: #"{"FileName": "cat.jpg"}"#, matches: false),
        Case(pattern: #"{"Name": [{"equals-ignore-case": "alice"}]}"#, event: #"{"Name": "ALICE"}"#, matches: true),
        Case(pattern: #"{"Region": [{"prefix": {"equals-ignore-case": "US-"}}]}"#, event: #"{"Region": "us-east-1"}"#, matches: true),
        // Arrays in the event: any element.
        Case(pattern: #"{"Tags": ["red"]}"#, event: #"{"Tags": ["blue", "red"]}"#, matches: true),
        Case(pattern: #"{"Tags": ["red"]}"#, event: #"{"Tags": ["blue"]}"#, matches: false),
        // Nested fields and the SQS body.
        Case(pattern: #"{"body": {"RequestCode": ["BBBB"]}}"#, event: #"{"body": {"RecordNumber": 1111, "RequestCode": "BBBB"}}"#, matches: true),
        Case(pattern: #"{"body": {"RequestCode": ["BBBB"]}}"#, event: #"{"body": {"RecordNumber": 1111, "RequestCode": "AAAA"}}"#, matches: false),
        Case(pattern: #"{"body": {"RequestCode": ["BBBB"]}}"#, event: #"{"body": "RequestCode BBBB"}"#, matches: false),
        Case(pattern: #"{"body": [{"prefix": "Request"}]}"#, event: #"{"body": "RequestCode BBBB"}"#, matches: true),
        Case(pattern: #"{"dynamodb": {"Keys": {"Id": {"N": ["101"]}}}}"#, event: #"{"dynamodb": {"Keys": {"Id": {"N": "101"}}}}"#, matches: true),
        Case(pattern: #"{"a": {"b": [{"exists": false}]}}"#, event: #"{}"#, matches: true),
        // $or.
        Case(pattern: #"{"$or": [{"c": ["x"]}, {"d": ["y"]}]}"#, event: #"{"d": "y"}"#, matches: true),
        Case(pattern: #"{"$or": [{"c": ["x"]}, {"d": ["y"]}]}"#, event: #"{"c": "y"}"#, matches: false),
        Case(pattern: #"{"source": ["s"], "$or": [{"c": [{"numeric": [">", 0]}]}, {"d": [{"prefix": "p"}]}]}"#, event: #"{"source": "s", "d": "pq"}"#, matches: true),
        // Metadata of an SQS record.
        Case(pattern: #"{"attributes": {"MessageGroupId": ["g1"]}}"#, event: #"{"attributes": {"MessageGroupId": "g1"}, "body": "x"}"#, matches: true),
        Case(pattern: #"{"messageAttributes": {"kind": {"stringValue": ["order"]}}}"#,
             event: #"{"messageAttributes": {"kind": {"stringValue": "order", "dataType": "String"}}}"#, matches: true),
    ]

    @Test("matches as AWS documents", arguments: cases)
    func matching(_ example: Case) throws {
        let pattern = try FilterPattern(example.pattern)
        guard case .object(let event)? = FilterValue.parse(example.event) else {
            Issue.record("bad event fixture")
            return
        }
        #expect(pattern.matches(event) == example.matches)
    }

    @Test("rejects what is not a pattern", arguments: [
        "", "null", "[]", "{}", "not json", #"{"a": "x"}"#, #"{"a": []}"#, #"{"a": [{"prefix": 1}]}"#, #"{"a": [{"numeric": [">", "x"]}]}"#,
        #"{"a": [{"numeric": [">", 5, "<", 1]}]}"#, #"{"a": [{"numeric": [">", 1, ">", 2]}]}"#, #"{"a": [{"unknown-op": 1}]}"#,
        #"{"a": [{"exists": "yes"}]}"#, #"{"$or": [{"a": ["x"]}]}"#, #"{"a": [["nested"]]}"#, #"{"a": [{"prefix": "x", "suffix": "y"}]}"#,
        String(repeating: " ", count: 4097) + #"{"a": ["x"]}"#,
    ])
    func invalid(_ text: String) {
        #expect(throws: FilterPattern.invalid) { try FilterPattern(text) }
    }

    @Test("an SQS record's JSON body is filtered as JSON, any other body as a string")
    func sqsBody() throws {
        let receipt = ReceiptHandle(queueID: 1, rowID: 1, epoch: 1, messageID: "m")
        func record(_ body: String) -> [String: FilterValue] {
            let message = ReceivedMessage(messageID: "m", receipt: receipt, body: body, attributes: [:], systemAttributes: [:], sentAt: 1,
                                          firstReceivedAt: 2, receiveCount: 1, groupID: nil, deduplicationID: nil, sequenceNumber: nil,
                                          deadLetterSourceARN: nil)
            let event = SQSEventRecord(message, queueARN: "arn:aws:sqs:us-east-1:000000000000:q", identity: AWSIdentity())
            return event.filterValue(json: event.json())
        }
        let json = try FilterPattern(#"{"body": {"kind": ["order"]}}"#)
        let text = try FilterPattern(#"{"body": ["plain"]}"#)
        #expect(json.matches(record(#"{"kind": "order"}"#)))
        #expect(!json.matches(record("plain")))
        #expect(text.matches(record("plain")))
        #expect(!text.matches(record(#"{"kind": "order"}"#)))
        #expect(try FilterPattern(#"{"eventSource": ["aws:sqs"], "attributes": {"ApproximateReceiveCount": ["1"]}}"#).matches(record("x")))
    }

    @Test("an SQS record is written exactly as JSONEncoder would write it, escapes and attributes included")
    func sqsRecordJSON() throws {
        let receipt = ReceiptHandle(queueID: 1, rowID: 7, epoch: 3, messageID: "m-1")
        let message = ReceivedMessage(
            messageID: "m-1", receipt: receipt, body: "line\n\"quoted\" tab\t é / \\ \u{01}",
            attributes: ["b": MessageAttributeValue(dataType: "Binary", binaryValue: Data([0, 255])),
                         "a/s": MessageAttributeValue(dataType: "String.custom", stringValue: "v\"1")],
            systemAttributes: [:], sentAt: 1, firstReceivedAt: 2, receiveCount: 1, groupID: "g", deduplicationID: "d",
            sequenceNumber: "18", deadLetterSourceARN: nil)
        for record in [SQSEventRecord(message, queueARN: "arn:aws:sqs:us-east-1:000000000000:q/x", identity: AWSIdentity()),
                       SQSEventRecord(ReceivedMessage(messageID: "m", receipt: receipt, body: "plain", attributes: [:], systemAttributes: [:],
                                                      sentAt: 1, firstReceivedAt: 2, receiveCount: 1, groupID: nil, deduplicationID: nil,
                                                      sequenceNumber: nil, deadLetterSourceARN: nil),
                                      queueARN: "arn:aws:sqs:us-east-1:000000000000:q", identity: AWSIdentity())] {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
            #expect(String(decoding: record.json(), as: UTF8.self) == String(decoding: try encoder.encode(record), as: UTF8.self))
        }
    }
}
