"""Sending, receiving, deleting and visibility, through boto3."""
import hashlib
import struct
import threading
import time

import pytest
from botocore.exceptions import ClientError

from sqs_query import system_attributes


@pytest.fixture()
def sqs(sqs_both_protocols):
    """Every check runs over both of SQS's protocols."""
    return sqs_both_protocols


def attributes_md5(attributes):
    """MD5OfMessageAttributes computed independently, as the Java and Go SDKs verify it."""
    digest = hashlib.md5()
    for name in sorted(attributes):
        value = attributes[name]
        encoded = name.encode()
        digest.update(struct.pack(">I", len(encoded)) + encoded)
        data_type = value["DataType"].encode()
        digest.update(struct.pack(">I", len(data_type)) + data_type)
        if "BinaryValue" in value:
            digest.update(b"\x02" + struct.pack(">I", len(value["BinaryValue"])) + value["BinaryValue"])
        else:
            string = value["StringValue"].encode()
            digest.update(b"\x01" + struct.pack(">I", len(string)) + string)
    return digest.hexdigest()


@pytest.fixture()
def queue(sqs, queue_name):
    return sqs.create_queue(QueueName=queue_name)["QueueUrl"]


def test_send_receive_delete_with_digests(sqs, queue):
    attributes = {
        "color": {"DataType": "String", "StringValue": "blue"},
        "count": {"DataType": "Number", "StringValue": "42"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
    }
    body = "hello ünïcode ✓"
    sent = sqs.send_message(QueueUrl=queue, MessageBody=body, MessageAttributes=attributes,
                            MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-abc"}})
    assert sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    assert sent["MD5OfMessageAttributes"] == attributes_md5(attributes)
    received = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"], **system_attributes(sqs, "All"))["Messages"]
    assert len(received) == 1
    message = received[0]
    assert message["MessageId"] == sent["MessageId"]
    assert message["Body"] == body
    assert message["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert message["MessageAttributes"] == attributes
    assert message["MD5OfMessageAttributes"] == attributes_md5(attributes)
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    assert message["Attributes"]["AWSTraceHeader"] == "Root=1-abc"
    assert int(message["Attributes"]["SentTimestamp"]) <= int(message["Attributes"]["ApproximateFirstReceiveTimestamp"])
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0)


def test_message_attribute_name_selection(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="x", MessageAttributes={
        "order.id": {"DataType": "String", "StringValue": "1"},
        "order.kind": {"DataType": "String", "StringValue": "a"},
        "other": {"DataType": "String", "StringValue": "b"},
    })
    message = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["order.*"])["Messages"][0]
    assert set(message["MessageAttributes"]) == {"order.id", "order.kind"}
    assert message["MD5OfMessageAttributes"] == attributes_md5(message["MessageAttributes"])
    assert "Attributes" not in message


def test_batch_send_reports_each_entry(sqs, queue):
    result = sqs.send_message_batch(QueueUrl=queue, Entries=[
        {"Id": "ok1", "MessageBody": "one"},
        {"Id": "bad", "MessageBody": "two", "DelaySeconds": 901},
        {"Id": "ok2", "MessageBody": "three"},
    ])
    assert sorted(e["Id"] for e in result["Successful"]) == ["ok1", "ok2"]
    assert [e["Id"] for e in result["Failed"]] == ["bad"]
    assert result["Failed"][0]["SenderFault"] is True
    assert result["Failed"][0]["Code"] == "InvalidParameterValue"
    bodies = sorted(m["Body"] for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"])
    assert bodies == ["one", "three"]


def test_batch_errors(sqs, queue):
    with pytest.raises(sqs.exceptions.TooManyEntriesInBatchRequest):
        sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": f"e{i}", "MessageBody": "x"} for i in range(11)])
    with pytest.raises(sqs.exceptions.BatchEntryIdsNotDistinct) as repeated:
        sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}])
    # SQS's words (its message names the id).
    assert repeated.value.response["Error"]["Message"] == "Id a repeated."
    with pytest.raises(sqs.exceptions.InvalidBatchEntryId):
        sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": "no spaces", "MessageBody": "x"}])
    with pytest.raises(sqs.exceptions.BatchRequestTooLong):
        sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": f"e{i}", "MessageBody": "x" * 200_000} for i in range(6)])


def test_limits_on_single_messages(sqs, queue, queue_name):
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=queue, MessageBody="x" * (1_048_576 + 1))
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    small = sqs.create_queue(QueueName=queue_name + "-small", Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    with pytest.raises(ClientError):
        sqs.send_message(QueueUrl=small, MessageBody="x" * 1025)
    with pytest.raises(sqs.exceptions.InvalidMessageContents):
        sqs.send_message(QueueUrl=queue, MessageBody="bad \x01 char")
    with pytest.raises(ClientError) as info:
        sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=11)
    assert "Must be between 1 and 10" in info.value.response["Error"]["Message"]
    # Nothing was stored by the refused sends.
    assert "Messages" not in sqs.receive_message(QueueUrl=queue)


def test_delay_seconds_hides_message_until_due(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="later", DelaySeconds=1)
    assert "Messages" not in sqs.receive_message(QueueUrl=queue)
    started = time.time()
    message = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=5)["Messages"][0]
    assert message["Body"] == "later"
    assert time.time() - started < 3


def test_visibility_timeout_expiry_redelivers(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="again")
    first = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=1)["Messages"][0]
    assert "Messages" not in sqs.receive_message(QueueUrl=queue)
    second = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=5, **system_attributes(sqs, "ApproximateReceiveCount"))["Messages"][0]
    assert second["MessageId"] == first["MessageId"]
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    assert second["ReceiptHandle"] != first["ReceiptHandle"]


def test_stale_receipt_handle_never_deletes_a_newer_receive(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="keep me")
    first = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0)["Messages"][0]
    second = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0)["Messages"][0]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=first["ReceiptHandle"])  # succeeds, deletes nothing
    third = sqs.receive_message(QueueUrl=queue)["Messages"][0]
    assert third["MessageId"] == first["MessageId"]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=second["ReceiptHandle"])  # also stale now
    assert sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1"
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=third["ReceiptHandle"])
    assert sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_malformed_receipt_handle(sqs, queue):
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=queue, ReceiptHandle="garbage")


def test_change_visibility_and_batches(sqs, queue):
    sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(3)])
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    assert len(messages) == 3
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=messages[0]["ReceiptHandle"], VisibilityTimeout=0)
    again = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert [m["MessageId"] for m in again] == [messages[0]["MessageId"]]
    result = sqs.change_message_visibility_batch(QueueUrl=queue, Entries=[
        {"Id": "a", "ReceiptHandle": messages[1]["ReceiptHandle"], "VisibilityTimeout": 0},
        {"Id": "b", "ReceiptHandle": "garbage", "VisibilityTimeout": 0},
    ])
    assert [e["Id"] for e in result["Successful"]] == ["a"]
    assert result["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    handles = [again[0]["ReceiptHandle"], messages[2]["ReceiptHandle"]]
    deleted = sqs.delete_message_batch(QueueUrl=queue, Entries=[{"Id": f"d{i}", "ReceiptHandle": h} for i, h in enumerate(handles)])
    assert sorted(e["Id"] for e in deleted["Successful"]) == ["d0", "d1"]
    remaining = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert [m["MessageId"] for m in remaining] == [messages[1]["MessageId"]]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=remaining[0]["ReceiptHandle"])
    with pytest.raises(ClientError) as info:
        sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=remaining[0]["ReceiptHandle"], VisibilityTimeout=5)
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_long_poll_wakes_when_a_message_arrives(sqs, queue):
    def send_later():
        time.sleep(0.7)
        sqs.send_message(QueueUrl=queue, MessageBody="wake up")

    sender = threading.Thread(target=send_later)
    started = time.time()
    sender.start()
    response = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=15)
    elapsed = time.time() - started
    sender.join()
    assert response["Messages"][0]["Body"] == "wake up"
    assert 0.5 < elapsed < 5


def test_long_poll_returns_empty_after_wait(sqs, queue):
    started = time.time()
    response = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)
    elapsed = time.time() - started
    assert "Messages" not in response
    assert 0.9 < elapsed < 3


def test_queue_default_wait_time_applies(sqs, queue):
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"ReceiveMessageWaitTimeSeconds": "1"})
    started = time.time()
    assert "Messages" not in sqs.receive_message(QueueUrl=queue)
    assert time.time() - started > 0.9
