"""A full disk and a read-only data directory: writes fail with a 5xx AWS error and are not acknowledged, reads keep
working, nothing acknowledged is lost, and writes work again by themselves once space (or write access) returns.
Uses a size-limited tmpfs mounted for the test, which needs root (CI runs as root)."""
import os
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import SpoolProcess, make_client

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a size-limited tmpfs needs root")


@pytest.fixture()
def small_fs(tmp_path):
    mount = tmp_path / "fs"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(sqs, url, acknowledged):
    """Sends 200 KB messages until a send is refused; returns the refusal."""
    for n in range(200):
        body = f"{n:04d}-{uuid.uuid4().hex}-" + "x" * 200_000
        try:
            sqs.send_message(QueueUrl=url, MessageBody=body)
            acknowledged.append(body[:40])
        except ClientError as error:
            return error.response
    pytest.fail("the disk never filled up")


def drain(sqs, url):
    seen = set()
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300).get("Messages", [])
        if not messages:
            return seen
        seen.update(m["Body"][:40] for m in messages)
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])


def test_disk_full_refuses_writes_keeps_reads_and_recovers_when_space_returns(binary, small_fs):
    server = SpoolProcess(binary, small_fs / "data")
    server.log_path = small_fs.parent / "spool-disk.log"
    server.start()
    try:
        sqs = make_client(server.endpoint)
        kinesis = make_client(server.endpoint, "kinesis")
        lam = make_client(server.endpoint, "lambda")
        kinesis.create_stream(StreamName="before", ShardCount=1)
        kinesis.put_record(StreamName="before", Data=b"stored before", PartitionKey="k")
        url = sqs.create_queue(QueueName="filling")["QueueUrl"]
        acknowledged = []
        refusal = fill(sqs, url, acknowledged)
        assert refusal["ResponseMetadata"]["HTTPStatusCode"] >= 500
        assert refusal["Error"]["Code"] in ("InternalFailure", "ServiceUnavailable"), refusal["Error"]
        assert len(acknowledged) >= 3
        # Other writes fail the same way, each in its API's shape.
        with pytest.raises(ClientError) as raised:
            kinesis.put_record(StreamName="before", Data=b"y" * 500_000, PartitionKey="k")
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] >= 500
        with pytest.raises(ClientError) as raised:
            lam.invoke(FunctionName="missing-anyway", InvocationType="Event", Payload=b'{"x": "' + b"y" * 200_000 + b'"}')
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] in (404, 500, 503)
        # Reads keep working.
        assert url in sqs.list_queues()["QueueUrls"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        assert int(attributes["ApproximateNumberOfMessages"]) == len(acknowledged)
        shard = kinesis.list_shards(StreamName="before")["Shards"][0]["ShardId"]
        iterator = kinesis.get_shard_iterator(StreamName="before", ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        assert [r["Data"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]] == [b"stored before"]
        # Space returns: writes work again without a restart, and every acknowledged message is there.
        subprocess.run(["mount", "-o", "remount,size=64m", str(small_fs)], check=True)
        sqs.send_message(QueueUrl=url, MessageBody="after-space-returned")
        acknowledged.append("after-space-returned")
        assert drain(sqs, url) == set(acknowledged)
        assert server.proc.poll() is None
    finally:
        code = server.stop()
    assert code == 0
    assert "integrity" not in server.log_path.read_text().lower()


def test_read_only_data_dir_is_refused_at_start_with_a_clear_message(binary, small_fs):
    # Linux refuses to make a filesystem read-only while Spool holds its database open for writing, so a read-only
    # data directory is met at start-up: Spool says so and exits, instead of failing at the first write.
    server = SpoolProcess(binary, small_fs / "data")
    server.log_path = small_fs.parent / "spool-ro.log"
    server.start()
    sqs = make_client(server.endpoint)
    url = sqs.create_queue(QueueName="ro")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="before")
    assert server.stop() == 0
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    try:
        refused = subprocess.run([str(binary), "serve", "--port", "0", "--data-dir", str(small_fs / "data")],
                                 capture_output=True, text=True, timeout=60)
        assert refused.returncode != 0
        assert "cannot write to" in refused.stderr and "Read-only file system" in refused.stderr
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_fs)], check=True)
    server.start()
    try:
        sqs.send_message(QueueUrl=url, MessageBody="after")
        assert drain(sqs, url) == {"before", "after"}
    finally:
        assert server.stop() == 0
