import Foundation
import SpoolModel
import Testing

@Suite("Queue rules")
struct QueueRulesTests {
    @Test("accepts names of up to 80 characters of letters, digits, hyphens and underscores")
    func queueNames() {
        #expect(QueueName.isValid("orders_2-x"))
        #expect(QueueName.isValid(String(repeating: "a", count: 80)))
        #expect(!QueueName.isValid(String(repeating: "a", count: 81)))
        #expect(QueueName.isValid(String(repeating: "a", count: 75) + ".fifo"))
        #expect(!QueueName.isValid("has space"))
        #expect(!QueueName.isValid(""))
        #expect(!QueueName.isValid(".fifo"))
        #expect(QueueName.isFIFO("x.fifo"))
    }

    @Test("applies attribute defaults and ranges as AWS documents them")
    func attributeRanges() throws {
        let defaults = QueueAttributes()
        #expect(defaults.wireValues["VisibilityTimeout"] == "30")
        #expect(defaults.wireValues["MessageRetentionPeriod"] == "345600")
        #expect(defaults.wireValues["MaximumMessageSize"] == "1048576")
        let changed = try defaults.applying(["DelaySeconds": "900", "MessageRetentionPeriod": "60"], creating: true)
        #expect(changed.delaySeconds == 900 && changed.messageRetentionPeriod == 60)
        #expect(throws: SpoolError.self) { try defaults.applying(["DelaySeconds": "901"], creating: true) }
        #expect(throws: SpoolError.self) { try defaults.applying(["MaximumMessageSize": "1023"], creating: true) }
        #expect(throws: SpoolError.self) { try defaults.applying(["MessageRetentionPeriod": "1209601"], creating: true) }
        #expect(throws: SpoolError.self) { try defaults.applying(["ReceiveMessageWaitTimeSeconds": "21"], creating: true) }
        #expect(throws: SpoolError.self) { try defaults.applying(["VisibilityTimeout": "abc"], creating: true) }
    }

    @Test("refuses unknown, read-only, FIFO-only and unsupported attributes")
    func attributeRefusals() {
        func code(_ raw: [String: String], fifo: Bool = false, creating: Bool = true) -> SpoolError.Code? {
            do {
                _ = try QueueAttributes(fifoQueue: fifo).applying(raw, creating: creating)
                return nil
            } catch {
                return error.code
            }
        }
        #expect(code(["Bogus": "1"]) == .invalidAttributeName)
        #expect(code(["QueueArn": "x"]) == .invalidAttributeName)
        #expect(code(["ContentBasedDeduplication": "true"]) == .invalidAttributeName)
        #expect(code(["ContentBasedDeduplication": "true"], fifo: true) == nil)
        #expect(code(["FifoQueue": "true"], fifo: true, creating: false) == nil)
        #expect(code(["FifoQueue": "false"], fifo: true, creating: false) == .invalidAttributeValue)
        #expect(code(["KmsMasterKeyId": "alias/x"]) == nil)
        #expect(code(["KmsMasterKeyId": "alias/x", "SqsManagedSseEnabled": "true"]) == .invalidAttributeValue)
        #expect(code(["KmsDataKeyReusePeriodSeconds": "59"]) == .invalidAttributeValue)
        #expect(code(["SqsManagedSseEnabled": "true"]) == nil)
        #expect(code(["SqsManagedSseEnabled": "false"]) == nil)
        #expect(code(["Policy": "{}"]) == .invalidAttributeValue)
        #expect(code(["Policy": #"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"sqs:*"}]}"#]) == nil)
        #expect(code(["FifoThroughputLimit": "perMessageGroupId"], fifo: true) == .invalidAttributeValue)
        #expect(code(["FifoThroughputLimit": "perMessageGroupId", "DeduplicationScope": "messageGroup"], fifo: true) == nil)
    }

    @Test("parses redrive policies with numeric or string counts and rejects bad ones")
    func redrivePolicy() throws {
        let policy = try RedrivePolicy.parse(#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"5"}"#)
        #expect(policy.maxReceiveCount == 5)
        #expect(try RedrivePolicy.parse(#"{"deadLetterTargetArn":"a"}"#).maxReceiveCount == 10)
        #expect(try RedrivePolicy.parse(#"{"deadLetterTargetArn":"a","maxReceiveCount":1}"#).maxReceiveCount == 1)
        #expect(throws: SpoolError.self) { try RedrivePolicy.parse(#"{"deadLetterTargetArn":"a","maxReceiveCount":true}"#) }
        #expect(throws: SpoolError.self) { try RedrivePolicy.parse(#"{"maxReceiveCount":5}"#) }
        #expect(throws: SpoolError.self) { try RedrivePolicy.parse(#"{"deadLetterTargetArn":"a","maxReceiveCount":1001}"#) }
        #expect(throws: SpoolError.self) { try RedrivePolicy.parse("not json") }
        let allow = try RedriveAllowPolicy.parse(#"{"redrivePermission":"byQueue","sourceQueueArns":["arn:1"]}"#)
        #expect(allow.allows(sourceARN: "arn:1") && !allow.allows(sourceARN: "arn:2"))
        #expect(!(try RedriveAllowPolicy.parse(#"{"redrivePermission":"denyAll"}"#)).allows(sourceARN: "arn:1"))
    }

    @Test("computes the MD5 digests SDKs verify")
    func digests() {
        #expect(MessageDigest.body("hello") == "5d41402abc4b2a76b9719d911017c592")
        // Reference value computed with the documented algorithm (len32 ‖ name ‖ len32 ‖ type ‖ 1 ‖ len32 ‖ value).
        let attributes = ["a": MessageAttributeValue(dataType: "String", stringValue: "v")]
        #expect(MessageDigest.attributes(attributes) == "a18cbb58171ebf4ce88d9fb787f9210b")
        #expect(MessageDigest.attributes([:]) == nil)
    }

    @Test("round-trips receipt handles and rejects foreign ones")
    func receipts() throws {
        let receipt = ReceiptHandle(queueID: 3, rowID: 44, epoch: 2, messageID: "abc")
        #expect(try ReceiptHandle.decode(receipt.encoded) == receipt)
        #expect(throws: SpoolError.self) { try ReceiptHandle.decode("garbage") }
        #expect(throws: SpoolError.self) { try ReceiptHandle.decode(Data("other:1:2:3:4".utf8).base64EncodedString()) }
    }

    @Test("checks batch entry ids")
    func batchEntries() {
        #expect(throws: Never.self) { try BatchEntries.validate(ids: ["a", "b-1", "c_2"]) }
        #expect { try BatchEntries.validate(ids: []) } throws: { ($0 as? SpoolError)?.code == .emptyBatchRequest }
        #expect { try BatchEntries.validate(ids: (0..<11).map(String.init)) } throws: { ($0 as? SpoolError)?.code == .tooManyEntriesInBatchRequest }
        #expect { try BatchEntries.validate(ids: ["a", "a"]) } throws: { ($0 as? SpoolError)?.code == .batchEntryIdsNotDistinct }
        #expect { try BatchEntries.validate(ids: ["a b"]) } throws: { ($0 as? SpoolError)?.code == .invalidBatchEntryId }
    }

    @Test("validates messages against their queue")
    func sendRules() throws {
        let standard = QueueAttributes()
        let fifo = QueueAttributes(fifoQueue: true)
        #expect(try SendRules.validate(OutgoingMessage(body: "ok"), queue: standard) == 2)
        #expect { try SendRules.validate(OutgoingMessage(body: ""), queue: standard) } throws: { ($0 as? SpoolError)?.code == .missingParameter }
        #expect { try SendRules.validate(OutgoingMessage(body: "\u{1}"), queue: standard) } throws: { ($0 as? SpoolError)?.code == .invalidMessageContents }
        #expect { try SendRules.validate(OutgoingMessage(body: "x", deduplicationID: "d"), queue: standard) } throws: { ($0 as? SpoolError)?.code == .invalidParameterValue }
        #expect { try SendRules.validate(OutgoingMessage(body: "x", deduplicationID: "d"), queue: fifo) } throws: { ($0 as? SpoolError)?.code == .missingParameter }
        #expect { try SendRules.validate(OutgoingMessage(body: "x", delaySeconds: 1, groupID: "g", deduplicationID: "d"), queue: fifo) } throws: { ($0 as? SpoolError)?.code == .invalidParameterValue }
        let tooMany = Dictionary(uniqueKeysWithValues: (0..<11).map { ("k\($0)", MessageAttributeValue(dataType: "String", stringValue: "v")) })
        #expect(throws: SpoolError.self) { try SendRules.validate(OutgoingMessage(body: "x", attributes: tooMany), queue: standard) }
        #expect(throws: SpoolError.self) { try SendRules.validate(OutgoingMessage(body: "x", attributes: ["n": .init(dataType: "Number", stringValue: "abc")]), queue: standard) }
        #expect(throws: SpoolError.self) { try SendRules.validate(OutgoingMessage(body: "x", attributes: ["AWS.x": .init(dataType: "String", stringValue: "v")]), queue: standard) }
    }

    @Test("selects message attributes by name, prefix or All")
    func attributeSelection() {
        #expect(MessageAttributes.isSelected("a.b", by: ["a.*"]))
        #expect(!MessageAttributes.isSelected("ab", by: ["a.*"]))
        #expect(MessageAttributes.isSelected("x", by: ["All"]))
        #expect(MessageAttributes.isSelected("x", by: [".*"]))
        #expect(!MessageAttributes.isSelected("x", by: []))
    }

    @Test("parses queue ARNs of its own account, in any region, to stored names")
    func arns() {
        let identity = AWSIdentity()
        #expect(identity.queueARN("q") == "arn:aws:sqs:us-east-1:000000000000:q")
        #expect(identity.queueName(fromARN: "arn:aws:sqs:us-east-1:000000000000:q") == "q")
        #expect(identity.queueName(fromARN: "arn:aws:sqs:eu-west-1:000000000000:q") == "eu-west-1/q")
        #expect(identity.queueARN("eu-west-1/q") == "arn:aws:sqs:eu-west-1:000000000000:q")
        #expect(identity.queueName(fromARN: "arn:aws:sqs:us-east-1:111111111111:q") == nil)
        #expect(identity.queueName(fromARN: "arn:aws:sqs:EU:000000000000:q") == nil)
        #expect(identity.queueName(fromARN: "garbage") == nil)
    }
}
