"""Kinesis's CBOR wire as AWS serves it to the AWS SDK for Java and the KCL (`Content-Type: application/x-amz-cbor-1.1`):
the JSON 1.1 documents written in CBOR (RFC 8949), blobs as byte strings, timestamps as tag 1 over epoch milliseconds,
errors as a CBOR map with `__type` and `message`. Requests are encoded with cbor2 (and by hand, with the
indefinite-length maps Jackson's CBOR generator writes); the records cross between the CBOR and JSON protocols."""
import time
import urllib.error
import urllib.request
import uuid

import cbor2
import pytest

from conftest import make_client

CBOR = "application/x-amz-cbor-1.1"
# Tag 1 as AWS writes it holds milliseconds, which cbor2 would read as seconds: keep it as the tag it is.
KEEP_TIMESTAMPS = {1: lambda value, immutable: cbor2.CBORTag(1, value)}


def loads(data):
    return cbor2.loads(data, semantic_decoders=KEEP_TIMESTAMPS)


def call(server, operation, payload=None, raw=None):
    body = raw if raw is not None else cbor2.dumps(payload or {})
    request = urllib.request.Request(server.endpoint + "/", data=body, method="POST", headers={
        "Content-Type": CBOR, "X-Amz-Target": f"Kinesis_20131202.{operation}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers["Content-Type"], loads(response.read())
    except urllib.error.HTTPError as failure:
        return failure.code, failure.headers["Content-Type"], loads(failure.read())


def ok(server, operation, payload=None, raw=None):
    status, content_type, document = call(server, operation, payload, raw)
    assert (status, content_type) == (200, CBOR), document
    return document


@pytest.fixture()
def stream(server):
    name = f"cb-{uuid.uuid4().hex[:10]}"
    ok(server, "CreateStream", {"StreamName": name, "ShardCount": 1})
    return name


def test_records_round_trip_as_byte_strings_with_millisecond_timestamps(server, stream):
    before = int(time.time() * 1000)
    summary = ok(server, "DescribeStreamSummary", {"StreamName": stream})["StreamDescriptionSummary"]
    created = summary["StreamCreationTimestamp"]
    assert created.tag == 1 and isinstance(created.value, int) and abs(created.value - before) < 5_000
    blob = bytes(range(256))
    put = ok(server, "PutRecord", {"StreamName": stream, "Data": blob, "PartitionKey": "pk"})
    assert put["ShardId"] == "shardId-000000000000" and put["SequenceNumber"].isdigit()
    batch = ok(server, "PutRecords", {"StreamName": stream, "Records": [{"Data": b"\x00two", "PartitionKey": "a"},
                                                                          {"Data": b"three\xff", "PartitionKey": "b"}]})
    assert batch["FailedRecordCount"] == 0 and len(batch["Records"]) == 2
    iterator = ok(server, "GetShardIterator", {"StreamName": stream, "ShardId": "shardId-000000000000",
                                               "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
    records = ok(server, "GetRecords", {"ShardIterator": iterator, "Limit": 10})["Records"]
    assert [r["Data"] for r in records] == [blob, b"\x00two", b"three\xff"]
    assert records[0]["SequenceNumber"] == put["SequenceNumber"]
    assert all(isinstance(r["Data"], bytes) for r in records)


def test_timestamps_are_tag_1_over_integer_milliseconds_both_ways(server, stream):
    ok(server, "PutRecord", {"StreamName": stream, "Data": b"early", "PartitionKey": "pk"})
    time.sleep(0.3)
    middle = int(time.time() * 1000)
    time.sleep(0.3)
    ok(server, "PutRecord", {"StreamName": stream, "Data": b"late", "PartitionKey": "pk"})
    iterator = ok(server, "GetShardIterator", {"StreamName": stream, "ShardId": "shardId-000000000000",
                                               "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
    arrivals = [r["ApproximateArrivalTimestamp"] for r in ok(server, "GetRecords", {"ShardIterator": iterator})["Records"]]
    assert all(a.tag == 1 and isinstance(a.value, int) for a in arrivals)
    assert arrivals[0].value < middle < arrivals[1].value and arrivals[1].value - arrivals[0].value < 5_000
    # AT_TIMESTAMP with the SDK's encoding (tag 1, milliseconds) starts between the two records.
    iterator = ok(server, "GetShardIterator", {"StreamName": stream, "ShardId": "shardId-000000000000",
                                               "ShardIteratorType": "AT_TIMESTAMP",
                                               "Timestamp": cbor2.CBORTag(1, middle)})["ShardIterator"]
    assert [r["Data"] for r in ok(server, "GetRecords", {"ShardIterator": iterator})["Records"]] == [b"late"]
    # And with RFC 8949's (tag 1, seconds as a float).
    iterator = ok(server, "GetShardIterator", {"StreamName": stream, "ShardId": "shardId-000000000000",
                                               "ShardIteratorType": "AT_TIMESTAMP",
                                               "Timestamp": cbor2.CBORTag(1, middle / 1000.0)})["ShardIterator"]
    assert [r["Data"] for r in ok(server, "GetRecords", {"ShardIterator": iterator})["Records"]] == [b"late"]


def test_records_cross_between_the_cbor_and_json_protocols(server, stream):
    kinesis = make_client(server.endpoint, "kinesis")
    kinesis.put_record(StreamName=stream, Data=b"from json \xfe", PartitionKey="j")
    ok(server, "PutRecord", {"StreamName": stream, "Data": b"from cbor \xfe", "PartitionKey": "c"})
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]] == [b"from json \xfe", b"from cbor \xfe"]
    iterator = ok(server, "GetShardIterator", {"StreamName": stream, "ShardId": "shardId-000000000000",
                                               "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
    assert [r["Data"] for r in ok(server, "GetRecords", {"ShardIterator": iterator})["Records"]] == [b"from json \xfe", b"from cbor \xfe"]


def test_indefinite_length_maps_and_strings_as_jackson_writes_them(server, stream):
    # {_ "StreamName": (_ "cb-", "rest"), "Limit": 5 } with an indefinite-length map and a chunked text string.
    prefix, rest = stream[:3].encode(), stream[3:].encode()
    body = (b"\xbf" + b"\x6aStreamName" + b"\x7f" + bytes([0x60 + len(prefix)]) + prefix + bytes([0x60 + len(rest)]) + rest + b"\xff"
            + b"\xff")
    summary = ok(server, "DescribeStreamSummary", raw=body)["StreamDescriptionSummary"]
    assert summary["StreamName"] == stream


def test_errors_are_cbor_maps_with_the_modelled_type(server):
    status, content_type, document = call(server, "DescribeStreamSummary", {"StreamName": "no-such-stream-" + uuid.uuid4().hex[:6]})
    assert (status, content_type) == (400, CBOR)
    assert document["__type"] == "ResourceNotFoundException" and "not found" in document["message"]
    status, content_type, document = call(server, "PutRecord", raw=b"\xbf\x64Data")
    assert (status, content_type) == (400, CBOR) and document["__type"] == "SerializationException"
    status, _, document = call(server, "PutRecord", raw=b"\x83\x01\x02\x03")
    assert status == 400 and document["__type"] == "SerializationException"
    status, _, document = call(server, "CreateStream", {"StreamName": 7, "ShardCount": 1})
    assert status == 400 and document["__type"] == "SerializationException"
    status, _, document = call(server, "NoSuchOperation", {})
    assert status == 400 and document["__type"] == "UnknownOperationException"


def test_subscribe_to_shard_in_cbor_streams_cbor_events(server, stream):
    from botocore.eventstream import EventStreamBuffer
    arn = ok(server, "DescribeStreamSummary", {"StreamName": stream})["StreamDescriptionSummary"]["StreamARN"]
    consumer = ok(server, "RegisterStreamConsumer", {"StreamARN": arn, "ConsumerName": "cbor"})["Consumer"]["ConsumerARN"]
    ok(server, "PutRecord", {"StreamName": stream, "Data": b"\x00cbor\xff", "PartitionKey": "k"})
    request = urllib.request.Request(server.endpoint + "/", method="POST", data=cbor2.dumps({
        "ConsumerARN": consumer, "ShardId": "shardId-000000000000", "StartingPosition": {"Type": "TRIM_HORIZON"}}),
        headers={"Content-Type": CBOR, "X-Amz-Target": "Kinesis_20131202.SubscribeToShard"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"] == "application/vnd.amazon.eventstream"
        buffer, messages = EventStreamBuffer(), []
        while len(messages) < 2:
            buffer.add_data(response.read1(65536))
            messages += list(buffer)
    assert [m.headers[":event-type"] for m in messages[:2]] == ["initial-response", "SubscribeToShardEvent"]
    assert all(m.headers[":content-type"] == CBOR for m in messages[:2])
    event = loads(messages[1].payload)
    assert [r["Data"] for r in event["Records"]] == [b"\x00cbor\xff"]
    assert event["Records"][0]["ApproximateArrivalTimestamp"].tag == 1
