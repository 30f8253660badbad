import Foundation
import SpoolModel
import Testing

@Suite struct SigV4Tests {
    /// AWS's documented example (IAM ListUsers, 2015-08-30), the one every SigV4 implementation is checked against.
    let example = SigV4.Request(
        method: "GET", rawPath: "/", rawQuery: "Action=ListUsers&Version=2010-05-08",
        headers: ["content-type": ["application/x-www-form-urlencoded; charset=utf-8"], "host": ["iam.amazonaws.com"],
                  "x-amz-date": ["20150830T123600Z"]],
        payloadHash: SigV4.emptyPayloadHash
    )
    let exampleSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    let exampleSignature = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"

    @Test func documentedExample() {
        let canonical = SigV4.canonicalRequest(example, signedHeaders: ["content-type", "host", "x-amz-date"])
        #expect(SigV4.hexSHA256(Data(canonical.utf8)) == "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59")
        let scope = SigV4.Scope(date: "20150830", region: "us-east-1", service: "iam")
        let toSign = SigV4.stringToSign(timestamp: "20150830T123600Z", scope: scope, canonicalRequest: canonical)
        #expect(SigV4.signature(secret: exampleSecret, scope: scope, stringToSign: toSign) == exampleSignature)
    }

    @Test func verifierAcceptsTheExampleAndRefusesEveryKindOfMistake() throws {
        let verifier = SigV4Verifier(secrets: ["AKIDEXAMPLE": exampleSecret])
        let when = try #require(SigV4.parseTimestamp("20150830T123600Z"))
        func signed(_ authorization: String, _ change: (inout SigV4.Request) -> Void = { _ in }) -> SigV4.Request {
            var request = example
            request.headers["authorization"] = [authorization]
            change(&request)
            return request
        }
        let good = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
            + "SignedHeaders=content-type;host;x-amz-date, Signature=\(exampleSignature)"
        #expect(try verifier.verify(signed(good), service: "iam", now: when.addingTimeInterval(299)) == "AKIDEXAMPLE")

        func code(_ request: SigV4.Request, service: String = "iam", now: Date? = nil) -> SpoolError.Code? {
            do {
                _ = try verifier.verify(request, service: service, now: now ?? when)
                return nil
            } catch {
                return error.code
            }
        }
        #expect(code(example) == .missingAuthenticationToken)
        #expect(code(signed("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request")) == .incompleteSignature)
        #expect(code(signed(good.replacingOccurrences(of: "AKIDEXAMPLE", with: "AKIDOTHER"))) == .unrecognizedClient)
        #expect(code(signed(good) { $0.rawQuery = "Action=ListUsers&Version=2010-05-09" }) == .invalidSignature)
        #expect(code(signed(good) { $0.payloadHash = SigV4.hexSHA256(Data("x".utf8)) }) == .invalidSignature)
        #expect(code(signed(good), service: "sqs") == .invalidSignature)
        #expect(code(signed(good), now: when.addingTimeInterval(301)) == .invalidSignature)
        #expect(code(signed(good), now: when.addingTimeInterval(-301)) == .invalidSignature)
        #expect(code(signed(good.replacingOccurrences(of: "us-east-1", with: "eu-west-1"))) == .invalidSignature)
        #expect(code(signed(good.replacingOccurrences(of: "us-east-1", with: "US_EAST"))) == .invalidSignature)
        #expect(code(signed(good.replacingOccurrences(of: "content-type;host;x-amz-date", with: "content-type;x-amz-date"))) == .invalidSignature)
    }

    @Test func signThenVerifyRoundTrips() throws {
        let body = Data(#"{"FunctionName": "ünïcode"}"#.utf8)
        var headers = ["host": "127.0.0.1:9070", "content-type": "application/json"]
        let now = Date()
        SigV4.sign(method: "POST", rawPath: "/2015-03-31/functions/arn%3Aaws%3Alambda/invocations", rawQuery: "Qualifier=%24LATEST",
                   headers: &headers, body: body, accessKeyID: "KEY", secret: "SECRET", region: "us-east-1", service: "lambda", now: now)
        let request = SigV4.Request(method: "POST", rawPath: "/2015-03-31/functions/arn%3Aaws%3Alambda/invocations", rawQuery: "Qualifier=%24LATEST",
                                    headers: headers.mapValues { [$0] }, payloadHash: SigV4.hexSHA256(body))
        let verifier = SigV4Verifier(secrets: ["KEY": "SECRET"])
        #expect(try verifier.verify(request, service: "lambda", now: now) == "KEY")
        #expect(throws: SpoolError.self) { try SigV4Verifier(secrets: ["KEY": "OTHER"]).verify(request, service: "lambda", now: now) }
    }

    @Test func canonicalPathsAndQueries() {
        #expect(SigV4.canonicalURI("/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1/invocations")
            == "/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-east-1/invocations")
        #expect(SigV4.canonicalURI("") == "/")
        #expect(SigV4.canonicalURI("/a/./b/../c/") == "/a/c/")
        #expect(SigV4.canonicalQuery("b=2&a=%24LATEST&a=1&X-Amz-Signature=abc", excluding: ["X-Amz-Signature"]) == "a=%24LATEST&a=1&b=2")
        #expect(SigV4.canonicalQuery("k=a%20b+c") == "k=a%20b%2Bc")
    }
}
