"""Overload: past the configured backlog or memory limit, intake answers 429 with Retry-After in each API's shape,
reads and deletes keep working, and intake reopens once the backlog drains."""
import json
import time
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import make_client, served
from functions import create_python
from sqs_query import query_client

SLOW = '''
import time

def handler(event, context):
    time.sleep(8)
    return {}
'''


def throttled(call, attempts=400):
    """Calls until the server refuses; returns (accepted count, the error response)."""
    for accepted in range(attempts):
        try:
            call()
        except ClientError as error:
            return accepted, error.response
        time.sleep(0.005)
    pytest.fail(f"no throttle after {attempts} accepted calls")


def test_async_backlog_limit_throttles_invoke_event_then_reopens(binary, tmp_path_factory):
    with served(binary, tmp_path_factory, "limits-async", SPOOL_LIMITS_MAX_BACKLOG="20", SPOOL_LIMITS_CHECK_INTERVAL_MS="50") as server:
        lam = make_client(server.endpoint, "lambda")
        name = create_python(lam, SLOW, Timeout=15)
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
        accepted, response = throttled(lambda: lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}"))
        assert 20 <= accepted <= 60, accepted
        assert response["Error"]["Code"] == "TooManyRequestsException"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
        assert response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"
        assert "limits.maxBacklog" in response["Error"]["Message"]
        # Reads and other work are not refused.
        assert lam.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name
        sqs = make_client(server.endpoint)
        url = sqs.create_queue(QueueName="still-open")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="queues have their own count")
        # Deleting the function drops its waiting events (to dead letters); intake reopens.
        lam.delete_function(FunctionName=name)
        other = create_python(lam, "def handler(event, context):\n    return event\n")
        deadline = time.time() + 20
        while True:
            try:
                assert lam.invoke(FunctionName=other, InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
                break
            except ClientError as error:
                assert error.response["Error"]["Code"] == "TooManyRequestsException"
                assert time.time() < deadline, "intake did not reopen"
                time.sleep(0.2)


def test_queue_backlog_limit_throttles_sends_but_not_receives_and_deletes(binary, tmp_path_factory):
    with served(binary, tmp_path_factory, "limits-sqs", SPOOL_LIMITS_MAX_BACKLOG="30", SPOOL_LIMITS_CHECK_INTERVAL_MS="50") as server:
        sqs = make_client(server.endpoint)
        url = sqs.create_queue(QueueName="bounded")["QueueUrl"]
        accepted, response = throttled(lambda: sqs.send_message(QueueUrl=url, MessageBody="x"))
        assert 30 <= accepted <= 80, accepted
        assert response["Error"]["Code"] == "RequestThrottled"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
        assert response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"
        with pytest.raises(ClientError):
            sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "y"}])
        # The query protocol's sends are refused the same way, in its XML; its receives go on.
        query = query_client(server.endpoint)
        with pytest.raises(ClientError) as refused:
            query.send_message(QueueUrl=url, MessageBody="form")
        assert refused.value.response["Error"]["Code"] == "RequestThrottled"
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        with pytest.raises(ClientError):
            query.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "y"}])
        assert query.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        # Draining is allowed, and reopens intake.
        stored = int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
        assert stored == accepted
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                break
            sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
        deadline = time.time() + 10
        while True:
            try:
                sqs.send_message(QueueUrl=url, MessageBody="again")
                break
            except ClientError:
                assert time.time() < deadline, "intake did not reopen"
                time.sleep(0.1)


def test_memory_limit_throttles_every_intake_with_each_apis_error(binary, tmp_path_factory):
    # 16 MB is below what any Spool process holds, so every intake is refused from the first request.
    with served(binary, tmp_path_factory, "limits-memory", SPOOL_LIMITS_MAX_MEMORY_MB="16") as server:
        lam = make_client(server.endpoint, "lambda")
        sqs = make_client(server.endpoint)
        kinesis = make_client(server.endpoint, "kinesis")
        name = create_python(lam, "def handler(event, context):\n    return event\n")
        url = sqs.create_queue(QueueName="m")["QueueUrl"]
        kinesis.create_stream(StreamName="m", ShardCount=1)
        for call, code in [
            (lambda: lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}"), "TooManyRequestsException"),
            (lambda: lam.invoke(FunctionName=name, Payload=b"{}"), "TooManyRequestsException"),
            (lambda: sqs.send_message(QueueUrl=url, MessageBody="x"), "RequestThrottled"),
            (lambda: kinesis.put_record(StreamName="m", Data=b"x", PartitionKey="k"), "ThrottlingException"),
        ]:
            with pytest.raises(ClientError) as raised:
                call()
            assert raised.value.response["Error"]["Code"] == code
            assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
            assert "limits.maxMemoryMB" in raised.value.response["Error"]["Message"]
        # The path is read as the router reads it: `//` is still the SQS endpoint, and still refused.
        request = urllib.request.Request(server.endpoint + "//", method="POST", data=json.dumps({"QueueUrl": url, "MessageBody": "x"}).encode(),
                                         headers={"X-Amz-Target": "AmazonSQS.SendMessage", "Content-Type": "application/x-amz-json-1.0"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 429 and refused.value.headers["x-amzn-query-error"] == "RequestThrottled;Sender"
        assert kinesis.describe_stream_summary(StreamName="m")["StreamDescriptionSummary"]["StreamName"] == "m"
        assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []


def test_stream_backlog_limit_throttles_puts_as_kinesis_does_and_reads_go_on(binary, tmp_path_factory):
    """Kinesis intake is bounded by limits.maxBacklog like events and messages: past it, PutRecord(s) answer
    ProvisionedThroughputExceededException (400, as Kinesis sends it, which the SDKs retry as a throttle) with
    Retry-After; reading keeps working."""
    with served(binary, tmp_path_factory, "limits-kinesis", SPOOL_LIMITS_MAX_BACKLOG="25", SPOOL_LIMITS_CHECK_INTERVAL_MS="50") as server:
        kinesis = make_client(server.endpoint, "kinesis")
        kinesis.create_stream(StreamName="bounded", ShardCount=1)
        accepted, response = throttled(lambda: kinesis.put_record(StreamName="bounded", Data=b"x", PartitionKey="p"))
        assert 25 <= accepted <= 80, accepted
        assert response["Error"]["Code"] == "ProvisionedThroughputExceededException"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"
        assert "limits.maxBacklog" in response["Error"]["Message"]
        with pytest.raises(ClientError) as batch:
            kinesis.put_records(StreamName="bounded", Records=[{"Data": b"y", "PartitionKey": "p"}])
        assert batch.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
        shard = kinesis.list_shards(StreamName="bounded")["Shards"][0]["ShardId"]
        iterator = kinesis.get_shard_iterator(StreamName="bounded", ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        assert len(kinesis.get_records(ShardIterator=iterator, Limit=1000)["Records"]) == accepted


@pytest.mark.parametrize("raw", [
    b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: AmazonSQS.ListQueues\r\nBad Header: x\r\nContent-Length: 2\r\n\r\n{}",
    b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: not-a-number\r\n\r\n{}",
    b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Bad: \x01\x02\r\n\r\n",
])
def test_a_request_the_http_parser_rejects_gets_an_aws_shaped_400(server, raw):
    """Not a bare 400 with no body: the JSON error shape the AWS SDKs read, with a request id, then the connection closes."""
    import json
    import socket
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(raw)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0].startswith("HTTP/1.1 400"), lines[0]
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    assert headers["x-amzn-errortype"] == "MalformedHttpRequestException" and headers["x-amzn-requestid"]
    assert headers["content-type"] == "application/x-amz-json-1.0"
    document = json.loads(body)
    assert document["__type"] == "MalformedHttpRequestException" and "not valid HTTP/1.1" in document["message"]
    # The server goes on serving.
    with urllib.request.urlopen(server.endpoint + "/health", timeout=5) as health:
        assert health.status == 200
