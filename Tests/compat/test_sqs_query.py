"""SQS's query protocol as AWS serves it (the SQS API Reference, "Making query API requests", and botocore's query
model of SQS): form-encoded POSTs to `/` or to a queue's URL, GETs with the parameters in the query string and signed
in it, flattened lists and maps, XML answers in the 2012-11-05 namespace with ResponseMetadata/RequestId, and errors
as <ErrorResponse> with the legacy codes. The JSON protocol keeps working beside it, on a queue's URL too."""
import hashlib
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import SpoolProcess, make_client
from sqs_query import query_client

NS = {"sqs": "http://queue.amazonaws.com/doc/2012-11-05/"}
KEY, SECRET = "AKIASPOOLQUERY01", "query/secret+key"


@pytest.fixture()
def query(server):
    return query_client(server.endpoint)


def name():
    return f"qq-{uuid.uuid4().hex[:10]}"


def raw(method, url, form=None, headers=None):
    """A request as a hand-written client sends it; answers (status, headers, parsed XML root)."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, ET.fromstring(response.read())
    except urllib.error.HTTPError as failure:
        return failure.code, failure.headers, ET.fromstring(failure.read())


def error_of(root):
    """(Type, Code, Message) of an <ErrorResponse>, checking its shape on the way."""
    assert root.tag == "{%s}ErrorResponse" % NS["sqs"]
    error = root.find("sqs:Error", NS)
    assert error.find("sqs:Detail", NS) is not None
    assert root.find("sqs:RequestId", NS).text
    return error.find("sqs:Type", NS).text, error.find("sqs:Code", NS).text, error.find("sqs:Message", NS).text


def test_a_query_client_runs_the_queue_lifecycle(query):
    url = query.create_queue(QueueName=name(), Attributes={"VisibilityTimeout": "45", "DelaySeconds": "0"},
                             tags={"team": "payments", "tier": "1"})["QueueUrl"]
    assert url.endswith("/000000000000/" + url.rsplit("/", 1)[1])
    assert query.get_queue_url(QueueName=url.rsplit("/", 1)[1])["QueueUrl"] == url
    assert url in query.list_queues(QueueNamePrefix="qq-")["QueueUrls"]
    attributes = query.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout", "QueueArn"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "45" and attributes["QueueArn"].startswith("arn:aws:sqs:")
    query.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "60", "MaximumMessageSize": "2048"})
    attributes = query.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "60" and attributes["MaximumMessageSize"] == "2048"
    assert query.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "payments", "tier": "1"}
    query.tag_queue(QueueUrl=url, Tags={"env": "test"})
    query.untag_queue(QueueUrl=url, TagKeys=["tier"])
    assert query.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "payments", "env": "test"}
    query.add_permission(QueueUrl=url, Label="share", AWSAccountIds=["111122223333"], Actions=["SendMessage", "ReceiveMessage"])
    policy = query.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    assert '"Sid":"share"' in policy.replace(" ", "")
    query.remove_permission(QueueUrl=url, Label="share")
    query.purge_queue(QueueUrl=url)
    query.delete_queue(QueueUrl=url)
    with pytest.raises(query.exceptions.QueueDoesNotExist):
        query.get_queue_url(QueueName=url.rsplit("/", 1)[1])


def test_messages_round_trip_with_attributes_and_batches_over_the_query_protocol(query, sqs):
    url = query.create_queue(QueueName=name())["QueueUrl"]
    body = "line one\r\nline two & <three> \"four\" ünïcödé ✓"
    sent = query.send_message(QueueUrl=url, MessageBody=body, MessageAttributes={
        "count": {"DataType": "Number", "StringValue": "12"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xfe"},
        "label": {"DataType": "String.custom", "StringValue": "a b"},
    })
    assert sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    batch = query.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "ok", "MessageBody": "second"},
        {"Id": "late", "MessageBody": "third", "DelaySeconds": 901},
    ])
    assert [entry["Id"] for entry in batch["Successful"]] == ["ok"]
    assert batch["Failed"] == [{"Id": "late", "SenderFault": True, "Code": "InvalidParameterValue",
                                "Message": batch["Failed"][0]["Message"]}]
    received = query.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"],
                                     MessageAttributeNames=["All"], WaitTimeSeconds=1)["Messages"]
    by_body = {message["Body"]: message for message in received}
    assert set(by_body) == {body, "second"}
    first = by_body[body]
    assert first["MessageId"] == sent["MessageId"] and first["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert first["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert first["MessageAttributes"] == {
        "count": {"DataType": "Number", "StringValue": "12"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xfe"},
        "label": {"DataType": "String.custom", "StringValue": "a b"},
    }
    assert first["Attributes"]["ApproximateReceiveCount"] == "1" and "SentTimestamp" in first["Attributes"]
    query.change_message_visibility(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=120)
    changed = query.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "a", "ReceiptHandle": by_body["second"]["ReceiptHandle"], "VisibilityTimeout": 0},
        {"Id": "b", "ReceiptHandle": "not-a-receipt", "VisibilityTimeout": 0},
    ])
    assert [entry["Id"] for entry in changed["Successful"]] == ["a"]
    assert changed["Failed"][0]["Id"] == "b" and changed["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    # The message made visible again is there for a JSON client too: one queue, two protocols.
    again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert [message["Body"] for message in again] == ["second"]
    query.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    deleted = query.delete_message_batch(QueueUrl=url, Entries=[{"Id": "x", "ReceiptHandle": again[0]["ReceiptHandle"]}])
    assert deleted["Successful"] == [{"Id": "x"}] and "Failed" not in deleted
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                                                    "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    assert counts == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


def test_fifo_system_attributes_and_sequence_numbers_over_the_query_protocol(query):
    url = query.create_queue(QueueName=name() + ".fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sent = query.send_message(QueueUrl=url, MessageBody="m1", MessageGroupId="g", MessageDeduplicationId="d1")
    assert len(sent["SequenceNumber"]) == 20
    batch = query.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "2", "MessageBody": "m2", "MessageGroupId": "g", "MessageDeduplicationId": "d2"},
    ])
    assert int(batch["Successful"][0]["SequenceNumber"]) > int(sent["SequenceNumber"])
    messages = query.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["MessageGroupId", "SequenceNumber"])["Messages"]
    assert [(m["Body"], m["Attributes"]["MessageGroupId"]) for m in messages] == [("m1", "g"), ("m2", "g")]
    assert messages[0]["Attributes"]["SequenceNumber"] == sent["SequenceNumber"]


def test_errors_carry_the_legacy_codes_and_modelled_exceptions(query):
    with pytest.raises(query.exceptions.QueueDoesNotExist) as failure:
        query.get_queue_url(QueueName="no-such-queue-" + uuid.uuid4().hex[:6])
    response = failure.value.response
    assert response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert response["Error"]["Type"] == "Sender"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["ResponseMetadata"]["RequestId"] == response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    url = query.create_queue(QueueName=name(), Attributes={"VisibilityTimeout": "10"})["QueueUrl"]
    with pytest.raises(query.exceptions.QueueNameExists) as failure:
        query.create_queue(QueueName=url.rsplit("/", 1)[1], Attributes={"VisibilityTimeout": "20"})
    assert failure.value.response["Error"]["Code"] == "QueueAlreadyExists"
    with pytest.raises(query.exceptions.TooManyEntriesInBatchRequest) as failure:
        query.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(11)])
    assert failure.value.response["Error"]["Code"] == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    with pytest.raises(ClientError) as failure:
        query.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    assert failure.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as failure:
        query.delete_message(QueueUrl=url, ReceiptHandle="garbage")
    assert failure.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"


def test_a_form_post_to_the_root_and_to_a_queue_url_answers_in_aws_xml(server):
    queue = name()
    status, headers, root = raw("POST", server.endpoint + "/", {
        "Action": "CreateQueue", "Version": "2012-11-05", "QueueName": queue,
        "Attribute.1.Name": "DelaySeconds", "Attribute.1.Value": "0", "Tag.1.Key": "k", "Tag.1.Value": "v w",
    })
    assert status == 200 and headers["Content-Type"].startswith("text/xml")
    assert root.tag == "{%s}CreateQueueResponse" % NS["sqs"]
    url = root.find("sqs:CreateQueueResult/sqs:QueueUrl", NS).text
    assert root.find("sqs:ResponseMetadata/sqs:RequestId", NS).text == headers["x-amzn-RequestId"]
    # To the queue's URL, without QueueUrl: the path names the queue.
    status, _, root = raw("POST", url, {
        "Action": "SendMessage", "MessageBody": "posted to the queue's URL",
        "MessageAttribute.1.Name": "kind", "MessageAttribute.1.Value.DataType": "String",
        "MessageAttribute.1.Value.StringValue": "form",
    })
    assert status == 200
    result = root.find("sqs:SendMessageResult", NS)
    assert result.find("sqs:MD5OfMessageBody", NS).text == hashlib.md5(b"posted to the queue's URL").hexdigest()
    status, _, root = raw("GET", url + "?" + urllib.parse.urlencode({
        "Action": "ReceiveMessage", "AttributeName.1": "All", "MessageAttributeName.1": "kind", "WaitTimeSeconds": "1"}))
    message = root.find("sqs:ReceiveMessageResult/sqs:Message", NS)
    assert message.find("sqs:Body", NS).text == "posted to the queue's URL"
    attribute = message.find("sqs:MessageAttribute", NS)
    assert attribute.find("sqs:Name", NS).text == "kind"
    assert attribute.find("sqs:Value/sqs:StringValue", NS).text == "form"
    assert attribute.find("sqs:Value/sqs:DataType", NS).text == "String"
    names = {a.find("sqs:Name", NS).text for a in message.findall("sqs:Attribute", NS)}
    assert {"SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"} <= names
    # An action without output answers with ResponseMetadata only.
    status, _, root = raw("POST", url, {"Action": "DeleteMessage", "ReceiptHandle": message.find("sqs:ReceiptHandle", NS).text})
    assert status == 200 and root.tag == "{%s}DeleteMessageResponse" % NS["sqs"]
    assert root.find("sqs:DeleteMessageResult", NS) is None and root.find("sqs:ResponseMetadata/sqs:RequestId", NS) is not None
    status, _, root = raw("GET", url + "?Action=ListQueueTags")
    tags = {t.find("sqs:Key", NS).text: t.find("sqs:Value", NS).text for t in root.findall("sqs:ListQueueTagsResult/sqs:Tag", NS)}
    assert tags == {"k": "v w"}


def test_unknown_missing_and_malformed_actions_answer_as_aws(server):
    status, _, root = raw("POST", server.endpoint + "/", {"Action": "FlyToTheMoon", "Version": "2012-11-05"})
    assert status == 400 and error_of(root)[:2] == ("Sender", "InvalidAction")
    assert "FlyToTheMoon" in error_of(root)[2]
    status, _, root = raw("POST", server.endpoint + "/", {"Version": "2012-11-05"})
    assert status == 400 and error_of(root)[:2] == ("Sender", "MissingAction")
    status, _, root = raw("GET", server.endpoint + "/?Action=CreateQueue")
    assert status == 400 and error_of(root)[1] == "MissingParameter" and "QueueName" in error_of(root)[2]
    status, _, root = raw("GET", server.endpoint + "/000000000000/absent-queue?Action=GetQueueAttributes")
    assert status == 400 and error_of(root)[1] == "AWS.SimpleQueueService.NonExistentQueue"
    url = make_client(server.endpoint).create_queue(QueueName=name())["QueueUrl"]
    status, _, root = raw("GET", url + "?Action=ReceiveMessage&MaxNumberOfMessages=ten")
    assert status == 400 and error_of(root)[1] == "InvalidParameterValue"


def test_a_json_client_whose_endpoint_is_a_queue_url_works(server):
    url = make_client(server.endpoint).create_queue(QueueName=name())["QueueUrl"]
    at_url = make_client(url)
    at_url.send_message(QueueUrl=url, MessageBody="json to a queue URL")
    messages = at_url.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert messages[0]["Body"] == "json to a queue URL"
    assert messages[0]["MD5OfBody"] == hashlib.md5(b"json to a queue URL").hexdigest()


@pytest.fixture(scope="module")
def secured(binary, tmp_path_factory):
    process = SpoolProcess(binary, tmp_path_factory.mktemp("query-auth") / "data",
                           extra_env={"SPOOL_AUTH_CREDENTIALS": f"{KEY}:{SECRET}"})
    process.start()
    yield process
    process.stop()


def test_signed_query_requests_are_verified(secured):
    signed = query_client(secured.endpoint, key=KEY, secret=SECRET)
    url = signed.create_queue(QueueName=name())["QueueUrl"]
    signed.send_message(QueueUrl=url, MessageBody="signed form post")
    assert signed.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "signed form post"
    with pytest.raises(ClientError) as failure:
        query_client(secured.endpoint, key=KEY, secret="wrong").list_queues()
    assert failure.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert failure.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # A GET with the signature in its query string (X-Amz-Signature), as SigV4 query signing makes it.
    credentials = Credentials(KEY, SECRET)
    get = AWSRequest(method="GET", url=url + "?" + urllib.parse.urlencode({"Action": "GetQueueAttributes", "AttributeName.1": "QueueArn"}))
    SigV4QueryAuth(credentials, "sqs", "us-east-1", expires=300).add_auth(get)
    status, _, root = raw("GET", get.url)
    assert status == 200
    assert root.find("sqs:GetQueueAttributesResult/sqs:Attribute/sqs:Name", NS).text == "QueueArn"
    tampered = get.url.replace("QueueArn", "VisibilityTimeout")
    status, _, root = raw("GET", tampered)
    assert status == 403 and error_of(root)[1] == "SignatureDoesNotMatch"
    # A form POST signed in its headers, as a hand-written client signs it.
    post = AWSRequest(method="POST", url=secured.endpoint + "/", data=urllib.parse.urlencode(
        {"Action": "SendMessage", "QueueUrl": url, "MessageBody": "hand signed"}),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(credentials, "sqs", "us-east-1").add_auth(post)
    request = urllib.request.Request(post.url, data=post.body, method="POST", headers=dict(post.headers.items()))
    with urllib.request.urlopen(request, timeout=30) as response:
        root = ET.fromstring(response.read())
    assert root.find("sqs:SendMessageResult/sqs:MessageId", NS).text
    # Unsigned: refused in the query protocol's own shape.
    status, _, root = raw("GET", url + "?Action=ListQueues")
    assert status == 403 and error_of(root)[1] == "MissingAuthenticationToken"


def test_dead_letter_sources_and_move_tasks_over_the_query_protocol(query):
    base = name()
    dlq = query.create_queue(QueueName=base + "-dlq")["QueueUrl"]
    dlq_arn = query.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = query.create_queue(QueueName=base, Attributes={
        "RedrivePolicy": '{"deadLetterTargetArn":"%s","maxReceiveCount":"1"}' % dlq_arn})["QueueUrl"]
    assert query.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [source]
    for i in range(4):
        query.send_message(QueueUrl=source, MessageBody=f"m{i}")
    moved_to_dlq = 0
    for _ in range(20):
        query.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=0)
        moved_to_dlq = int(query.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
                           ["Attributes"]["ApproximateNumberOfMessages"])
        if moved_to_dlq == 4:
            break
    assert moved_to_dlq == 4
    handle = query.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    task = query.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]
    assert task["Status"] == "RUNNING" and task["TaskHandle"] == handle and task["MaxNumberOfMessagesPerSecond"] == 1
    assert isinstance(task["StartedTimestamp"], int)
    cancelled = query.cancel_message_move_task(TaskHandle=handle)
    assert 0 <= cancelled["ApproximateNumberOfMessagesMoved"] <= 4
    assert query.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]["Status"] == "CANCELLED"
