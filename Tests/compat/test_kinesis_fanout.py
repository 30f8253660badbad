"""Kinesis enhanced fan-out as AWS documents it (the Kinesis Data Streams Developer Guide, "Develop enhanced fan-out
consumers with the API", and the API Reference): RegisterStreamConsumer, DescribeStreamConsumer, ListStreamConsumers,
DeregisterStreamConsumer, SubscribeToShard read by boto3 as an event stream (initial-response, then
SubscribeToShardEvents as records arrive), a second subscription within five seconds refused, and a stream event
source mapping whose EventSourceArn is a consumer's ARN."""
import base64
import json
import re
import threading
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from asyncfixtures import wait_until
from conftest import make_client
from test_stream_mappings import RECORDING_HANDLER, data, enabled, recording_function

SHARD = "shardId-000000000000"


@pytest.fixture()
def kinesis(server):
    return make_client(server.endpoint, "kinesis")


def new_stream(kinesis, shards=1):
    name = f"efo-{uuid.uuid4().hex[:10]}"
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    return name, kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]


def code(call):
    with pytest.raises(ClientError) as failure:
        call()
    return failure.value.response["Error"]["Code"]


def test_consumers_are_registered_described_listed_and_deregistered(kinesis):
    _, arn = new_stream(kinesis)
    registered = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="reader")["Consumer"]
    assert registered["ConsumerName"] == "reader" and registered["ConsumerStatus"] == "CREATING"
    assert re.fullmatch(re.escape(arn) + r"/consumer/reader:\d+", registered["ConsumerARN"])
    by_arn = kinesis.describe_stream_consumer(ConsumerARN=registered["ConsumerARN"])["ConsumerDescription"]
    by_name = kinesis.describe_stream_consumer(StreamARN=arn, ConsumerName="reader")["ConsumerDescription"]
    assert by_arn == by_name and by_arn["ConsumerStatus"] == "ACTIVE" and by_arn["StreamARN"] == arn
    assert code(lambda: kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="reader")) == "ResourceInUseException"
    for i in range(2, 21):
        kinesis.register_stream_consumer(StreamARN=arn, ConsumerName=f"c{i:02}")
    assert code(lambda: kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="one-too-many")) == "LimitExceededException"
    first = kinesis.list_stream_consumers(StreamARN=arn, MaxResults=5)
    assert [c["ConsumerName"] for c in first["Consumers"]] == ["c02", "c03", "c04", "c05", "c06"]
    rest = kinesis.list_stream_consumers(StreamARN=arn, NextToken=first["NextToken"])
    assert len(rest["Consumers"]) == 15 and "NextToken" not in rest
    kinesis.deregister_stream_consumer(ConsumerARN=registered["ConsumerARN"])
    kinesis.deregister_stream_consumer(StreamARN=arn, ConsumerName="c02")
    assert code(lambda: kinesis.describe_stream_consumer(ConsumerARN=registered["ConsumerARN"])) == "ResourceNotFoundException"
    assert code(lambda: kinesis.deregister_stream_consumer(StreamARN=arn, ConsumerName="c02")) == "ResourceNotFoundException"
    assert len(kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]) == 18
    assert kinesis.describe_stream_summary(StreamARN=arn)["StreamDescriptionSummary"]["ConsumerCount"] == 18
    # Registered again under its name, a consumer has a new ARN (it ends with the creation time).
    time.sleep(1.1)
    again = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="reader")["Consumer"]
    assert again["ConsumerARN"] != registered["ConsumerARN"]
    assert code(lambda: kinesis.describe_stream_consumer(ConsumerARN=registered["ConsumerARN"])) == "ResourceNotFoundException"


def test_subscribe_to_shard_streams_events_as_records_arrive(kinesis):
    name, arn = new_stream(kinesis)
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="live")["Consumer"]["ConsumerARN"]
    first = kinesis.put_record(StreamName=name, Data=b"before", PartitionKey="k")["SequenceNumber"]
    subscription = kinesis.subscribe_to_shard(ConsumerARN=consumer, ShardId=SHARD, StartingPosition={"Type": "TRIM_HORIZON"})
    assert subscription["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/vnd.amazon.eventstream"

    def put_later():
        time.sleep(0.5)
        kinesis.put_records(StreamName=name, Records=[{"Data": b"after-1", "PartitionKey": "k"}, {"Data": b"after-2", "PartitionKey": "k"}])
    threading.Thread(target=put_later).start()
    seen, continuations = [], []
    started = time.time()
    for event in subscription["EventStream"]:
        shard_event = event["SubscribeToShardEvent"]
        seen += [record["Data"] for record in shard_event["Records"]]
        continuations.append(shard_event["ContinuationSequenceNumber"])
        assert shard_event["MillisBehindLatest"] >= 0
        if len(seen) >= 3:
            break
    subscription["EventStream"].close()
    assert seen == [b"before", b"after-1", b"after-2"]
    assert time.time() - started < 4, "records are pushed as they arrive, not on the five-second heartbeat"
    assert continuations[0] == first
    # Resuming after the continuation reads nothing old; a second subscription within 5 s is refused.
    assert code(lambda: kinesis.subscribe_to_shard(ConsumerARN=consumer, ShardId=SHARD,
                                                   StartingPosition={"Type": "TRIM_HORIZON"})) == "ResourceInUseException"
    time.sleep(5.1)
    resumed = kinesis.subscribe_to_shard(ConsumerARN=consumer, ShardId=SHARD,
                                         StartingPosition={"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": continuations[-1]})
    kinesis.put_record(StreamName=name, Data=b"newest", PartitionKey="k")
    for event in resumed["EventStream"]:
        records = event["SubscribeToShardEvent"]["Records"]
        if records:
            assert [r["Data"] for r in records] == [b"newest"]
            break
    resumed["EventStream"].close()


def test_subscribe_to_shard_errors(kinesis):
    name, arn = new_stream(kinesis)
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="errs")["Consumer"]["ConsumerARN"]
    assert code(lambda: kinesis.subscribe_to_shard(ConsumerARN=consumer + "0", ShardId=SHARD,
                                                   StartingPosition={"Type": "LATEST"})) == "ResourceNotFoundException"
    assert code(lambda: kinesis.subscribe_to_shard(ConsumerARN=consumer, ShardId="shardId-000000000009",
                                                   StartingPosition={"Type": "LATEST"})) == "ResourceNotFoundException"
    assert code(lambda: kinesis.subscribe_to_shard(ConsumerARN=consumer, ShardId=SHARD,
                                                   StartingPosition={"Type": "AT_SEQUENCE_NUMBER"})) == "InvalidArgumentException"


def test_a_stream_mapping_reads_through_a_consumer_arn(server, kinesis, tmp_path):
    lam = make_client(server.endpoint, "lambda")
    function, batch_file = recording_function(lam, tmp_path, RECORDING_HANDLER)
    name, arn = new_stream(kinesis)
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="lambda")["Consumer"]["ConsumerARN"]
    with pytest.raises(ClientError) as failure:
        lam.create_event_source_mapping(EventSourceArn=arn + "/consumer/missing:1", FunctionName=function, StartingPosition="LATEST")
    assert failure.value.response["Error"]["Code"] == "InvalidParameterValueException"
    mapping = lam.create_event_source_mapping(EventSourceArn=consumer, FunctionName=function, StartingPosition="TRIM_HORIZON",
                                              BatchSize=10)
    assert mapping["EventSourceArn"] == consumer
    enabled(lam, mapping["UUID"])
    kinesis.put_records(StreamName=name, Records=[{"Data": f"r{i}".encode(), "PartitionKey": "k"} for i in range(5)])
    wait_until(lambda: data(batch_file) == [f"r{i}" for i in range(5)], timeout=30)
    first = [json.loads(line) for line in batch_file.read_text().splitlines()][0]["first"]
    # The records name the stream, as Lambda's do for a consumer.
    assert first["eventSourceARN"] == arn and first["eventSource"] == "aws:kinesis"
    lam.delete_event_source_mapping(UUID=mapping["UUID"])


def test_a_stream_with_consumers_is_deleted_only_with_enforce_consumer_deletion(kinesis):
    name, arn = new_stream(kinesis)
    kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="holder")
    assert code(lambda: kinesis.delete_stream(StreamName=name)) == "ResourceInUseException"
    kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
    kinesis.create_stream(StreamName=name, ShardCount=1)
    # The stream created again under the name starts without consumers.
    assert kinesis.list_stream_consumers(StreamARN=arn)["Consumers"] == []


def test_a_subscription_ends_when_the_server_shuts_down(binary, tmp_path_factory):
    from conftest import served
    with served(binary, tmp_path_factory, "efo-shutdown") as server:
        kinesis = make_client(server.endpoint, "kinesis")
        name, arn = new_stream(kinesis)
        consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="until-stop")["Consumer"]["ConsumerARN"]
        events = kinesis.subscribe_to_shard(ConsumerARN=consumer, ShardId=SHARD, StartingPosition={"Type": "LATEST"})["EventStream"]
        first = next(iter(events))
        assert first["SubscribeToShardEvent"]["Records"] == []
        started = time.time()
        assert server.stop() == 0
        # A five-minute subscription does not hold the shutdown: the stream ends and the server drains at once.
        assert time.time() - started < 10


def test_subscribe_to_shard_over_cleartext_http2(binary, tmp_path_factory):
    """What the AWS SDK for Java's async client and the KCL do against an http:// endpoint: HTTP/2 with prior knowledge,
    on the port `http2Port` opens (read here with curl, the events decoded with botocore's event-stream parser)."""
    import subprocess
    from botocore.eventstream import EventStreamBuffer
    from conftest import free_port, served
    http2 = free_port()
    with served(binary, tmp_path_factory, "efo-http2", SPOOL_HTTP2_PORT=str(http2)) as server:
        kinesis = make_client(server.endpoint, "kinesis")
        name, arn = new_stream(kinesis)
        consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="h2")["Consumer"]["ConsumerARN"]
        kinesis.put_record(StreamName=name, Data=b"over h2", PartitionKey="k")
        url = f"http://127.0.0.1:{http2}/"
        headers = ["-H", "Content-Type: application/x-amz-json-1.1", "-H", "X-Amz-Target: Kinesis_20131202.ListStreams"]
        version = subprocess.run(["curl", "-s", "--http2-prior-knowledge", *headers, "-d", "{}", "-o", "/dev/null", "-w", "%{http_version}", url],
                                 capture_output=True, text=True, timeout=30).stdout
        assert version == "2"
        body = json.dumps({"ConsumerARN": consumer, "ShardId": SHARD, "StartingPosition": {"Type": "TRIM_HORIZON"}})
        curl = subprocess.Popen(["curl", "-s", "-N", "--http2-prior-knowledge", "-H", "Content-Type: application/x-amz-json-1.1",
                                 "-H", "X-Amz-Target: Kinesis_20131202.SubscribeToShard", "-d", body, url], stdout=subprocess.PIPE)
        try:
            buffer, messages = EventStreamBuffer(), []
            deadline = time.time() + 20
            while time.time() < deadline and sum(1 for m in messages if m.headers.get(":event-type") == "SubscribeToShardEvent") < 1:
                chunk = curl.stdout.read1(65536)
                assert chunk, "the stream ended early"
                buffer.add_data(chunk)
                messages += list(buffer)
            assert messages[0].headers[":event-type"] == "initial-response"
            event = json.loads(messages[1].payload)
            assert [base64.b64decode(r["Data"]) for r in event["Records"]] == [b"over h2"]
            assert event["ContinuationSequenceNumber"] == event["Records"][0]["SequenceNumber"]
        finally:
            curl.terminate()
            curl.wait(timeout=10)


def test_a_continuation_before_any_record_resumes_from_the_first_record(kinesis):
    name, arn = new_stream(kinesis)
    first = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="early")["Consumer"]["ConsumerARN"]
    second = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="later")["Consumer"]["ConsumerARN"]
    events = kinesis.subscribe_to_shard(ConsumerARN=first, ShardId=SHARD, StartingPosition={"Type": "TRIM_HORIZON"})["EventStream"]
    empty = next(iter(events))["SubscribeToShardEvent"]
    events.close()
    assert empty["Records"] == []
    kinesis.put_record(StreamName=name, Data=b"first ever", PartitionKey="k")
    resumed = kinesis.subscribe_to_shard(ConsumerARN=second, ShardId=SHARD, StartingPosition={
        "Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": empty["ContinuationSequenceNumber"]})["EventStream"]
    records = next(iter(resumed))["SubscribeToShardEvent"]["Records"]
    resumed.close()
    assert [r["Data"] for r in records] == [b"first ever"]
    # ListShards' StartingSequenceNumber stands before the first record in the same way.
    start = kinesis.list_shards(StreamName=name)["Shards"][0]["SequenceNumberRange"]["StartingSequenceNumber"]
    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=SHARD, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                          StartingSequenceNumber=start)["ShardIterator"]
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]] == [b"first ever"]
