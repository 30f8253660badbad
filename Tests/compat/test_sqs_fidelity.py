"""SQS answers as AWS answers (the SQS Developer Guide and the API Reference), where Spool used to differ: FIFO delay
0, FIFO batches missing identifiers, purges and deduplication, FifoQueue on an existing FIFO queue, a queue name in
place of a URL, empty Failed lists, server-side encryption attributes — each over both protocols."""
import json
import uuid

import pytest
from botocore.exceptions import ClientError

from sqs_query import system_attributes



@pytest.fixture()
def sqs(sqs_both_protocols):
    """Every check runs over both of SQS's protocols."""
    return sqs_both_protocols


def system_attributes(sqs, *names):
    """The system attributes to receive, as each protocol's model names them (the query model predates
    MessageSystemAttributeNames and has AttributeNames)."""
    key = "AttributeNames" if sqs.meta.service_model.protocol == "query" else "MessageSystemAttributeNames"
    return {key: list(names)}


def fifo(sqs, **attributes):
    name = f"f-{uuid.uuid4().hex[:10]}.fifo"
    return sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true", **attributes})["QueueUrl"]


def error(failure):
    return failure.value.response["Error"]["Code"], failure.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_a_fifo_message_with_delay_seconds_0_is_accepted_and_any_other_delay_refused(sqs):
    url = fifo(sqs, ContentBasedDeduplication="true")
    assert sqs.send_message(QueueUrl=url, MessageBody="now", MessageGroupId="g", DelaySeconds=0)["MessageId"]
    with pytest.raises(ClientError) as failure:
        sqs.send_message(QueueUrl=url, MessageBody="later", MessageGroupId="g", DelaySeconds=5)
    assert error(failure) == ("InvalidParameterValue", 400)


def test_a_fifo_batch_with_an_entry_missing_its_group_id_fails_the_whole_request(sqs):
    url = fifo(sqs, ContentBasedDeduplication="true")
    with pytest.raises(ClientError) as failure:
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "a", "MessageGroupId": "g"},
                                                      {"Id": "2", "MessageBody": "b"}])
    assert error(failure) == ("MissingParameter", 400)
    assert "MessageGroupId" in failure.value.response["Error"]["Message"]
    # Nothing of the request was stored.
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []) == []


def test_a_fifo_batch_entry_without_deduplication_id_fails_the_request_when_content_deduplication_is_off(sqs):
    url = fifo(sqs)
    with pytest.raises(ClientError) as failure:
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "1", "MessageBody": "a", "MessageGroupId": "g", "MessageDeduplicationId": "d1"},
            {"Id": "2", "MessageBody": "b", "MessageGroupId": "g"}])
    assert error(failure) == ("InvalidParameterValue", 400)
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []) == []


def test_a_purge_clears_the_deduplication_window(sqs):
    url = fifo(sqs, ContentBasedDeduplication="true")
    sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    sqs.purge_queue(QueueUrl=url)
    resent = sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")["MessageId"]
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["MessageId"] for m in received] == [resent]


def test_fifo_queue_true_on_an_existing_fifo_queue_changes_nothing(sqs):
    url = fifo(sqs)
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoQueue": "true"})
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["FifoQueue"])["Attributes"] == {"FifoQueue": "true"}


def test_a_queue_name_is_accepted_where_a_queue_url_is_expected(sqs, queue_name):
    sqs.create_queue(QueueName=queue_name)
    sqs.send_message(QueueUrl=queue_name, MessageBody="by name")
    messages = sqs.receive_message(QueueUrl=queue_name)["Messages"]
    assert [m["Body"] for m in messages] == ["by name"]
    sqs.delete_message(QueueUrl=queue_name, ReceiptHandle=messages[0]["ReceiptHandle"])
    with pytest.raises(ClientError) as failure:
        sqs.send_message(QueueUrl="no-such-queue-" + uuid.uuid4().hex[:6], MessageBody="x")
    assert error(failure)[0] in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


def test_batch_answers_leave_out_an_empty_failed_list(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    sent = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "a"}])
    assert "Failed" not in sent and len(sent["Successful"]) == 1
    message = sqs.receive_message(QueueUrl=url)["Messages"][0]
    changed = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "1", "ReceiptHandle": message["ReceiptHandle"], "VisibilityTimeout": 10}])
    assert "Failed" not in changed
    deleted = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "1", "ReceiptHandle": message["ReceiptHandle"]}])
    assert "Failed" not in deleted and deleted["Successful"] == [{"Id": "1"}]
    # A failing entry is still reported.
    failing = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "x", "ReceiptHandle": "garbage"}])
    assert [f["Id"] for f in failing["Failed"]] == ["x"]


def test_sse_sqs_is_on_by_default_and_kms_settings_are_kept(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["SqsManagedSseEnabled"])["Attributes"] == {"SqsManagedSseEnabled": "true"}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"SqsManagedSseEnabled": "false"})
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["SqsManagedSseEnabled"])["Attributes"] == {"SqsManagedSseEnabled": "false"}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"KmsMasterKeyId": "alias/aws/sqs", "KmsDataKeyReusePeriodSeconds": "600"})
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["KmsMasterKeyId"] == "alias/aws/sqs" and attributes["KmsDataKeyReusePeriodSeconds"] == "600"
    assert attributes["SqsManagedSseEnabled"] == "false"
    with pytest.raises(ClientError) as failure:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"KmsDataKeyReusePeriodSeconds": "30"})
    assert error(failure) == ("InvalidAttributeValue", 400)
    with pytest.raises(ClientError) as failure:
        sqs.create_queue(QueueName=queue_name + "-both", Attributes={"SqsManagedSseEnabled": "true", "KmsMasterKeyId": "alias/k"})
    assert error(failure) == ("InvalidAttributeValue", 400)
    # Messages go and come back as ever: Spool does not encrypt what it stores (docs/security.md).
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"secret": 1}))
    assert json.loads(sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"]) == {"secret": 1}


def test_a_fifo_receive_returns_one_groups_messages_together_before_the_next_group(sqs):
    url = fifo(sqs, ContentBasedDeduplication="true")
    for body, group in [("g1-m1", "g1"), ("g2-m1", "g2"), ("g1-m2", "g1"), ("g1-m3", "g1")]:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in received] == ["g1-m1", "g1-m2", "g1-m3", "g2-m1"]


def test_a_fifo_message_whose_visibility_ends_is_received_again_first_while_later_ones_stay_in_flight(sqs):
    url = fifo(sqs, ContentBasedDeduplication="true")
    for body in ("m1", "m2", "m3"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
    first, second = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=60)["Messages"]
    assert (first["Body"], second["Body"]) == ("m1", "m2")
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in again] == ["m1"]


def test_receipts_of_a_standard_queue_after_the_visibility_ran_out(sqs, queue_name):
    import time
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    first = sqs.receive_message(QueueUrl=url, VisibilityTimeout=1)["Messages"][0]
    time.sleep(1.3)
    # Nobody received it again: the receipt still changes its visibility.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0)
    second = sqs.receive_message(QueueUrl=url, VisibilityTimeout=60)["Messages"][0]
    assert second["MessageId"] == first["MessageId"]
    # Received again: the first receipt answers success for both calls and touches nothing of the new holder's.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1" and attributes["ApproximateNumberOfMessages"] == "0"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"])
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_a_fifo_receipt_whose_visibility_expired_is_refused(sqs):
    import time
    url = fifo(sqs, ContentBasedDeduplication="true")
    sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g")
    message = sqs.receive_message(QueueUrl=url, VisibilityTimeout=1)["Messages"][0]
    time.sleep(1.3)
    with pytest.raises(ClientError) as failure:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=30)
    assert error(failure) == ("InvalidParameterValue", 400)


def test_a_long_poll_on_a_queue_deleted_during_the_wait_ends_at_once_with_the_error(sqs, server, queue_name):
    import threading
    import time
    from conftest import make_client
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    outcome = {}

    def poll():
        started = time.time()
        try:
            make_client(server.endpoint).receive_message(QueueUrl=url, WaitTimeSeconds=20)
            outcome["answer"] = "messages"
        except ClientError as failure:
            outcome["answer"] = failure.response["Error"]["Code"]
        outcome["seconds"] = time.time() - started

    waiter = threading.Thread(target=poll)
    waiter.start()
    time.sleep(1)
    sqs.delete_queue(QueueUrl=url)
    waiter.join(timeout=25)
    assert outcome["answer"] in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
    assert outcome["seconds"] < 5


def test_a_message_takes_its_aws_trace_header_from_the_request(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

    def add_header(request, **_):
        request.headers["X-Amzn-Trace-Id"] = trace

    sqs.meta.events.register("before-sign.sqs.SendMessage", add_header)
    try:
        sqs.send_message(QueueUrl=url, MessageBody="traced")
    finally:
        sqs.meta.events.unregister("before-sign.sqs.SendMessage", add_header)
    own = "Root=1-00000000-000000000000000000000000"
    sqs.send_message(QueueUrl=url, MessageBody="own", MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": own}})
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, **system_attributes(sqs, "AWSTraceHeader"))["Messages"]
    headers = {m["Body"]: m.get("Attributes", {}).get("AWSTraceHeader") for m in messages}
    assert headers == {"traced": trace, "own": own}


def test_move_task_handles_have_aws_form_and_an_invalid_one_is_a_bad_parameter(sqs, queue_name):
    import base64
    dlq = sqs.create_queue(QueueName=queue_name + "-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.create_queue(QueueName=queue_name, Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})})
    sqs.send_message(QueueUrl=dlq, MessageBody="stuck", MessageAttributes={})
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=sqs.get_queue_attributes(
        QueueUrl=sqs.get_queue_url(QueueName=queue_name)["QueueUrl"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"],
        MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    decoded = json.loads(base64.b64decode(handle))
    assert decoded["sourceArn"] == dlq_arn and decoded["taskId"]
    with pytest.raises(ClientError) as failure:
        sqs.cancel_message_move_task(TaskHandle="not-a-handle")
    assert error(failure) == ("InvalidParameterValue", 400)


def test_fifo_sequence_numbers_are_large_rising_and_not_consecutive(sqs):
    url = fifo(sqs, ContentBasedDeduplication="true")
    numbers = [int(sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g")["SequenceNumber"]) for i in range(3)]
    assert all(len(str(n)) >= 20 for n in numbers)
    assert numbers == sorted(numbers) and numbers[1] - numbers[0] > 1
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, **system_attributes(sqs, "SequenceNumber"))["Messages"]
    assert [int(m["Attributes"]["SequenceNumber"]) for m in received] == numbers


def test_add_and_remove_permission_edit_the_queue_policy_as_sqs_does(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert "Policy" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    sqs.add_permission(QueueUrl=url, Label="partners", AWSAccountIds=["111122223333"], Actions=["SendMessage", "ReceiveMessage"])
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    [statement] = policy["Statement"]
    assert statement["Sid"] == "partners" and statement["Effect"] == "Allow" and statement["Resource"] == arn
    assert statement["Principal"] == {"AWS": ["arn:aws:iam::111122223333:root"]}
    assert statement["Action"] == ["SQS:SendMessage", "SQS:ReceiveMessage"]
    with pytest.raises(ClientError) as failure:
        sqs.add_permission(QueueUrl=url, Label="partners", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    assert error(failure) == ("InvalidParameterValue", 400)
    with pytest.raises(ClientError) as failure:
        sqs.add_permission(QueueUrl=url, Label="bad", AWSAccountIds=["111122223333"], Actions=["CreateQueue"])
    assert error(failure) == ("InvalidParameterValue", 400)
    sqs.remove_permission(QueueUrl=url, Label="partners")
    assert "Policy" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    with pytest.raises(ClientError) as failure:
        sqs.remove_permission(QueueUrl=url, Label="partners")
    assert error(failure) == ("InvalidParameterValue", 400)


def test_a_policy_is_validated_stored_and_its_unconditional_denies_enforced(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    with pytest.raises(ClientError) as failure:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": "not json"})
    assert error(failure) == ("InvalidAttributeValue", 400)
    deny_send = {"Version": "2012-10-17", "Statement": [
        {"Sid": "nosend", "Effect": "Deny", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}]}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(deny_send)})
    assert json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]) == deny_send
    with pytest.raises(ClientError) as failure:
        sqs.send_message(QueueUrl=url, MessageBody="x")
    assert failure.value.response["Error"]["Code"] == "AccessDenied"
    assert failure.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []  # receiving is not denied
    # A deny with a condition cannot be evaluated against Spool's own credentials: stored, not enforced.
    conditional = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sqs:*",
                                                           "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(conditional)})
    sqs.send_message(QueueUrl=url, MessageBody="allowed")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
    assert "Policy" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def test_message_attribute_names_take_unicode_letters_and_keep_the_other_rules(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    value = {"DataType": "String", "StringValue": "v"}
    sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={"Größe": value, "名前_1.a-b": value})
    message = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"][0]
    assert set(message["MessageAttributes"]) == {"Größe", "名前_1.a-b"}
    assert set(sqs.receive_message(QueueUrl=url, VisibilityTimeout=0, MessageAttributeNames=["Grö.*"]).get("Messages", [{}])[0]
               .get("MessageAttributes", {})) <= {"Größe"}
    for bad in ("has space", "AWS.reserved", ".leading", "trailing.", "two..dots", "emoji😀"):
        with pytest.raises(ClientError) as failure:
            sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={bad: value})
        assert error(failure) == ("InvalidParameterValue", 400), bad


def test_changing_deduplication_scope_applies_to_the_ids_sent_before_the_change(sqs):
    # SetQueueAttributes may change DeduplicationScope of a FIFO queue; the deduplication interval goes on under the
    # new scope: `queue` deduplicates an id across groups, `messageGroup` within its group only.
    url = fifo(sqs, DeduplicationScope="queue", FifoThroughputLimit="perQueue")
    first = sqs.send_message(QueueUrl=url, MessageBody="a", MessageGroupId="g1", MessageDeduplicationId="d")["MessageId"]
    assert sqs.send_message(QueueUrl=url, MessageBody="b", MessageGroupId="g2", MessageDeduplicationId="d")["MessageId"] == first
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DeduplicationScope": "messageGroup"})
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DeduplicationScope"])["Attributes"]["DeduplicationScope"] == "messageGroup"
    in_g2 = sqs.send_message(QueueUrl=url, MessageBody="c", MessageGroupId="g2", MessageDeduplicationId="d")["MessageId"]
    assert in_g2 != first
    assert sqs.send_message(QueueUrl=url, MessageBody="e", MessageGroupId="g1", MessageDeduplicationId="d")["MessageId"] == first
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DeduplicationScope": "queue"})
    assert sqs.send_message(QueueUrl=url, MessageBody="f", MessageGroupId="g3", MessageDeduplicationId="d")["MessageId"] == first
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    assert sorted(bodies) == ["a", "c"]
