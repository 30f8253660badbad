import SpoolModel
import Testing

@Suite("Regions as namespaces")
struct RegionTests {
    let home = AWSIdentity(accountID: "000000000000", region: "us-east-1")

    @Test("a name is stored bare in the home region and as REGION/NAME in any other")
    func storedNames() {
        #expect(home.stored("orders") == "orders")
        let frankfurt = home.acting(in: "eu-central-1")
        #expect(frankfurt.region == "eu-central-1" && frankfurt.homeRegion == "us-east-1")
        #expect(frankfurt.stored("orders") == "eu-central-1/orders")
        #expect(home.acting(in: nil).stored("orders") == "orders")
        #expect(home.region(of: "orders") == "us-east-1")
        #expect(home.region(of: "eu-central-1/orders") == "eu-central-1")
        #expect(AWSIdentity.plainName("eu-central-1/orders") == "orders")
        #expect(frankfurt.isInRegion("eu-central-1/orders") && !frankfurt.isInRegion("orders"))
        #expect(home.isInRegion("orders") && !home.isInRegion("eu-central-1/orders"))
    }

    @Test("a name holding a slash cannot reach into another region")
    func slashes() {
        // From the home region, "eu-central-1/orders" is not Frankfurt's queue: it stays qualified by the home region
        // and its plain part, holding a slash, is no valid name.
        let stored = home.stored("eu-central-1/orders")
        #expect(stored == "us-east-1/eu-central-1/orders")
        #expect(home.region(of: stored) == "us-east-1")
        #expect(!QueueName.isValid(AWSIdentity.plainName(stored)))
        #expect(home.acting(in: "eu-central-1").stored("x/y") == "eu-central-1/x/y")
    }

    @Test("region names: lowercase letters, digits and hyphens, starting with a letter")
    func regionNames() {
        for valid in ["us-east-1", "eu-central-1", "us-gov-west-1", "cn-north-1", "local"] { #expect(AWSIdentity.isRegionName(valid)) }
        for invalid in ["", "EU-WEST-1", "us_east_1", "1-east", "us-east-1/x", String(repeating: "a", count: 33)] {
            #expect(!AWSIdentity.isRegionName(invalid))
        }
    }

    @Test("ARNs of every kind name the stored resource's region")
    func arns() throws {
        #expect(home.functionARN("eu-central-1/resize") == "arn:aws:lambda:eu-central-1:000000000000:function:resize")
        #expect(home.functionARN("resize") == "arn:aws:lambda:us-east-1:000000000000:function:resize")
        #expect(home.consumerARN(stream: "eu-central-1/s", consumer: "c", createdSeconds: 7)
            == "arn:aws:kinesis:eu-central-1:000000000000:stream/s/consumer/c:7")
        #expect(home.consumer(fromARN: "arn:aws:kinesis:eu-central-1:000000000000:stream/s/consumer/c:7")?.stream == "eu-central-1/s")
        // A bare name means the acting region; an ARN its own.
        let frankfurt = home.acting(in: "eu-central-1")
        #expect(try FunctionReference.parse("resize", identity: frankfurt).name == "eu-central-1/resize")
        #expect(try FunctionReference.parse("arn:aws:lambda:us-east-1:000000000000:function:resize", identity: frankfurt).name == "resize")
        #expect(try FunctionReference.parse(operatorName: "eu-central-1/resize", identity: home).name == "eu-central-1/resize")
        #expect(try FunctionReference.parse(operatorName: "resize", identity: frankfurt).name == "resize")
        #expect(throws: SpoolError.self) { try FunctionReference.parse(operatorName: "EU/resize", identity: home) }
    }

    @Test("the credential scope's region, from a header or a presigned query")
    func scopeRegion() {
        let header = "AWS4-HMAC-SHA256 Credential=AKID/20261207/eu-central-1/sqs/aws4_request, SignedHeaders=host, Signature=abc"
        #expect(SigV4.region(authorization: header, rawQuery: nil) == "eu-central-1")
        #expect(SigV4.region(authorization: nil, rawQuery: "X-Amz-Credential=AKID%2F20261207%2Fap-south-1%2Flambda%2Faws4_request&X-Amz-Signature=x")
            == "ap-south-1")
        #expect(SigV4.region(authorization: "AWS4-HMAC-SHA256 Credential=AKID/20261207/EU/sqs/aws4_request", rawQuery: nil) == nil)
        #expect(SigV4.region(authorization: nil, rawQuery: "Action=ListQueues") == nil)
        #expect(SigV4.region(authorization: nil, rawQuery: nil) == nil)
    }

    @Test("an SQS event record carries its queue's region")
    func eventRegion() {
        let message = ReceivedMessage(messageID: "m", receipt: ReceiptHandle(queueID: 1, rowID: 1, epoch: 1, messageID: "m"), body: "b",
                                      attributes: [:], systemAttributes: [:], sentAt: 1, firstReceivedAt: 2, receiveCount: 1, groupID: nil,
                                      deduplicationID: nil, sequenceNumber: nil, deadLetterSourceARN: nil)
        #expect(SQSEventRecord(message, queueARN: "arn:aws:sqs:eu-central-1:000000000000:q", identity: home).awsRegion == "eu-central-1")
    }
}
