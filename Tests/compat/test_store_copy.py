"""`spool store copy` moves a single-node Spool from SQLite onto PostgreSQL with everything in it, and back: a server
started on the copy serves the same queues, messages, functions (with their code), streams, mappings and dead letters."""
import json
import subprocess
import uuid

import pytest

from asyncfixtures import queue_arn
from conftest import SpoolProcess, make_client
from functions import create_python, package
from test_cluster import database_url, psql


def copy(binary, source, target):
    return subprocess.run([str(binary), "store", "copy", "--from", str(source), "--to", str(target)],
                          capture_output=True, text=True, timeout=120)


def fill(endpoint):
    """A store with something of everything; returns what a copy must hold."""
    lam, sqs, kinesis = make_client(endpoint, "lambda"), make_client(endpoint, "sqs"), make_client(endpoint, "kinesis")
    name = create_python(lam, "def handler(event, context):\n    return {'version one': event}\n")
    # A published version whose code differs from $LATEST's, behind an alias with a URL: its package must come along.
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    lam.create_function_url_config(FunctionName=name, Qualifier="live", AuthType="NONE")
    lam.update_function_code(FunctionName=name, ZipFile=package({"app.py": "def handler(event, context):\n    return {'copied': event}\n"}))
    # A function running with a layer: the layer's content must come along.
    layer = lam.publish_layer_version(LayerName="copy-layer", Content={"ZipFile": package({"python/copied_helper.py": "WORD = 'layered'\n"})})
    layered = create_python(lam, "import copied_helper\ndef handler(event, context):\n    return copied_helper.WORD\n",
                            Layers=[layer["LayerVersionArn"]])
    dlq = sqs.create_queue(QueueName="copy-dlq")["QueueUrl"]
    url = sqs.create_queue(QueueName="copy-q", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": queue_arn("copy-dlq"), "maxReceiveCount": "2"})})["QueueUrl"]
    for i in range(25):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}",
                         MessageAttributes={"n": {"DataType": "Number", "StringValue": str(i)}})
    sqs.send_message(QueueUrl=dlq, MessageBody="already dead")
    fifo = sqs.create_queue(QueueName="copy.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    for i in range(4):
        sqs.send_message(QueueUrl=fifo, MessageBody=f"f{i}", MessageGroupId="g")
    kinesis.create_stream(StreamName="copy-s", ShardCount=2)
    for i in range(12):
        kinesis.put_record(StreamName="copy-s", PartitionKey=f"k{i}", Data=f"r{i}".encode())
    arn = kinesis.describe_stream_summary(StreamName="copy-s")["StreamDescriptionSummary"]["StreamARN"]
    mapping = lam.create_event_source_mapping(FunctionName=name, EventSourceArn=arn, StartingPosition="TRIM_HORIZON",
                                              BatchSize=3, Enabled=False)
    return {"function": name, "mapping": mapping["UUID"], "layered": layered}


def check(endpoint, expected):
    lam, sqs, kinesis = make_client(endpoint, "lambda"), make_client(endpoint, "sqs"), make_client(endpoint, "kinesis")
    payload = lam.invoke(FunctionName=expected["function"], Payload=b'{"after": "copy"}')["Payload"].read()
    assert json.loads(payload) == {"copied": {"after": "copy"}}
    payload = lam.invoke(FunctionName=expected["function"], Qualifier="live", Payload=b'{"after": "copy"}')["Payload"].read()
    assert json.loads(payload) == {"version one": {"after": "copy"}}
    assert lam.get_function_url_config(FunctionName=expected["function"], Qualifier="live")["AuthType"] == "NONE"
    assert json.loads(lam.invoke(FunctionName=expected["layered"])["Payload"].read()) == "layered"
    url = sqs.get_queue_url(QueueName="copy-q")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"] == queue_arn("copy-dlq")
    bodies = {}
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get("Messages", [])
        if not batch:
            break
        for message in batch:
            bodies[message["Body"]] = message["MessageAttributes"]["n"]["StringValue"]
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert bodies == {f"m{i}": str(i) for i in range(25)}
    dlq = sqs.get_queue_url(QueueName="copy-dlq")["QueueUrl"]
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=dlq).get("Messages", [])] == ["already dead"]
    fifo = sqs.get_queue_url(QueueName="copy.fifo")["QueueUrl"]
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10)["Messages"]] == [f"f{i}" for i in range(4)]
    # The deduplication window came along: the same body again is not stored twice.
    sqs.send_message(QueueUrl=fifo, MessageBody="f0", MessageGroupId="g")
    records = []
    for shard in ("shardId-000000000000", "shardId-000000000001"):
        iterator = kinesis.get_shard_iterator(StreamName="copy-s", ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records += [r["Data"].decode() for r in kinesis.get_records(ShardIterator=iterator)["Records"]]
    assert sorted(records) == sorted(f"r{i}" for i in range(12))
    mapping = lam.get_event_source_mapping(UUID=expected["mapping"])
    assert mapping["State"] == "Disabled" and mapping["BatchSize"] == 3
    # New records continue after the copied ones.
    assert sqs.send_message(QueueUrl=url, MessageBody="new")["MessageId"]
    kinesis.put_record(StreamName="copy-s", PartitionKey="k0", Data=b"new")


def test_a_sqlite_store_moves_onto_postgresql_and_back(binary, tmp_path):
    source = SpoolProcess(binary, tmp_path / "sqlite-source")
    source.start()
    try:
        expected = fill(source.endpoint)
    finally:
        source.stop()
    name = f"spool_copy_{uuid.uuid4().hex[:8]}"
    admin = database_url("postgres")
    psql(admin, f"CREATE DATABASE {name}")
    url = database_url(name)
    try:
        result = copy(binary, source.data_dir, url)
        assert result.returncode == 0, result.stderr
        assert "every table checked" in result.stdout
        assert "queue_message: 30 rows" in result.stdout
        # A second copy into the same database is refused: it already holds records.
        again = copy(binary, source.data_dir, url)
        assert again.returncode != 0 and "already holds records" in again.stderr

        node = SpoolProcess(binary, tmp_path / "pg-node" / "data", extra_args=["--database", url])
        (tmp_path / "pg-node").mkdir()
        node.start()
        try:
            check(node.endpoint, expected)
        finally:
            node.stop()

        back = tmp_path / "sqlite-back"
        result = copy(binary, url, back)
        assert result.returncode == 0, result.stderr
        restored = SpoolProcess(binary, back)
        restored.start()
        try:
            lam = make_client(restored.endpoint, "lambda")
            assert json.loads(lam.invoke(FunctionName=expected["function"], Payload=b"{}")["Payload"].read()) == {"copied": {}}
            assert json.loads(lam.invoke(FunctionName=expected["function"], Qualifier="1", Payload=b"{}")["Payload"].read()) == {"version one": {}}
            assert json.loads(lam.invoke(FunctionName=expected["layered"])["Payload"].read()) == "layered"
            sqs = make_client(restored.endpoint, "sqs")
            url_q = sqs.get_queue_url(QueueName="copy-q")["QueueUrl"]
            assert [m["Body"] for m in sqs.receive_message(QueueUrl=url_q).get("Messages", [])] == ["new"]
        finally:
            restored.stop()
    finally:
        psql(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
