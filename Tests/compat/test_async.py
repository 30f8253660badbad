"""Asynchronous invocation through boto3 against a real server and real awslambdaric functions:
202 after the event is stored, retries, destinations, the dead-letter queue, idempotency keys."""
import json
import re

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from asyncfixtures import (ALWAYS_FAILS, COUNTING_HANDLER, RecordingEndpoint, attempts, function_arn, make_queue, raw_invoke,
                           receive, records, wait_until)
from conftest import SpoolProcess, make_client
from functions import ROLE, create_python, function_name, package

RETRY_BASE_MS = 300


@pytest.fixture(scope="module")
def async_server(binary, tmp_path_factory):
    process = SpoolProcess(binary, tmp_path_factory.mktemp("spool-async") / "data",
                           extra_env={"SPOOL_ASYNC_RETRY_BASE_DELAY_MS": str(RETRY_BASE_MS),
                                      "SPOOL_ASYNC_THROTTLE_BASE_DELAY_MS": "50"})
    process.start()
    yield process
    process.stop()


@pytest.fixture()
def lam(async_server):
    return make_client(async_server.endpoint, "lambda")


@pytest.fixture()
def sqs(async_server):
    return make_client(async_server.endpoint, "sqs")


def error_of(failure) -> tuple[str, int, str]:
    response = failure.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def counting_function(lam, tmp_path, source=COUNTING_HANDLER, **extra) -> tuple[str, object]:
    counter = tmp_path / f"attempts-{function_name()}.txt"
    name = create_python(lam, source, Environment={"Variables": {"COUNT_FILE": str(counter)}}, **extra)
    return name, counter


def test_event_invoke_answers_202_and_the_success_record_reaches_on_success(lam, sqs, tmp_path):
    name, counter = counting_function(lam, tmp_path)
    url, arn = make_queue(sqs)
    config = lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": arn}})
    assert config["FunctionArn"] == function_arn(name) + ":$LATEST"
    response = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"order": 42}')
    assert response["StatusCode"] == 202
    request_id = response["ResponseMetadata"]["RequestId"]
    assert response["Payload"].read() == b""
    [record] = records(sqs, url, 1)
    assert record["version"] == "1.0"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["timestamp"])
    assert record["requestContext"] == {"requestId": request_id, "functionArn": function_arn(name) + ":$LATEST",
                                        "condition": "Success", "approximateInvokeCount": 1}
    assert record["requestPayload"] == {"order": 42}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"handled": {"order": 42}}
    assert attempts(counter) == [request_id]


def test_a_function_that_always_fails_is_attempted_three_times_then_reaches_on_failure_and_the_dlq(lam, sqs, tmp_path):
    dlq_url, dlq_arn = make_queue(sqs, "dlq")
    failed_url, failed_arn = make_queue(sqs, "failed")
    name, counter = counting_function(lam, tmp_path, ALWAYS_FAILS, DeadLetterConfig={"TargetArn": dlq_arn})
    lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnFailure": {"Destination": failed_arn}})
    response = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"job": "x"}')
    request_id = response["ResponseMetadata"]["RequestId"]
    [record] = records(sqs, failed_url, 1)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["requestId"] == request_id
    assert record["requestPayload"] == {"job": "x"}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorMessage"] == "intentional failure"
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    assert attempts(counter) == [request_id] * 3
    [dead] = receive(sqs, dlq_url, 1)
    assert dead["Body"] == '{"job": "x"}'
    attributes = dead["MessageAttributes"]
    assert attributes["RequestID"] == {"StringValue": request_id, "DataType": "String"}
    assert attributes["ErrorCode"] == {"StringValue": "200", "DataType": "Number"}
    assert attributes["ErrorMessage"] == {"StringValue": "intentional failure", "DataType": "String"}


TIMED_FAILURE = """import os, time
def handler(event, context):
    with open(os.environ["COUNT_FILE"], "a") as attempts:
        attempts.write(repr(time.time()) + "\\n")
    raise RuntimeError("intentional failure")
"""


def test_the_nth_retry_waits_n_times_the_base_delay(lam, sqs, tmp_path):
    failed_url, failed_arn = make_queue(sqs, "failed")
    name, counter = counting_function(lam, tmp_path, TIMED_FAILURE)
    lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnFailure": {"Destination": failed_arn}})
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
    records(sqs, failed_url, 1)
    first, second, third = (float(t) for t in attempts(counter))
    base = RETRY_BASE_MS / 1000
    # Lower bounds are exact; the upper side allows for scheduling noise, yet the second wait must be clearly longer.
    assert second - first >= base
    assert third - second >= 2 * base
    assert (third - second) - (second - first) >= base / 2


SLEEPER = """import os, time
def handler(event, context):
    with open(os.environ["COUNT_FILE"], "a") as attempts:
        attempts.write(context.aws_request_id + "\\n")
    time.sleep(5)
"""


def test_timeouts_consume_attempts_and_are_reported_as_sandbox_timedout(lam, sqs, tmp_path):
    failed_url, failed_arn = make_queue(sqs, "failed")
    name, counter = counting_function(lam, tmp_path, SLEEPER, Timeout=1)
    lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1,
                                         DestinationConfig={"OnFailure": {"Destination": failed_arn}})
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"slow": true}')
    [record] = records(sqs, failed_url, 1)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in record["responsePayload"]["errorMessage"]
    assert len(attempts(counter)) == 2


def test_maximum_retry_attempts_zero_attempts_once(lam, sqs, tmp_path):
    failed_url, failed_arn = make_queue(sqs, "failed")
    name, counter = counting_function(lam, tmp_path, ALWAYS_FAILS)
    lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0,
                                         DestinationConfig={"OnFailure": {"Destination": failed_arn}})
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
    [record] = records(sqs, failed_url, 1)
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert len(attempts(counter)) == 1


def test_reserved_concurrency_zero_sends_events_to_failure_handling_without_running(lam, sqs, tmp_path):
    dlq_url, dlq_arn = make_queue(sqs, "dlq")
    failed_url, failed_arn = make_queue(sqs, "failed")
    name, counter = counting_function(lam, tmp_path, DeadLetterConfig={"TargetArn": dlq_arn})
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnFailure": {"Destination": failed_arn}})
    assert lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"k": 1}')["StatusCode"] == 202
    [record] = records(sqs, failed_url, 1)
    assert record["requestContext"]["condition"] == "ZeroReservedConcurrency"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert "responseContext" not in record
    [dead] = receive(sqs, dlq_url, 1)
    assert dead["Body"] == '{"k": 1}'
    assert dead["MessageAttributes"]["ErrorCode"]["StringValue"] == "429"
    assert attempts(counter) == []


def test_unknown_function_is_404_never_202(lam):
    with pytest.raises(ClientError) as failure:
        lam.invoke(FunctionName="no-such-function", InvocationType="Event", Payload=b"{}")
    code, status, message = error_of(failure)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert "no-such-function" in message


def test_async_payload_limit_is_1_mb(lam, tmp_path):
    name, _ = counting_function(lam, tmp_path)
    body = json.dumps("x" * (1_048_576 - 2)).encode()
    assert len(body) == 1_048_576
    assert lam.invoke(FunctionName=name, InvocationType="Event", Payload=body)["StatusCode"] == 202
    with pytest.raises(ClientError) as failure:
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps("x" * 1_048_576).encode())
    code, status, message = error_of(failure)
    assert (code, status) == ("RequestEntityTooLargeException", 413)
    assert "1048576 bytes" in message


def test_invalid_json_is_refused(lam, tmp_path):
    name, counter = counting_function(lam, tmp_path)
    with pytest.raises(ClientError) as failure:
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{not json")
    assert error_of(failure)[:2] == ("InvalidRequestContentException", 400)
    with pytest.raises(ClientError) as failure:
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'"\xff\xfe"')
    assert error_of(failure)[:2] == ("InvalidRequestContentException", 400)
    assert attempts(counter) == []


def test_idempotency_key_returns_the_first_request_id_and_stores_nothing_new(lam, sqs, async_server, tmp_path):
    name, counter = counting_function(lam, tmp_path)
    url, arn = make_queue(sqs)
    lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": arn}})
    status, headers, _ = raw_invoke(async_server.endpoint, name, b'{"charge": 1}', {"Idempotency-Key": "order-1"})
    assert status == 202
    first = headers["x-amzn-RequestId"]
    status, headers, _ = raw_invoke(async_server.endpoint, name, b'{"charge": 1}', {"Idempotency-Key": "order-1"})
    assert (status, headers["x-amzn-RequestId"]) == (202, first)
    status, headers, _ = raw_invoke(async_server.endpoint, name, b'{"charge": 2}', {"Idempotency-Key": "order-2"})
    second = headers["x-amzn-RequestId"]
    assert status == 202 and second != first
    got = records(sqs, url, 2)
    assert sorted(r["requestContext"]["requestId"] for r in got) == sorted([first, second])
    assert sorted(attempts(counter)) == sorted([first, second])
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []
    status, _, body = raw_invoke(async_server.endpoint, name, b"{}", {"Idempotency-Key": "x" * 300})
    assert status == 400 and b"Idempotency-Key" in body


def test_idempotency_key_through_a_boto3_event_hook_as_documented(async_server, sqs, tmp_path):
    lam = make_client(async_server.endpoint, "lambda")
    lam.meta.events.register("before-sign.lambda.Invoke",
                             lambda request, **_: request.headers.add_header("Idempotency-Key", "hooked-1"))
    name, counter = counting_function(lam, tmp_path)
    first = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"a": 1}')["ResponseMetadata"]["RequestId"]
    again = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"a": 1}')["ResponseMetadata"]["RequestId"]
    assert again == first
    wait_until(lambda: attempts(counter))
    assert attempts(counter) == [first]


def test_invoke_async_legacy_operation(lam, sqs, tmp_path):
    name, counter = counting_function(lam, tmp_path)
    url, arn = make_queue(sqs)
    lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": arn}})
    response = lam.invoke_async(FunctionName=name, InvokeArgs=b'{"legacy": true}')
    assert response["Status"] == 202
    [record] = records(sqs, url, 1)
    assert record["requestPayload"] == {"legacy": True}
    assert record["requestContext"]["requestId"] == response["ResponseMetadata"]["RequestId"]


def test_a_function_destination_is_invoked_asynchronously_with_the_record(lam, sqs, tmp_path):
    url, arn = make_queue(sqs)
    second, _ = counting_function(lam, tmp_path)
    lam.put_function_event_invoke_config(FunctionName=second, DestinationConfig={"OnSuccess": {"Destination": arn}})
    first, _ = counting_function(lam, tmp_path)
    lam.put_function_event_invoke_config(FunctionName=first,
                                         DestinationConfig={"OnSuccess": {"Destination": function_arn(second)}})
    lam.invoke(FunctionName=first, InvocationType="Event", Payload=b'{"step": 1}')
    [record] = records(sqs, url, 1)
    assert record["requestContext"]["functionArn"] == function_arn(second) + ":$LATEST"
    forwarded = record["requestPayload"]
    assert forwarded["requestContext"]["functionArn"] == function_arn(first) + ":$LATEST"
    assert forwarded["requestContext"]["condition"] == "Success"
    assert forwarded["requestPayload"] == {"step": 1}


def test_an_http_destination_receives_the_record_and_is_retried(lam, tmp_path):
    name, _ = counting_function(lam, tmp_path)
    with RecordingEndpoint(failures=2) as endpoint:
        lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={
            "OnSuccess": {"Destination": endpoint.url}, "OnFailure": {"Destination": endpoint.url}})
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"web": 1}')
        wait_until(lambda: endpoint.bodies, timeout=30)
        assert endpoint.calls == 3
        record = json.loads(endpoint.bodies[0])
        assert record["requestContext"]["condition"] == "Success"
        assert record["requestPayload"] == {"web": 1}


class TestEventInvokeConfigAPI:
    def test_put_get_update_list_delete(self, lam, sqs, tmp_path):
        name, _ = counting_function(lam, tmp_path)
        _, ok_arn = make_queue(sqs)
        put = lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1)
        assert put["MaximumRetryAttempts"] == 1 and "MaximumEventAgeInSeconds" not in put
        assert put["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}
        got = lam.get_function_event_invoke_config(FunctionName=name)
        assert got["FunctionArn"] == function_arn(name) + ":$LATEST" and got["MaximumRetryAttempts"] == 1
        updated = lam.update_function_event_invoke_config(FunctionName=name, MaximumEventAgeInSeconds=120,
                                                          DestinationConfig={"OnSuccess": {"Destination": ok_arn}})
        assert updated["MaximumRetryAttempts"] == 1 and updated["MaximumEventAgeInSeconds"] == 120
        assert updated["DestinationConfig"]["OnSuccess"] == {"Destination": ok_arn}
        replaced = lam.put_function_event_invoke_config(FunctionName=name, MaximumEventAgeInSeconds=60)
        assert "MaximumRetryAttempts" not in replaced and replaced["DestinationConfig"]["OnSuccess"] == {}
        listed = lam.list_function_event_invoke_configs(FunctionName=name)["FunctionEventInvokeConfigs"]
        assert [c["MaximumEventAgeInSeconds"] for c in listed] == [60]
        qualified = lam.get_function_event_invoke_config(FunctionName=name, Qualifier="$LATEST")
        assert qualified["FunctionArn"] == function_arn(name) + ":$LATEST"
        delete = lam.delete_function_event_invoke_config(FunctionName=name)
        assert delete["ResponseMetadata"]["HTTPStatusCode"] == 204
        with pytest.raises(ClientError) as failure:
            lam.get_function_event_invoke_config(FunctionName=name)
        code, status, message = error_of(failure)
        assert (code, status) == ("ResourceNotFoundException", 404)
        assert message == f"The function {function_arn(name)}:$LATEST doesn't have an EventInvokeConfig"
        with pytest.raises(ClientError) as failure:
            lam.update_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
        assert error_of(failure)[:2] == ("ResourceNotFoundException", 404)

    @pytest.mark.parametrize("arguments, code, fragment", [
        ({"MaximumRetryAttempts": 3}, "ValidationException", "Member must have value less than or equal to 2"),
        ({"MaximumEventAgeInSeconds": 59}, "ValidationException", "Member must have value greater than or equal to 60"),
        ({"MaximumEventAgeInSeconds": 21601}, "ValidationException", "Member must have value less than or equal to 21600"),
        ({}, "InvalidParameterValueException", "You must specify at least one of error handling or destination setting."),
        ({"DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:sns:us-east-1:000000000000:topic"}}},
         "InvalidParameterValueException", "The provided destination config DestinationConfig(onSuccess=OnSuccess("),
        ({"DestinationConfig": {"OnFailure": {"Destination": function_arn("does-not-exist")}}},
         "InvalidParameterValueException", "The destination ARN " + function_arn("does-not-exist") + " is invalid."),
        ({"DestinationConfig": {"OnFailure": {"Destination": "not-an-arn"}}}, "ValidationException", "regular expression pattern"),
        ({"DestinationConfig": {"OnFailure": {"Destination": "https:///no-host"}}}, "InvalidParameterValueException",
         "The destination URL https:///no-host is invalid."),
    ])
    def test_validation(self, lam, async_server, tmp_path, arguments, code, fragment):
        name, _ = counting_function(lam, tmp_path)
        # botocore checks minimums itself; without that the server's own answer is what a non-Python SDK sees.
        unchecked = boto3.client("lambda", endpoint_url=async_server.endpoint, region_name="us-east-1", aws_access_key_id="test",
                                 aws_secret_access_key="test", config=Config(parameter_validation=False, retries={"max_attempts": 1}))
        with pytest.raises(ClientError) as failure:
            unchecked.put_function_event_invoke_config(FunctionName=name, **arguments)
        got_code, status, message = error_of(failure)
        assert (got_code, status) == (code, 400)
        assert fragment in message

    def test_a_function_cannot_be_its_own_destination(self, lam, tmp_path):
        name, _ = counting_function(lam, tmp_path)
        with pytest.raises(ClientError) as failure:
            lam.put_function_event_invoke_config(FunctionName=name,
                                                 DestinationConfig={"OnSuccess": {"Destination": function_arn(name)}})
        assert error_of(failure)[2] == "You can't specify the function as a destination for itself."

    def test_unknown_function(self, lam):
        with pytest.raises(ClientError) as failure:
            lam.put_function_event_invoke_config(FunctionName="missing-fn", MaximumRetryAttempts=1)
        assert error_of(failure) == ("ResourceNotFoundException", 404, "The function doesn't exist.")

    def test_deleting_the_function_removes_its_config(self, lam, tmp_path):
        name, _ = counting_function(lam, tmp_path)
        lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
        lam.delete_function(FunctionName=name)
        lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": package({"app.py": COUNTING_HANDLER})})
        with pytest.raises(ClientError) as failure:
            lam.get_function_event_invoke_config(FunctionName=name)
        assert error_of(failure)[:2] == ("ResourceNotFoundException", 404)
