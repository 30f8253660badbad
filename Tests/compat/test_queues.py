"""Queue lifecycle through boto3, as a user drives it."""
import time

import pytest
from botocore.exceptions import ClientError


def test_create_get_list_delete(sqs, queue_name, server):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    assert url == f"{server.endpoint}/000000000000/{queue_name}"
    assert sqs.get_queue_url(QueueName=queue_name)["QueueUrl"] == url
    assert url in sqs.list_queues(QueueNamePrefix=queue_name)["QueueUrls"]
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=queue_name)


def test_unknown_queue_raises_modelled_exception(sqs):
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as info:
        sqs.send_message(QueueUrl="http://127.0.0.1:1/000000000000/missing", MessageBody="x")
    assert info.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert info.value.response["Error"]["QueryErrorCode"] == "QueueDoesNotExist"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert info.value.response["ResponseMetadata"]["RequestId"]


def test_create_is_idempotent_for_identical_attributes(sqs, queue_name):
    first = sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "45"})["QueueUrl"]
    again = sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "45"})["QueueUrl"]
    assert first == again
    with pytest.raises(sqs.exceptions.QueueNameExists):
        sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "46"})


def test_recreating_a_deleted_name_within_60_seconds_is_refused(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDeletedRecently):
        sqs.create_queue(QueueName=queue_name)


def test_invalid_names_and_attributes_are_rejected(sqs, queue_name):
    with pytest.raises(ClientError) as info:
        sqs.create_queue(QueueName="bad name!")
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(sqs.exceptions.InvalidAttributeName):
        sqs.create_queue(QueueName=queue_name, Attributes={"NoSuchThing": "1"})
    with pytest.raises(sqs.exceptions.InvalidAttributeValue):
        sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "43201"})
    with pytest.raises(sqs.exceptions.InvalidAttributeName):
        sqs.create_queue(QueueName=queue_name, Attributes={"ContentBasedDeduplication": "true"})


def test_list_queues_prefix_and_pagination(sqs):
    prefix = f"page-{int(time.time() * 1000)}"
    urls = sorted(sqs.create_queue(QueueName=f"{prefix}-{i:02d}")["QueueUrl"] for i in range(7))
    seen = []
    kwargs = {"QueueNamePrefix": prefix, "MaxResults": 3}
    while True:
        page = sqs.list_queues(**kwargs)
        seen += page.get("QueueUrls", [])
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert seen == urls
    paginator = sqs.get_paginator("list_queues")
    assert [u for p in paginator.paginate(QueueNamePrefix=prefix, PaginationConfig={"PageSize": 2}) for u in p["QueueUrls"]] == urls


def test_attributes_round_trip(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name, Attributes={"DelaySeconds": "5", "MessageRetentionPeriod": "120"})["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["DelaySeconds"] == "5"
    assert attrs["MessageRetentionPeriod"] == "120"
    assert attrs["VisibilityTimeout"] == "30"
    assert attrs["MaximumMessageSize"] == "1048576"
    assert attrs["QueueArn"] == f"arn:aws:sqs:us-east-1:000000000000:{queue_name}"
    assert attrs["ApproximateNumberOfMessages"] == "0"
    assert int(attrs["CreatedTimestamp"]) <= int(time.time()) + 1
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "10", "ReceiveMessageWaitTimeSeconds": "2"})
    only = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout", "ReceiveMessageWaitTimeSeconds"])["Attributes"]
    assert only == {"VisibilityTimeout": "10", "ReceiveMessageWaitTimeSeconds": "2"}
    with pytest.raises(sqs.exceptions.InvalidAttributeName):
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Bogus"])


def test_approximate_counts(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="visible")
    sqs.send_message(QueueUrl=url, MessageBody="in flight")
    sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=60)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "1"
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "1"
    assert attrs["ApproximateNumberOfMessagesDelayed"] == "1"


def test_tags(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name, tags={"team": "a"})["QueueUrl"]
    sqs.tag_queue(QueueUrl=url, Tags={"env": "dev", "team": "b"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "b", "env": "dev"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["team"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "dev"}


def test_purge_removes_messages_and_is_limited_to_once_a_minute(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    sqs.purge_queue(QueueUrl=url)
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    with pytest.raises(sqs.exceptions.PurgeQueueInProgress):
        sqs.purge_queue(QueueUrl=url)
