import Foundation
import SpoolModel
import Testing

@Suite("Asynchronous invocation rules")
struct AsyncRulesTests {
    let policy = AsyncRetryPolicy()
    let config = EventInvokeConfig.defaults(for: "fn")
    let failure = InvocationFailure(kind: .functionError, errorType: "Exception", errorMessage: "boom")
    let throttle = InvocationFailure(kind: .throttled, errorType: "TooManyRequestsException", errorMessage: "Rate Exceeded.")

    func decide(_ failure: InvocationFailure?, errors: Int = 0, system: Int = 0, age: Millis = 0, config: EventInvokeConfig? = nil,
                unit: Double = 0) -> AsyncDecision {
        AsyncDecision.after(failure: failure, enqueuedAt: 1_000_000 - age, now: 1_000_000, functionErrors: errors, systemRetries: system,
                            config: config ?? self.config, policy: policy, unit: unit)
    }

    @Test("the n-th retry after a function error waits n minutes, plus at most 10 % jitter")
    func functionErrorDelays() {
        #expect(policy.functionErrorDelay(retry: 1) == 60_000)
        #expect(policy.functionErrorDelay(retry: 2) == 120_000)
        #expect(policy.jittered(60_000, unit: 0) == 60_000)
        #expect(policy.jittered(60_000, unit: 0.999) == 65_994)
        #expect(decide(failure) == .retry(visibleAt: 1_060_000, consumesAttempt: true))
        #expect(decide(failure, errors: 1) == .retry(visibleAt: 1_120_000, consumesAttempt: true))
    }

    @Test("throttles and system failures back off from 1 s, doubling, to at most 5 minutes")
    func throttleDelays() {
        #expect((1...10).map { policy.throttleDelay(occurrence: $0) } == [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000])
        #expect(policy.throttleDelay(occurrence: 500) == 300_000)
        #expect(decide(throttle, errors: 2, system: 3) == .retry(visibleAt: 1_008_000, consumesAttempt: false))
    }

    @Test("a function that always fails is attempted 1 + MaximumRetryAttempts times")
    func retriesExhausted() {
        #expect(decide(failure, errors: 2) == .fail(.retriesExhausted))
        var none = config
        none.maximumRetryAttempts = 0
        #expect(decide(failure, config: none) == .fail(.retriesExhausted))
        var one = config
        one.maximumRetryAttempts = 1
        #expect(decide(failure, config: one) == .retry(visibleAt: 1_060_000, consumesAttempt: true))
        #expect(decide(failure, errors: 1, config: one) == .fail(.retriesExhausted))
        #expect(decide(nil, errors: 2) == .succeed)
    }

    @Test("a retry that would land past the maximum event age ends the event with EventAgeExceeded")
    func eventAge() {
        var short = config
        short.maximumEventAgeSeconds = 60
        #expect(decide(failure, age: 1, config: short) == .fail(.eventAgeExceeded))
        #expect(decide(failure, age: 0, config: short) == .retry(visibleAt: 1_060_000, consumesAttempt: true))
        #expect(decide(throttle, age: 59_500, config: short) == .fail(.eventAgeExceeded))
        #expect(decide(throttle, age: 58_000, config: short) == .retry(visibleAt: 1_001_000, consumesAttempt: false))
        #expect(decide(throttle, system: 40, age: 21_600_000 - 300_000) == .retry(visibleAt: 1_300_000, consumesAttempt: false))
        #expect(decide(throttle, system: 40, age: 21_600_000 - 299_999) == .fail(.eventAgeExceeded))
    }

    @Test("before running: reserved concurrency 0 and an expired event fail without an attempt")
    func beforeRunning() {
        #expect(AsyncDecision.beforeRunning(enqueuedAt: 0, now: 1, config: config, reservedConcurrency: 0) == .fail(.zeroReservedConcurrency))
        #expect(AsyncDecision.beforeRunning(enqueuedAt: 0, now: 21_600_001, config: config, reservedConcurrency: nil) == .fail(.eventAgeExceeded))
        #expect(AsyncDecision.beforeRunning(enqueuedAt: 0, now: 21_600_000, config: config, reservedConcurrency: 5) == nil)
    }

    @Test("records embed JSON payloads as values and anything else as strings")
    func record() throws {
        let record = InvocationRecord(condition: "RetriesExhausted", requestID: "r-1", functionARN: "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST",
                                      approximateInvokeCount: 3, requestPayload: "{\"a\": [1, 2]}",
                                      response: .init(payload: "not json", functionError: "Unhandled"), timestamp: 1_573_755_365_568)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(record.json().utf8)) as? [String: Any])
        #expect(object["version"] as? String == "1.0")
        #expect(object["timestamp"] as? String == "2019-11-14T18:16:05.568Z")
        let context = try #require(object["requestContext"] as? [String: Any])
        #expect(context["requestId"] as? String == "r-1" && context["condition"] as? String == "RetriesExhausted")
        #expect(context["approximateInvokeCount"] as? Int == 3)
        #expect((object["requestPayload"] as? [String: Any])?["a"] as? [Int] == [1, 2])
        #expect(object["responsePayload"] as? String == "not json")
        let response = try #require(object["responseContext"] as? [String: Any])
        #expect(response["statusCode"] as? Int == 200 && response["executedVersion"] as? String == "$LATEST")
        #expect(response["functionError"] as? String == "Unhandled")
        let bare = InvocationRecord(condition: "ZeroReservedConcurrency", requestID: "r", functionARN: "a", approximateInvokeCount: 0,
                                    requestPayload: "7", response: nil, timestamp: 0)
        #expect(bare.json().contains("\"requestPayload\":7}"))
        #expect(!bare.json().contains("responseContext"))
    }

    @Test("record timestamps are ISO 8601 UTC with milliseconds")
    func timestamps() {
        #expect(InvocationRecord.iso8601(0) == "1970-01-01T00:00:00.000Z")
        #expect(InvocationRecord.iso8601(951_782_400_001) == "2000-02-29T00:00:00.001Z")
        #expect(InvocationRecord.iso8601(1_795_822_154_511) == "2026-11-27T23:29:14.511Z")
        #expect(InvocationRecord.iso8601(-1) == "1969-12-31T23:59:59.999Z")
    }

    @Test("event-invoke settings are validated with AWS's messages")
    func settingsValidation() {
        #expect(throws: SpoolError.validation(field: "maximumRetryAttempts", value: "3", constraint: "Member must have value less than or equal to 2")) {
            try EventInvokeSettings(maximumRetryAttempts: 3).validate()
        }
        #expect(throws: SpoolError.validation(field: "maximumEventAgeInSeconds", value: "59", constraint: "Member must have value greater than or equal to 60")) {
            try EventInvokeSettings(maximumEventAgeSeconds: 59).validate()
        }
        #expect(throws: SpoolError(.invalidParameterValue, "You must specify at least one of error handling or destination setting.")) {
            try EventInvokeSettings().validate()
        }
        #expect(throws: Never.self) { try EventInvokeSettings(destinationsGiven: true, onFailure: "https://example.com/hook").validate() }
    }

    @Test("Put replaces a configuration, Update merges into it")
    func putAndUpdate() {
        let put = EventInvokeSettings(maximumRetryAttempts: 1, destinationsGiven: true, onSuccess: "arn:aws:sqs:us-east-1:000000000000:ok")
            .replacing(functionName: "fn", qualifier: "$LATEST", now: 5)
        #expect(put.maximumRetryAttempts == 1 && put.maximumEventAgeSeconds == nil && put.onSuccess != nil)
        let updated = EventInvokeSettings(maximumEventAgeSeconds: 120).merging(into: put, now: 6)
        #expect(updated.maximumRetryAttempts == 1 && updated.maximumEventAgeSeconds == 120 && updated.onSuccess == put.onSuccess)
        let cleared = EventInvokeSettings(destinationsGiven: true, onFailure: "https://h/x").merging(into: updated, now: 7)
        #expect(cleared.onSuccess == nil && cleared.onFailure == "https://h/x" && cleared.lastModified == 7)
    }

    @Test("destinations: this account's queues and functions, and http(s) URLs")
    func destinations() {
        let identity = AWSIdentity()
        #expect(Destination.parse("arn:aws:sqs:us-east-1:000000000000:q", identity: identity) == .queue(name: "q"))
        #expect(Destination.parse("arn:aws:lambda:us-east-1:000000000000:function:f", identity: identity) == .function(name: "f"))
        #expect(Destination.parse("arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST", identity: identity) == .function(name: "f"))
        #expect(Destination.parse("https://example.com/hook", identity: identity) == .url("https://example.com/hook"))
        #expect(Destination.parse("arn:aws:sns:us-east-1:000000000000:topic", identity: identity) == nil)
        #expect(Destination.parse("arn:aws:sqs:eu-west-1:000000000000:q", identity: identity) == .queue(name: "eu-west-1/q"))
        #expect(Destination.parse("arn:aws:lambda:eu-west-1:000000000000:function:f", identity: identity) == .function(name: "eu-west-1/f"))
        #expect(Destination.parse("arn:aws:sqs:us-east-1:111111111111:q", identity: identity) == nil)
        #expect(Destination.parse("arn:aws:lambda:us-east-1:000000000000:function:f:2", identity: identity) == .function(name: "f", qualifier: "2"))
        #expect(Destination.parse("arn:aws:lambda:us-east-1:000000000000:function:f:bad!", identity: identity) == nil)
        #expect(!Destination.matchesModelPattern("queue-name"))
    }
}
