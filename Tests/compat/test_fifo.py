"""FIFO queues: group ordering, group locking, deduplication."""
import pytest
from botocore.exceptions import ClientError

from sqs_query import system_attributes


@pytest.fixture()
def sqs(sqs_both_protocols):
    """Every check runs over both of SQS's protocols."""
    return sqs_both_protocols


@pytest.fixture()
def fifo(sqs, queue_name):
    return sqs.create_queue(QueueName=queue_name + ".fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]


def test_fifo_name_and_attribute_must_agree(sqs, queue_name):
    with pytest.raises(ClientError):
        sqs.create_queue(QueueName=queue_name + ".fifo")
    with pytest.raises(ClientError):
        sqs.create_queue(QueueName=queue_name, Attributes={"FifoQueue": "true"})


def test_messages_of_a_group_come_in_order_with_increasing_sequence_numbers(sqs, fifo):
    numbers = []
    for i in range(5):
        sent = sqs.send_message(QueueUrl=fifo, MessageBody=f"m{i}", MessageGroupId="g", MessageDeduplicationId=f"d{i}")
        numbers.append(int(sent["SequenceNumber"]))
        assert len(sent["SequenceNumber"]) == 20
    assert numbers == sorted(numbers) and len(set(numbers)) == 5
    messages = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10, **system_attributes(sqs, "All"))["Messages"]
    assert [m["Body"] for m in messages] == [f"m{i}" for i in range(5)]
    assert messages[0]["Attributes"]["MessageGroupId"] == "g"
    assert messages[0]["Attributes"]["MessageDeduplicationId"] == "d0"


def test_a_group_is_locked_while_a_message_is_in_flight(sqs, fifo):
    for i in range(3):
        sqs.send_message(QueueUrl=fifo, MessageBody=f"a{i}", MessageGroupId="a", MessageDeduplicationId=f"a{i}")
    sqs.send_message(QueueUrl=fifo, MessageBody="b0", MessageGroupId="b", MessageDeduplicationId="b0")
    first = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=1)["Messages"][0]
    assert first["Body"] == "a0"
    # a1 must wait for a0; only the other group is available.
    second = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in second] == ["b0"]
    assert "Messages" not in sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10)
    sqs.delete_message(QueueUrl=fifo, ReceiptHandle=first["ReceiptHandle"])
    third = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=1)["Messages"]
    assert [m["Body"] for m in third] == ["a1"]


def test_a_returned_message_is_delivered_again_before_later_ones(sqs, fifo):
    for i in range(2):
        sqs.send_message(QueueUrl=fifo, MessageBody=f"m{i}", MessageGroupId="g", MessageDeduplicationId=f"m{i}")
    first = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=1)["Messages"][0]
    sqs.change_message_visibility(QueueUrl=fifo, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0)
    again = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in again] == ["m0", "m1"]


def test_explicit_deduplication_returns_the_first_message_id(sqs, fifo):
    one = sqs.send_message(QueueUrl=fifo, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="same")
    two = sqs.send_message(QueueUrl=fifo, MessageBody="y", MessageGroupId="g", MessageDeduplicationId="same")
    assert one["MessageId"] == two["MessageId"]
    assert one["SequenceNumber"] == two["SequenceNumber"]
    messages = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in messages] == ["x"]


def test_content_based_deduplication(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name + ".fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    one = sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g")
    two = sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g")
    three = sqs.send_message(QueueUrl=url, MessageBody="other body", MessageGroupId="g")
    assert one["MessageId"] == two["MessageId"] != three["MessageId"]
    assert len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]) == 2


def test_deduplication_scope_message_group(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name + ".fifo", Attributes={
        "FifoQueue": "true", "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"})["QueueUrl"]
    one = sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g1", MessageDeduplicationId="d")
    two = sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g2", MessageDeduplicationId="d")
    assert one["MessageId"] != two["MessageId"]


def test_fifo_requirements_are_enforced(sqs, fifo):
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=fifo, MessageBody="x", MessageDeduplicationId="d")
    assert info.value.response["Error"]["Code"] == "MissingParameter"
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=fifo, MessageBody="x", MessageGroupId="g")
    assert "ContentBasedDeduplication" in info.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=fifo, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="d", DelaySeconds=5)
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_receive_request_attempt_id_replays_a_lost_answer(sqs, fifo):
    for i in range(2):
        sqs.send_message(QueueUrl=fifo, MessageBody=f"m{i}", MessageGroupId="g", MessageDeduplicationId=f"m{i}")
    first = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10, ReceiveRequestAttemptId="attempt-1")["Messages"]
    retry = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10, ReceiveRequestAttemptId="attempt-1")["Messages"]
    assert [m["ReceiptHandle"] for m in retry] == [m["ReceiptHandle"] for m in first]
    assert "Messages" not in sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10, ReceiveRequestAttemptId="attempt-2")
