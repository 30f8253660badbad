"""`spool backup`: an online copy of a running server's data directory (database and functions' code) that another
server starts from, elsewhere."""
import json
import shutil
import sqlite3
import subprocess
import threading

from conftest import SpoolProcess, make_client
from functions import create_python, package


def test_online_backup_of_a_running_server_starts_a_second_server_with_the_data(binary, tmp_path):
    source = SpoolProcess(binary, tmp_path / "data")
    source.start()
    try:
        sqs, kinesis = make_client(source.endpoint), make_client(source.endpoint, "kinesis")
        url = sqs.create_queue(QueueName="kept")["QueueUrl"]
        for n in range(20):
            sqs.send_message(QueueUrl=url, MessageBody=f"message {n}")
        kinesis.create_stream(StreamName="kept", ShardCount=1)
        kinesis.put_record(StreamName="kept", Data=b"record", PartitionKey="p")
        lam = make_client(source.endpoint, "lambda")
        layer = lam.publish_layer_version(LayerName="kept-layer", Content={"ZipFile": package({"python/kept_helper.py": "WORD = 'from the layer'\n"})})
        create_python(lam, "import kept_helper\ndef handler(event, context):\n    return {'restored': event, 'word': kept_helper.WORD}\n", name="kept",
                      Layers=[layer["LayerVersionArn"]])
        # Writes keep going while the backup runs.
        stop = threading.Event()

        def writer():
            while not stop.is_set():
                sqs.send_message(QueueUrl=url, MessageBody="during")

        thread = threading.Thread(target=writer)
        thread.start()
        target = tmp_path / "copy"
        copy = target / "spool.sqlite"
        try:
            made = subprocess.run([str(binary), "backup", "--data-dir", str(tmp_path / "data"), str(target)], capture_output=True, text=True, timeout=120)
        finally:
            stop.set()
            thread.join()
        assert made.returncode == 0, made.stderr
        assert "backed up" in made.stdout and "code of 1 functions" in made.stdout
        again = subprocess.run([str(binary), "backup", "--data-dir", str(tmp_path / "data"), str(target)], capture_output=True, text=True, timeout=120)
        assert again.returncode != 0 and "is not empty" in again.stderr
    finally:
        source.stop()
    # The original is gone: the copy must stand on its own, code included, in another place.
    shutil.rmtree(tmp_path / "data")
    moved = tmp_path / "elsewhere" / "restored"
    moved.parent.mkdir()
    shutil.move(str(target), str(moved))
    copy = moved / "spool.sqlite"
    db = sqlite3.connect(copy)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    restored = SpoolProcess(binary, moved)
    restored.start()
    try:
        sqs, kinesis = make_client(restored.endpoint), make_client(restored.endpoint, "kinesis")
        url = sqs.get_queue_url(QueueName="kept")["QueueUrl"]
        bodies = set()
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages", [])
            if not messages:
                break
            bodies.update(m["Body"] for m in messages)
        assert {f"message {n}" for n in range(20)} <= bodies
        shard = kinesis.list_shards(StreamName="kept")["Shards"][0]["ShardId"]
        iterator = kinesis.get_shard_iterator(StreamName="kept", ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        assert [r["Data"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]] == [b"record"]
        answer = make_client(restored.endpoint, "lambda").invoke(FunctionName="kept", Payload=b'{"n": 1}')
        assert "FunctionError" not in answer and json.loads(answer["Payload"].read()) == {"restored": {"n": 1}, "word": "from the layer"}
    finally:
        restored.stop()
