"""Durability across restarts, clean shutdown, and refusing a database from a newer Spool."""
import json
import signal
import sqlite3
import subprocess
import threading
import time

import boto3
import pytest

from conftest import SpoolProcess, make_client


def test_restart_on_the_same_data_dir_loses_nothing(binary, tmp_path):
    server = SpoolProcess(binary, tmp_path / "data")
    server.start()
    try:
        sqs = make_client(server.endpoint)
        dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
        url = sqs.create_queue(QueueName="durable", Attributes={
            "VisibilityTimeout": "7",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:dlq", "maxReceiveCount": 5}),
        }, tags={"keep": "yes"})["QueueUrl"]
        fifo = sqs.create_queue(QueueName="durable.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        sent = set()
        for batch in range(10):
            result = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"{batch}-{i}"} for i in range(10)])
            assert not result.get("Failed")
            sent |= {e["MessageId"] for e in result["Successful"]}
        first = sqs.send_message(QueueUrl=fifo, MessageBody="f", MessageGroupId="g", MessageDeduplicationId="once")
        in_flight = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3, VisibilityTimeout=1)["Messages"]
        assert len(in_flight) == 3

        assert server.restart() == 0, "SIGTERM should end the server with exit code 0"

        sqs = make_client(server.endpoint)
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attrs["VisibilityTimeout"] == "7"
        assert json.loads(attrs["RedrivePolicy"])["maxReceiveCount"] == 5
        assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"keep": "yes"}
        received = set()
        deadline = time.time() + 20
        while len(received) < 100 and time.time() < deadline:
            for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
                received.add(message["MessageId"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        assert received == sent
        # Deduplication state survives the restart too.
        again = sqs.send_message(QueueUrl=fifo, MessageBody="f", MessageGroupId="g", MessageDeduplicationId="once")
        assert again["MessageId"] == first["MessageId"]
    finally:
        server.stop()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_during_a_long_poll_exits_promptly_with_zero(binary, tmp_path, stop_signal):
    server = SpoolProcess(binary, tmp_path / "data")
    server.start()
    sqs = make_client(server.endpoint)
    url = sqs.create_queue(QueueName="idle")["QueueUrl"]
    outcome = {}

    def poll():
        try:
            outcome["response"] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)
        except Exception as error:  # the connection may close as the server stops
            outcome["error"] = error

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.5)
    started = time.time()
    assert server.stop(stop_signal) == 0
    assert time.time() - started < 10
    poller.join(timeout=10)
    assert "Messages" not in outcome.get("response", {})


def test_a_database_from_a_newer_spool_is_refused(binary, tmp_path):
    data = tmp_path / "data"
    server = SpoolProcess(binary, data)
    server.start()
    server.stop()
    with sqlite3.connect(data / "spool.sqlite") as db:
        db.execute("INSERT INTO grdb_migrations (identifier) VALUES ('9999_from_the_future')")
    result = subprocess.run(
        [str(binary), "serve", "--port", "0", "--data-dir", str(data)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode != 0
    assert "newer version of Spool" in result.stderr
    assert "9999_from_the_future" in result.stderr


def test_configuration_file_and_environment(binary, tmp_path):
    config = tmp_path / "spool.json"
    config.write_text(json.dumps({"accountId": "123456789012", "region": "eu-west-1", "durability": "normal"}))
    server = SpoolProcess(binary, tmp_path / "data", extra_env={"SPOOL_REGION": "eu-central-1"}, extra_args=["--config", str(config)])
    try:
        health = server.start()
        assert health["durability"] == "normal"
        # The configured region is the home region: its queue URLs name no region (docs/regions.md).
        sqs = boto3.client("sqs", endpoint_url=server.endpoint, region_name="eu-central-1", aws_access_key_id="t", aws_secret_access_key="t")
        url = sqs.create_queue(QueueName="cfg")["QueueUrl"]
        assert url == f"{server.endpoint}/123456789012/cfg"  # the environment beats the file
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        assert arn == "arn:aws:sqs:eu-central-1:123456789012:cfg"
        elsewhere = make_client(server.endpoint).create_queue(QueueName="cfg")["QueueUrl"]
        assert elsewhere == f"{server.endpoint}/us-east-1/123456789012/cfg"
    finally:
        server.stop()
    bad = subprocess.run(
        [str(binary), "serve", "--data-dir", str(tmp_path / "x")], capture_output=True, text=True, timeout=30,
        env={"SPOOL_DURABILITY": "sometimes", "PATH": "/usr/bin:/bin"},
    )
    assert bad.returncode != 0
    assert "durability" in bad.stderr


def test_sigkill_loses_no_acknowledged_message(binary, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    server = SpoolProcess(binary, tmp_path / "data")
    server.start()
    url = make_client(server.endpoint).create_queue(QueueName="crash")["QueueUrl"]
    acknowledged = set()
    lock = threading.Lock()
    stop = threading.Event()

    def producer(worker):
        client = make_client(server.endpoint)
        for i in range(500):
            if stop.is_set():
                return
            try:
                message_id = client.send_message(QueueUrl=url, MessageBody=f"{worker}-{i}")["MessageId"]
            except Exception:
                return  # the server died under us: this send was never acknowledged
            with lock:
                acknowledged.add(message_id)

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(producer, w) for w in range(8)]
        while len(acknowledged) < 300:
            time.sleep(0.01)
        server.proc.kill()  # SIGKILL, mid-load
        stop.set()
        for future in futures:
            future.result()
    server.proc.wait()
    server.log.close()
    with lock:
        expected = set(acknowledged)

    server.start()
    try:
        sqs = make_client(server.endpoint)
        found = set()
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600).get("Messages", [])
            if not messages:
                break
            found |= {m["MessageId"] for m in messages}
        assert expected <= found, f"{len(expected - found)} acknowledged messages lost"
    finally:
        server.stop()
