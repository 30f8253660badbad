"""Seeded fuzzing of every protocol against a running server: thousands of mutated requests must each get a
well-formed 4xx (or a success), never a crash, a hang, a 5xx or a damaged database; afterwards the server still
answers correctly and what was stored before is intact.

CI runs FUZZ_REQUESTS=3000 (the default). A longer, reproducible run:

    FUZZ_REQUESTS=100000 FUZZ_SEED=7 python3 -m pytest -q Tests/compat/test_fuzz.py
"""
import json
import os
import sqlite3
import time
import urllib.request

from conftest import SpoolProcess, make_client
from functions import CURL_BOOTSTRAP, create_bootstrap, create_python
from fuzzer import Fuzzer, seeds

# The tests' curl bootstrap, telling the test its Runtime API address first.
RECORDING_BOOTSTRAP = CURL_BOOTSTRAP.replace("#!/bin/sh\n", '#!/bin/sh\necho "$AWS_LAMBDA_RUNTIME_API" > "$ADDRESS_FILE"\n', 1)


def test_mutated_requests_on_every_protocol(binary, tmp_path):
    count = int(os.environ.get("FUZZ_REQUESTS", "3000"))
    seed = int(os.environ.get("FUZZ_SEED", "20261128"))
    server = SpoolProcess(binary, tmp_path / "data")
    server.start()
    try:
        sqs, kinesis, lam = make_client(server.endpoint), make_client(server.endpoint, "kinesis"), make_client(server.endpoint, "lambda")
        # What is stored before the fuzzing, to be found intact after it.
        canary = sqs.create_queue(QueueName="canary-queue")["QueueUrl"]
        for n in range(5):
            sqs.send_message(QueueUrl=canary, MessageBody=f"canary {n}")
        kinesis.create_stream(StreamName="canary-stream", ShardCount=1)
        kinesis.put_record(StreamName="canary-stream", Data=b"canary", PartitionKey="c")
        echo = create_python(lam, "def handler(event, context):\n    return event\n", name="canary-echo")
        queue_url = sqs.create_queue(QueueName="fz-queue")["QueueUrl"]
        kinesis.create_stream(StreamName="fz-stream", ShardCount=1)
        function = create_python(lam, "def handler(event, context):\n    return {'got': event}\n", name="fz-fn")
        address_file = tmp_path / "runtime-api"
        runtime_fn = create_bootstrap(lam, RECORDING_BOOTSTRAP, name="fz-rt", Environment={"Variables": {"ADDRESS_FILE": str(address_file)}})
        assert lam.invoke(FunctionName=runtime_fn, Payload=b'{"warm": 1}')["StatusCode"] == 200
        runtime_port = int(address_file.read_text().strip().rsplit(":", 1)[1])

        fuzzer = Fuzzer(server.port, seeds(queue_url, "fz-stream", function, runtime_port), seed)
        started = time.time()
        for _ in range(count):
            fuzzer.one()
            assert server.proc.poll() is None, f"spool exited after {fuzzer.count} requests: {fuzzer.problems[-3:]}"
        print(f"fuzz: {fuzzer.count} requests, seed {seed}, {time.time() - started:.1f} s, statuses {sorted(fuzzer.statuses.items())}")
        assert fuzzer.problems == [], "\n".join(map(str, fuzzer.problems[:20]))

        # Still serving correct answers, and the canaries are intact.
        with urllib.request.urlopen(server.endpoint + "/health", timeout=5) as answer:
            assert json.loads(answer.read())["status"] == "ok"
        bodies = set()
        for _ in range(5):
            for message in sqs.receive_message(QueueUrl=canary, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages", []):
                bodies.add(message["Body"])
        assert bodies == {f"canary {n}" for n in range(5)}
        shard = kinesis.list_shards(StreamName="canary-stream")["Shards"][0]["ShardId"]
        iterator = kinesis.get_shard_iterator(StreamName="canary-stream", ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        assert [r["Data"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]] == [b"canary"]
        assert json.loads(lam.invoke(FunctionName=echo, Payload=b'{"after": "fuzz"}')["Payload"].read()) == {"after": "fuzz"}
        assert json.loads(lam.invoke(FunctionName=runtime_fn, Payload=b'{"still": 1}')["Payload"].read())["event"] == {"still": 1}
    finally:
        code = server.stop()
    assert code == 0
    db = sqlite3.connect(tmp_path / "data" / "spool.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
