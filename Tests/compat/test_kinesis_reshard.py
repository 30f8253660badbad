"""Kinesis resharding as AWS documents it (the Kinesis Data Streams Developer Guide, "Resharding a stream", and the
API Reference of SplitShard, MergeShards, UpdateShardCount, ListShards and GetRecords): parents close and keep their
records, children take their hash-key ranges, ListShards shows the lineage and the closed shards' ending sequence
numbers, GetRecords ends a closed shard with ChildShards and no NextShardIterator, SubscribeToShard ends it with a last
event naming the children, and a stream mapping finishes a parent shard before it starts its children."""
import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from asyncfixtures import wait_until
from conftest import make_client
from test_stream_mappings import RECORDING_HANDLER, enabled, recording_function

MAX = 2**128 - 1


@pytest.fixture()
def kinesis(server):
    return make_client(server.endpoint, "kinesis")


def new_stream(kinesis, shards=1):
    name = f"rs-{uuid.uuid4().hex[:10]}"
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    return name


def shard_id(index):
    return f"shardId-{index:012d}"


def code(call):
    with pytest.raises(ClientError) as failure:
        call()
    return failure.value.response["Error"]["Code"]


def listed(kinesis, name, **filters):
    return {s["ShardId"]: s for s in kinesis.list_shards(StreamName=name, **filters)["Shards"]}


def read_shard(kinesis, name, shard):
    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records, response = [], None
    for _ in range(10):
        response = kinesis.get_records(ShardIterator=iterator)
        records += response["Records"]
        iterator = response.get("NextShardIterator")
        if iterator is None:
            break
    return records, response


def test_split_shard_closes_the_parent_and_children_take_its_range(kinesis):
    name = new_stream(kinesis)
    before = [kinesis.put_record(StreamName=name, Data=f"old-{i}".encode(), PartitionKey=f"k{i}")["SequenceNumber"] for i in range(4)]
    middle = 2**127
    kinesis.split_shard(StreamName=name, ShardToSplit=shard_id(0), NewStartingHashKey=str(middle))
    shards = listed(kinesis, name)
    assert set(shards) == {shard_id(0), shard_id(1), shard_id(2)}
    parent, left, right = shards[shard_id(0)], shards[shard_id(1)], shards[shard_id(2)]
    assert "EndingSequenceNumber" in parent["SequenceNumberRange"] and "ParentShardId" not in parent
    assert int(parent["SequenceNumberRange"]["EndingSequenceNumber"][-25:]) >= 0
    assert left["ParentShardId"] == right["ParentShardId"] == shard_id(0)
    assert "EndingSequenceNumber" not in left["SequenceNumberRange"]
    assert (left["HashKeyRange"], right["HashKeyRange"]) == (
        {"StartingHashKey": "0", "EndingHashKey": str(middle - 1)}, {"StartingHashKey": str(middle), "EndingHashKey": str(MAX)})
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["OpenShardCount"] == 2
    assert set(listed(kinesis, name, ShardFilter={"Type": "AT_LATEST"})) == {shard_id(1), shard_id(2)}
    assert set(listed(kinesis, name, ShardFilter={"Type": "AT_TRIM_HORIZON"})) == set(shards)
    # New records go to the child whose range holds their hash key.
    assert kinesis.put_record(StreamName=name, Data=b"low", PartitionKey="x", ExplicitHashKey="5")["ShardId"] == shard_id(1)
    assert kinesis.put_record(StreamName=name, Data=b"high", PartitionKey="x", ExplicitHashKey=str(MAX))["ShardId"] == shard_id(2)
    # The parent keeps its records; read to its end, it answers no iterator and its children.
    records, last = read_shard(kinesis, name, shard_id(0))
    assert [r["SequenceNumber"] for r in records] == before
    assert "NextShardIterator" not in last or last["NextShardIterator"] is None
    assert sorted(c["ShardId"] for c in last["ChildShards"]) == [shard_id(1), shard_id(2)]
    assert all(c["ParentShards"] == [shard_id(0)] for c in last["ChildShards"])
    assert [r["Data"] for r in read_shard(kinesis, name, shard_id(1))[0]] == [b"low"]
    # A closed shard cannot be split again; the new starting key must fall inside the shard.
    assert code(lambda: kinesis.split_shard(StreamName=name, ShardToSplit=shard_id(0), NewStartingHashKey="7")) == "InvalidArgumentException"
    assert code(lambda: kinesis.split_shard(StreamName=name, ShardToSplit=shard_id(1), NewStartingHashKey="0")) == "InvalidArgumentException"
    assert code(lambda: kinesis.split_shard(StreamName=name, ShardToSplit=shard_id(1), NewStartingHashKey=str(middle))) == "InvalidArgumentException"
    assert code(lambda: kinesis.split_shard(StreamName=name, ShardToSplit=shard_id(9), NewStartingHashKey="7")) == "ResourceNotFoundException"


def test_merge_shards_joins_two_adjacent_open_shards(kinesis):
    name = new_stream(kinesis, shards=3)
    assert code(lambda: kinesis.merge_shards(StreamName=name, ShardToMerge=shard_id(0), AdjacentShardToMerge=shard_id(2))) == "InvalidArgumentException"
    kinesis.merge_shards(StreamName=name, ShardToMerge=shard_id(1), AdjacentShardToMerge=shard_id(0))
    shards = listed(kinesis, name)
    child = shards[shard_id(3)]
    assert (child["ParentShardId"], child["AdjacentParentShardId"]) == (shard_id(1), shard_id(0))
    assert child["HashKeyRange"]["StartingHashKey"] == "0"
    assert int(child["HashKeyRange"]["EndingHashKey"]) + 1 == int(shards[shard_id(2)]["HashKeyRange"]["StartingHashKey"])
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["OpenShardCount"] == 2
    assert code(lambda: kinesis.merge_shards(StreamName=name, ShardToMerge=shard_id(0), AdjacentShardToMerge=shard_id(2))) == "InvalidArgumentException"
    description = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert len(description["Shards"]) == 4 and description["HasMoreShards"] is False


@pytest.mark.parametrize("start,target", [(2, 3), (3, 6), (4, 2), (5, 3)])
def test_update_shard_count_leaves_uniform_open_shards(kinesis, start, target):
    name = new_stream(kinesis, shards=start)
    answer = kinesis.update_shard_count(StreamName=name, TargetShardCount=target, ScalingType="UNIFORM_SCALING")
    assert (answer["CurrentShardCount"], answer["TargetShardCount"]) == (start, target)
    shards = kinesis.list_shards(StreamName=name)["Shards"]
    open_shards = sorted((s for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]),
                         key=lambda s: int(s["HashKeyRange"]["StartingHashKey"]))
    assert len(open_shards) == target
    step = (2**128) // target
    for i, shard in enumerate(open_shards):
        assert int(shard["HashKeyRange"]["StartingHashKey"]) == i * step
        assert int(shard["HashKeyRange"]["EndingHashKey"]) == (MAX if i == target - 1 else (i + 1) * step - 1)
    # Every shard has at most two parents, each a listed shard with an adjacent range.
    ids = {s["ShardId"] for s in shards}
    for shard in shards:
        assert {shard.get("ParentShardId"), shard.get("AdjacentParentShardId")} - {None} <= ids
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["OpenShardCount"] == target
    assert code(lambda: kinesis.update_shard_count(StreamName=name, TargetShardCount=target * 2 + 1,
                                                   ScalingType="UNIFORM_SCALING")) == "LimitExceededException"


def test_update_shard_count_is_for_provisioned_streams(kinesis):
    name = f"rs-{uuid.uuid4().hex[:10]}"
    kinesis.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    assert code(lambda: kinesis.update_shard_count(StreamName=name, TargetShardCount=5,
                                                   ScalingType="UNIFORM_SCALING")) == "InvalidArgumentException"


def test_subscribe_to_shard_ends_a_closed_shard_with_its_children(kinesis):
    name = new_stream(kinesis)
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="ends")["Consumer"]["ConsumerARN"]
    kinesis.put_record(StreamName=name, Data=b"only", PartitionKey="k")
    kinesis.split_shard(StreamName=name, ShardToSplit=shard_id(0), NewStartingHashKey=str(2**127))
    events = kinesis.subscribe_to_shard(ConsumerARN=consumer, ShardId=shard_id(0), StartingPosition={"Type": "TRIM_HORIZON"})["EventStream"]
    received = [event["SubscribeToShardEvent"] for event in events]  # the stream ends by itself
    assert [r["Data"] for e in received for r in e["Records"]] == [b"only"]
    assert received[-1].get("ContinuationSequenceNumber") is None
    assert sorted(c["ShardId"] for c in received[-1]["ChildShards"]) == [shard_id(1), shard_id(2)]


def test_a_stream_mapping_finishes_the_parent_before_the_children(server, kinesis, tmp_path):
    lam = make_client(server.endpoint, "lambda")
    function, batch_file = recording_function(lam, tmp_path, RECORDING_HANDLER, SLEEP="0.4")
    name = new_stream(kinesis)
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function, StartingPosition="TRIM_HORIZON", BatchSize=2)["UUID"]
    enabled(lam, mapping)
    # The parent's 30 records take 15 invocations of 0.4 s: its children have records long before it is done.
    kinesis.put_records(StreamName=name, Records=[{"Data": f"before-{i:02}".encode(), "PartitionKey": "same"} for i in range(30)])
    kinesis.split_shard(StreamName=name, ShardToSplit=shard_id(0), NewStartingHashKey=str(2**127))
    kinesis.put_records(StreamName=name, Records=[{"Data": f"after-{i:02}".encode(), "PartitionKey": "same"} for i in range(20)])

    def delivered():
        return [r[2] for line in batch_file.read_text().splitlines() for r in json.loads(line)["records"]] if batch_file.exists() else []
    wait_until(lambda: len(delivered()) >= 50, timeout=90)
    # One key's records in order across the split: every record of the parent before any of the child.
    assert delivered() == [f"before-{i:02}" for i in range(30)] + [f"after-{i:02}" for i in range(20)]
    batches = [json.loads(line) for line in batch_file.read_text().splitlines()]
    assert {b["first"]["eventID"].split(":")[0] for b in batches if b["records"][0][2].startswith("after")} <= {shard_id(1), shard_id(2)}
    lam.delete_event_source_mapping(UUID=mapping)
