"""The Kinesis-compatible stream API through boto3 against a real server: streams, shards by MD5 hash-key range,
PutRecord(s), every shard iterator type, GetRecords paging, retention, and errors in Kinesis's shape."""
import hashlib
import time
import uuid

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import make_client


@pytest.fixture()
def kinesis(server):
    return make_client(server.endpoint, "kinesis")


@pytest.fixture()
def kinesis_unchecked(server):
    import boto3
    return boto3.client("kinesis", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(parameter_validation=False, retries={"max_attempts": 1}))


def new_stream(kinesis, shards=1) -> str:
    name = f"st-{uuid.uuid4().hex[:10]}"
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1})
    return name


def error_of(failure):
    response = failure.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def read_all(kinesis, name, shard, iterator_type="TRIM_HORIZON", **extra):
    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType=iterator_type, **extra)["ShardIterator"]
    records = []
    while True:
        page = kinesis.get_records(ShardIterator=iterator, Limit=3)
        records += page["Records"]
        iterator = page["NextShardIterator"]
        if not page["Records"]:
            return records


def test_streams_are_created_described_listed_and_deleted(kinesis):
    name = new_stream(kinesis, shards=4)
    description = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert description["StreamStatus"] == "ACTIVE" and description["RetentionPeriodHours"] == 24
    assert description["StreamARN"] == f"arn:aws:kinesis:us-east-1:000000000000:stream/{name}"
    shards = description["Shards"]
    assert [shard["ShardId"] for shard in shards] == [f"shardId-00000000000{i}" for i in range(4)]
    # The hash-key space split evenly, as Kinesis splits it.
    assert shards[0]["HashKeyRange"] == {"StartingHashKey": "0", "EndingHashKey": str(2 ** 126 - 1)}
    assert shards[3]["HashKeyRange"] == {"StartingHashKey": str(3 * 2 ** 126), "EndingHashKey": str(2 ** 128 - 1)}
    summary = kinesis.describe_stream_summary(StreamARN=description["StreamARN"])["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 4 and summary["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert name in kinesis.list_streams(Limit=10000)["StreamNames"]
    first = kinesis.list_shards(StreamName=name, MaxResults=3)
    assert len(first["Shards"]) == 3 and first["NextToken"]
    rest = kinesis.list_shards(NextToken=first["NextToken"])
    assert [shard["ShardId"] for shard in rest["Shards"]] == ["shardId-000000000003"] and "NextToken" not in rest
    on_demand = f"od-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=on_demand, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    assert kinesis.describe_stream_summary(StreamName=on_demand)["StreamDescriptionSummary"]["OpenShardCount"] == 4
    kinesis.delete_stream(StreamName=name)
    kinesis.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1})
    assert name not in kinesis.list_streams(Limit=10000)["StreamNames"]
    # The name can be used again at once, for a new, empty stream.
    kinesis.create_stream(StreamName=name, ShardCount=1)
    assert read_all(kinesis, name, "shardId-000000000000") == []


def test_records_go_to_the_shard_of_their_hash_key_in_order(kinesis):
    name = new_stream(kinesis, shards=4)
    quarter = 2 ** 126
    put = []
    for i in range(40):
        key = f"user-{i % 7}"
        response = kinesis.put_record(StreamName=name, Data=f"r{i}".encode(), PartitionKey=key)
        expected = int(hashlib.md5(key.encode()).hexdigest(), 16) // quarter
        assert response["ShardId"] == f"shardId-00000000000{expected}"
        put.append((response["ShardId"], response["SequenceNumber"], f"r{i}", key))
    explicit = kinesis.put_record(StreamName=name, Data=b"explicit", PartitionKey="anything", ExplicitHashKey=str(3 * quarter))
    assert explicit["ShardId"] == "shardId-000000000003"
    for shard in {shard for shard, *_ in put}:
        mine = [(sequence, data, key) for s, sequence, data, key in put if s == shard]
        records = read_all(kinesis, name, shard)
        got = [(r["SequenceNumber"], r["Data"].decode(), r["PartitionKey"]) for r in records if r["Data"] != b"explicit"]
        assert got == mine
        numbers = [int(r["SequenceNumber"]) for r in records]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
        assert all(len(r["SequenceNumber"]) == 56 for r in records)


def test_put_records_answers_per_record_in_request_order(kinesis):
    name = new_stream(kinesis, shards=2)
    entries = [{"Data": f"b{i}".encode(), "PartitionKey": f"k{i}"} for i in range(500)]
    response = kinesis.put_records(StreamName=name, Records=entries)
    assert response["FailedRecordCount"] == 0 and len(response["Records"]) == 500
    by_shard = {}
    for entry, result in zip(entries, response["Records"]):
        by_shard.setdefault(result["ShardId"], []).append((result["SequenceNumber"], entry["Data"]))
    for shard, expected in by_shard.items():
        assert [(r["SequenceNumber"], r["Data"]) for r in read_all(kinesis, name, shard)] == expected


def test_every_shard_iterator_type(kinesis):
    name = new_stream(kinesis)
    shard = "shardId-000000000000"
    numbers = [kinesis.put_record(StreamName=name, Data=f"d{i}".encode(), PartitionKey="p")["SequenceNumber"] for i in range(5)]
    data = lambda records: [r["Data"].decode() for r in records]
    assert data(read_all(kinesis, name, shard)) == [f"d{i}" for i in range(5)]
    assert data(read_all(kinesis, name, shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=numbers[2])) == ["d2", "d3", "d4"]
    assert data(read_all(kinesis, name, shard, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=numbers[2])) == ["d3", "d4"]
    latest = kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    assert kinesis.get_records(ShardIterator=latest)["Records"] == []
    # botocore sends Timestamp in whole seconds: leave more than a second on each side.
    time.sleep(1.1)
    middle = time.time()
    time.sleep(1.0)
    kinesis.put_record(StreamName=name, Data=b"after", PartitionKey="p")
    page = kinesis.get_records(ShardIterator=latest)
    assert data(page["Records"]) == ["after"] and page["MillisBehindLatest"] == 0
    assert data(read_all(kinesis, name, shard, "AT_TIMESTAMP", Timestamp=middle)) == ["after"]
    # A reader that is behind is told by how much.
    behind = kinesis.get_records(ShardIterator=kinesis.get_shard_iterator(
        StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"], Limit=1)
    assert behind["MillisBehindLatest"] > 0


def test_errors_have_kinesis_codes_and_messages(kinesis, kinesis_unchecked):
    name = new_stream(kinesis)
    with pytest.raises(ClientError) as failure:
        kinesis.describe_stream(StreamName="no-such-stream")
    assert error_of(failure) == ("ResourceNotFoundException", 400, "Stream no-such-stream under account 000000000000 not found.")
    with pytest.raises(kinesis.exceptions.ResourceInUseException):
        kinesis.create_stream(StreamName=name, ShardCount=1)
    with pytest.raises(ClientError) as failure:
        kinesis.get_shard_iterator(StreamName=name, ShardId="shardId-000000000007", ShardIteratorType="LATEST")
    assert error_of(failure)[0] == "ResourceNotFoundException"
    with pytest.raises(kinesis.exceptions.InvalidArgumentException):
        kinesis.get_records(ShardIterator="not-an-iterator")
    with pytest.raises(kinesis.exceptions.InvalidArgumentException):
        kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="p", ExplicitHashKey=str(2 ** 128))
    with pytest.raises(ClientError) as failure:
        kinesis_unchecked.put_record(StreamName=name, Data=b"x" * (1024 * 1024), PartitionKey="p")
    assert error_of(failure)[:2] == ("ValidationException", 400)
    with pytest.raises(ClientError) as failure:
        kinesis_unchecked.put_records(StreamName=name, Records=[{"Data": b"x", "PartitionKey": "p"}] * 501)
    assert error_of(failure)[:2] == ("ValidationException", 400)
    with pytest.raises(ClientError) as failure:
        kinesis_unchecked.put_record(StreamName=name, Data=b"x", PartitionKey="")
    assert error_of(failure)[:2] == ("ValidationException", 400)
    with pytest.raises(ClientError) as failure:
        kinesis_unchecked.create_stream(StreamName="bad/name", ShardCount=1)
    assert error_of(failure)[:2] == ("ValidationException", 400)
    with pytest.raises(kinesis.exceptions.InvalidArgumentException):
        kinesis.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000", ShardIteratorType="AT_SEQUENCE_NUMBER",
                                   StartingSequenceNumber="12345")
    with pytest.raises(ClientError) as failure:
        kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    assert error_of(failure)[0] == "UnsupportedOperationException" and "not supported yet" in error_of(failure)[2]
    # Nothing accepted before was lost to the bad requests.
    kinesis.put_record(StreamName=name, Data=b"kept", PartitionKey="p")
    assert [r["Data"] for r in read_all(kinesis, name, "shardId-000000000000")] == [b"kept"]


def test_retention_is_changed_in_the_right_direction_only(kinesis):
    name = new_stream(kinesis)
    kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=72)
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["RetentionPeriodHours"] == 72
    with pytest.raises(kinesis.exceptions.InvalidArgumentException):
        kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=48)
    kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=24)
    with pytest.raises(kinesis.exceptions.InvalidArgumentException):
        kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=12)
    with pytest.raises(kinesis.exceptions.InvalidArgumentException):
        kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=9000)
    assert kinesis.describe_stream(StreamName=name)["StreamDescription"]["RetentionPeriodHours"] == 24


def test_tags_on_create_and_after(kinesis):
    name = f"tagged-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=name, ShardCount=1, Tags={"team": "data", "env": "dev"})
    listed = kinesis.list_tags_for_stream(StreamName=name)
    assert listed["Tags"] == [{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "data"}] and listed["HasMoreTags"] is False
    kinesis.add_tags_to_stream(StreamName=name, Tags={"team": "platform", "cost": "42"})
    page = kinesis.list_tags_for_stream(StreamName=name, Limit=2)
    assert page["Tags"] == [{"Key": "cost", "Value": "42"}, {"Key": "env", "Value": "dev"}] and page["HasMoreTags"] is True
    assert kinesis.list_tags_for_stream(StreamName=name, ExclusiveStartTagKey="env")["Tags"] == [{"Key": "team", "Value": "platform"}]
    kinesis.remove_tags_from_stream(StreamName=name, TagKeys=["env", "absent"])
    arn = f"arn:aws:kinesis:us-east-1:000000000000:stream/{name}"
    kinesis.tag_resource(ResourceARN=arn, Tags={"owner": "me"})
    kinesis.untag_resource(ResourceARN=arn, TagKeys=["cost"])
    assert kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "owner", "Value": "me"}, {"Key": "team", "Value": "platform"}]
    with pytest.raises(kinesis.exceptions.InvalidArgumentException):
        kinesis.add_tags_to_stream(StreamName=name, Tags={f"k{i}": "v" for i in range(49)})
    assert len(kinesis.list_tags_for_stream(StreamName=name)["Tags"]) == 2, "the refused call added nothing"
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.list_tags_for_stream(StreamName="no-such-stream")


def test_resource_policies_are_stored_returned_and_deleted(kinesis):
    import json
    name = new_stream(kinesis)
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    assert json.loads(kinesis.get_resource_policy(ResourceARN=arn)["Policy"]) == {}
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                                                      "Action": "kinesis:GetRecords", "Resource": arn}]}
    kinesis.put_resource_policy(ResourceARN=arn, Policy=json.dumps(policy))
    assert json.loads(kinesis.get_resource_policy(ResourceARN=arn)["Policy"]) == policy
    with pytest.raises(kinesis.exceptions.InvalidArgumentException):
        kinesis.put_resource_policy(ResourceARN=arn, Policy="not a policy")
    kinesis.delete_resource_policy(ResourceARN=arn)
    assert json.loads(kinesis.get_resource_policy(ResourceARN=arn)["Policy"]) == {}
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.delete_resource_policy(ResourceARN=arn)
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.get_resource_policy(ResourceARN=arn.replace(name, name + "-gone"))


def test_a_shard_iterator_wrapped_in_quotes_is_accepted(kinesis):
    name = new_stream(kinesis)
    kinesis.put_record(StreamName=name, Data=b"quoted", PartitionKey="p")
    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=f'"{iterator}"')["Records"]] == [b"quoted"]
