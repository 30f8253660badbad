"""Redrive to a dead-letter queue and message move tasks back out of it."""
import base64
import json
import time

import pytest
from botocore.exceptions import ClientError


def arn(name):
    return f"arn:aws:sqs:us-east-1:000000000000:{name}"


def wait_for_task(sqs, source_arn, status="COMPLETED", timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        results = sqs.list_message_move_tasks(SourceArn=source_arn)["Results"]
        if results and results[0]["Status"] == status:
            return results[0]
        time.sleep(0.1)
    raise AssertionError(f"task did not reach {status}: {results}")


@pytest.fixture()
def pair(sqs, queue_name):
    dlq = sqs.create_queue(QueueName=queue_name + "-dlq")["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": arn(queue_name + "-dlq"), "maxReceiveCount": "2"})
    source = sqs.create_queue(QueueName=queue_name, Attributes={"RedrivePolicy": policy})["QueueUrl"]
    return source, dlq


def test_message_moves_to_dlq_after_max_receive_count(sqs, pair, queue_name):
    source, dlq = pair
    sent = sqs.send_message(QueueUrl=source, MessageBody="poison")
    for expected in ("1", "2"):
        message = sqs.receive_message(QueueUrl=source, VisibilityTimeout=0, MessageSystemAttributeNames=["ApproximateReceiveCount"])["Messages"][0]
        assert message["Attributes"]["ApproximateReceiveCount"] == expected
    # The third receive would exceed maxReceiveCount=2: the message goes to the DLQ instead.
    assert "Messages" not in sqs.receive_message(QueueUrl=source)
    dead = sqs.receive_message(QueueUrl=dlq, MessageSystemAttributeNames=["All"])["Messages"][0]
    assert dead["MessageId"] == sent["MessageId"]
    assert dead["Body"] == "poison"
    assert dead["Attributes"]["DeadLetterQueueSourceArn"] == arn(queue_name)
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [source]


def test_redrive_policy_validation(sqs, queue_name):
    with pytest.raises(ClientError) as info:
        sqs.create_queue(QueueName=queue_name, Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn("nope"), "maxReceiveCount": 3})})
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    sqs.create_queue(QueueName=queue_name + "-closed", Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "denyAll"})})
    with pytest.raises(ClientError):
        sqs.create_queue(QueueName=queue_name, Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn(queue_name + "-closed"), "maxReceiveCount": 3})})
    with pytest.raises(sqs.exceptions.InvalidAttributeValue):
        sqs.create_queue(QueueName=queue_name, Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn(queue_name + "-closed"), "maxReceiveCount": 0})})


def exhaust(sqs, source, count):
    for i in range(count):
        sqs.send_message(QueueUrl=source, MessageBody=f"m{i}")
    for _ in range(2):
        got = 0
        while got < count:
            got += len(sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", []))
    assert "Messages" not in sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)


def test_move_task_returns_messages_to_their_original_source(sqs, pair, queue_name):
    source, dlq = pair
    exhaust(sqs, source, 5)
    assert sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"] == "5"
    handle = sqs.start_message_move_task(SourceArn=arn(queue_name + "-dlq"))["TaskHandle"]
    assert handle
    task = wait_for_task(sqs, arn(queue_name + "-dlq"))
    assert task["ApproximateNumberOfMessagesMoved"] == 5
    assert task["ApproximateNumberOfMessagesToMove"] == 5
    assert "DestinationArn" not in task
    assert "TaskHandle" not in task
    bodies = sorted(m["Body"] for m in sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])["Messages"])
    assert bodies == [f"m{i}" for i in range(5)]
    assert "Messages" not in sqs.receive_message(QueueUrl=dlq)


def test_move_task_to_an_explicit_destination(sqs, pair, queue_name):
    source, dlq = pair
    target = sqs.create_queue(QueueName=queue_name + "-target")["QueueUrl"]
    exhaust(sqs, source, 3)
    sqs.start_message_move_task(SourceArn=arn(queue_name + "-dlq"), DestinationArn=arn(queue_name + "-target"))
    task = wait_for_task(sqs, arn(queue_name + "-dlq"))
    assert task["DestinationArn"] == arn(queue_name + "-target")
    assert len(sqs.receive_message(QueueUrl=target, MaxNumberOfMessages=10)["Messages"]) == 3


def test_rate_limited_task_can_be_cancelled(sqs, pair, queue_name):
    source, dlq = pair
    exhaust(sqs, source, 10)
    dlq_arn = arn(queue_name + "-dlq")
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    running = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]
    assert running["Status"] == "RUNNING"
    assert running["TaskHandle"] == handle
    assert running["MaxNumberOfMessagesPerSecond"] == 1
    with pytest.raises(ClientError) as info:
        sqs.start_message_move_task(SourceArn=dlq_arn)
    assert "already a task running" in info.value.response["Error"]["Message"]
    time.sleep(1.2)
    moved = sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]
    assert 1 <= moved <= 3
    assert sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]["Status"] == "CANCELLED"
    remaining = int(sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
    assert remaining == 10 - moved


def test_move_task_errors(sqs, queue_name):
    with pytest.raises(sqs.exceptions.ResourceNotFoundException):
        sqs.start_message_move_task(SourceArn=arn("does-not-exist"))
    sqs.create_queue(QueueName=queue_name)
    with pytest.raises(ClientError) as info:
        sqs.start_message_move_task(SourceArn=arn(queue_name))
    assert "Dead Letter Queue" in info.value.response["Error"]["Message"]
    # A handle of SQS's form naming no task is not found; one not of that form is a bad parameter (test_sqs_fidelity).
    unknown = base64.b64encode(json.dumps({"taskId": "00000000-0000-0000-0000-000000000000", "sourceArn": arn(queue_name)}).encode()).decode()
    with pytest.raises(sqs.exceptions.ResourceNotFoundException):
        sqs.cancel_message_move_task(TaskHandle=unknown)
