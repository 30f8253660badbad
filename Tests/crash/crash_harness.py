#!/usr/bin/env python3
"""Crash harness: kills `spool serve` with SIGKILL at random moments under load and proves that nothing
acknowledged is lost.

Several client threads drive asynchronous invokes, SQS sends (to a plain queue and to a queue mapped to a
function), SQS receive+delete, and Kinesis puts (to a stream mapped to the same function). The function is a
webhook served by this script, which records every event id it is handed. The server is killed at a random
moment, checked with `PRAGMA integrity_check`, and restarted on the same data directory, many times over.
At the end it checks, by id: every acknowledged async event, mapped message and stream record was
delivered at least once; every acknowledged message of the plain queue was either deleted (acknowledged)
or is still there; no message whose delete was acknowledged is there again; every acknowledged record is
still readable; the database is intact. Exit status 0 only if nothing was lost.

    python3 Tests/crash/crash_harness.py --kills 1000 --binary .build/release/spool

With `--database postgres://…` the servers run on that (empty) PostgreSQL database, and with `--nodes N` there are N
of them sharing it: clients spread their requests over the nodes, and each kill takes one node at random while the
others keep serving.

    python3 Tests/crash/crash_harness.py --kills 100 --nodes 3 --database postgres://spool@127.0.0.1:5432/crash
"""
import argparse
import base64
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
FUNCTION = "crash-sink"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """The function: an HTTP endpoint (Spool's webhook executor) that counts the ids it is handed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.delivered = Counter()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                ids = []
                event = json.loads(body)
                for record in event.get("Records", []) if isinstance(event, dict) else []:
                    if record.get("eventSource") == "aws:sqs":
                        ids.append(record["body"])
                    elif record.get("eventSource") == "aws:kinesis":
                        ids.append(base64.b64decode(record["kinesis"]["data"]).decode())
                if isinstance(event, dict) and "id" in event:
                    ids.append(event["id"])
                with sink.lock:
                    sink.delivered.update(ids)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:
                    pass  # Spool was killed while waiting for the answer.

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def snapshot(self) -> Counter:
        with self.lock:
            return Counter(self.delivered)


class Server:
    def __init__(self, binary: Path, workdir: Path, sink_port: int, database: str | None = None, index: int = 0):
        self.binary = binary
        self.database = database
        self.data_dir = workdir / ("data" if index == 0 else f"data-{index}")
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log = open(workdir / ("spool.log" if index == 0 else f"spool-{index}.log"), "ab")
        self.config = workdir / "spool.json"
        self.config.write_text(json.dumps({
            "functions": {"declared": [{"name": FUNCTION, "executor": "webhook", "url": f"http://127.0.0.1:{sink_port}/", "timeout": 5}]},
            "async": {"retryBaseDelayMs": 200, "throttleBaseDelayMs": 100, "throttleMaxDelayMs": 1000},
        }))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [str(self.binary), "serve", "--port", str(self.port), "--data-dir", str(self.data_dir), "--config", str(self.config),
             *(["--database", self.database] if self.database else [])],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"spool exited with {self.proc.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(self.endpoint + "/health", timeout=1):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("spool did not become healthy")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def integrity(self) -> str:
        if self.database:
            return "ok"  # PostgreSQL recovers its own files; what is checked is that nothing acknowledged is lost
        db = sqlite3.connect(self.data_dir / "spool.sqlite")
        try:
            return ";".join(row[0] for row in db.execute("PRAGMA integrity_check"))
        finally:
            db.close()


class Load:
    """Client threads; an id counts as acknowledged only once its request answered 2xx."""

    def __init__(self, endpoints: list, queue_url: str, mapped_url: str, stream: str, clients: int, seed: int):
        self.endpoints = endpoints
        self.queue_url, self.mapped_url, self.stream = queue_url, mapped_url, stream
        self.lock = threading.Lock()
        self.acked = {"async": set(), "queue": set(), "mapped": set(), "stream": set()}
        self.deleted = set()
        # Deletes sent whose answer never came (the server was killed): those messages may or may not be gone.
        self.delete_unknown = set()
        self.requests = Counter()
        self.running = threading.Event()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.client, args=(seed + n,), daemon=True) for n in range(clients)]
        self.threads.append(threading.Thread(target=self.receiver, daemon=True))

    def clients(self, endpoint):
        # One attempt: a retried send after a kill would store a second copy under the same id.
        config = Config(retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=10)
        kwargs = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="crash", aws_secret_access_key="crash", config=config)
        return boto3.client("lambda", **kwargs), boto3.client("sqs", **kwargs), boto3.client("kinesis", **kwargs)

    def ack(self, kind, ids):
        with self.lock:
            self.acked[kind].update(ids)

    def client(self, seed):
        rng = random.Random(seed)
        # With several nodes, each request goes to one of them at random.
        per_node = [self.clients(endpoint) for endpoint in self.endpoints]
        while not self.stopping.is_set():
            self.running.wait()
            lam, sqs, kinesis = rng.choice(per_node)
            kind = rng.choice(["async", "queue", "mapped", "stream"])
            ids = [f"{kind}-{uuid.uuid4().hex}" for _ in range(rng.randint(1, 10))]
            try:
                if kind == "async":
                    ids = ids[:1]
                    lam.invoke(FunctionName=FUNCTION, InvocationType="Event", Payload=json.dumps({"id": ids[0]}).encode())
                elif kind in ("queue", "mapped"):
                    url = self.queue_url if kind == "queue" else self.mapped_url
                    answer = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": v} for i, v in enumerate(ids)])
                    ok = {e["Id"] for e in answer.get("Successful", [])}
                    ids = [v for i, v in enumerate(ids) if str(i) in ok]
                else:
                    answer = kinesis.put_records(StreamName=self.stream, Records=[{"Data": v.encode(), "PartitionKey": v} for v in ids])
                    ids = [v for v, r in zip(ids, answer["Records"]) if "SequenceNumber" in r]
                self.ack(kind, ids)
                self.requests["ok"] += 1
            except Exception:
                self.requests["failed"] += 1
                time.sleep(0.02)

    def receiver(self):
        per_node = [self.clients(endpoint)[1] for endpoint in self.endpoints]
        while not self.stopping.is_set():
            self.running.wait()
            sqs = random.choice(per_node)
            try:
                messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=2).get("Messages", [])
                if not messages:
                    time.sleep(0.05)
                    continue
                bodies = [m["Body"] for m in messages]
                with self.lock:
                    self.delete_unknown.update(bodies)
                answer = sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
                done = {e["Id"] for e in answer.get("Successful", [])}
                with self.lock:
                    self.deleted.update(b for i, b in enumerate(bodies) if str(i) in done)
                    self.delete_unknown.difference_update(bodies)
            except Exception:
                time.sleep(0.02)


def setup(endpoint: str):
    config = Config(retries={"max_attempts": 3})
    kwargs = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="crash", aws_secret_access_key="crash", config=config)
    lam, sqs, kinesis = boto3.client("lambda", **kwargs), boto3.client("sqs", **kwargs), boto3.client("kinesis", **kwargs)
    queue_url = sqs.create_queue(QueueName="crash-plain")["QueueUrl"]
    mapped_url = sqs.create_queue(QueueName="crash-mapped", Attributes={"VisibilityTimeout": "6"})["QueueUrl"]
    mapped_arn = sqs.get_queue_attributes(QueueUrl=mapped_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    kinesis.create_stream(StreamName="crash-stream", ShardCount=2)
    while kinesis.describe_stream_summary(StreamName="crash-stream")["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
        time.sleep(0.05)
    stream_arn = kinesis.describe_stream_summary(StreamName="crash-stream")["StreamDescriptionSummary"]["StreamARN"]
    lam.create_event_source_mapping(FunctionName=FUNCTION, EventSourceArn=mapped_arn, BatchSize=10)
    lam.create_event_source_mapping(FunctionName=FUNCTION, EventSourceArn=stream_arn, BatchSize=100, StartingPosition="TRIM_HORIZON")
    return queue_url, mapped_url, "crash-stream"


def final_reads(endpoint: str, queue_url: str, stream: str):
    config = Config(retries={"max_attempts": 3})
    kwargs = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="crash", aws_secret_access_key="crash", config=config)
    sqs, kinesis = boto3.client("sqs", **kwargs), boto3.client("kinesis", **kwargs)
    remaining = Counter()
    empty_polls = 0
    # Messages received but not deleted before a kill are invisible for up to 2 s.
    while empty_polls < 4:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=600, WaitTimeSeconds=1).get("Messages", [])
        empty_polls = 0 if messages else empty_polls + 1
        remaining.update(m["Body"] for m in messages)
    records = set()
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while iterator:
            answer = kinesis.get_records(ShardIterator=iterator, Limit=10000)
            records.update(r["Data"].decode() for r in answer["Records"])
            if answer.get("MillisBehindLatest", 0) == 0 and not answer["Records"]:
                break
            iterator = answer.get("NextShardIterator")
    return remaining, records


def run(binary: Path, kills: int, seed: int, clients: int, max_uptime: float, workdir: Path, out=sys.stdout,
        database: str | None = None, nodes: int = 1) -> dict:
    rng = random.Random(seed)
    sink = Sink()
    servers = [Server(binary, workdir, sink.port, database, index) for index in range(nodes)]
    for node in servers:
        node.start()
    server = servers[0]
    queue_url, mapped_url, stream = setup(server.endpoint)
    load = Load([node.endpoint for node in servers], queue_url, mapped_url, stream, clients, seed)
    for thread in load.threads:
        thread.start()
    corrupt = []
    started = time.time()
    for kill in range(1, kills + 1):
        load.running.set()
        time.sleep(rng.uniform(0.05, max_uptime))
        victim = rng.choice(servers)
        victim.kill()
        if nodes == 1:
            load.running.clear()
        check = victim.integrity()
        if check != "ok":
            corrupt.append((kill, check))
        victim.start()
        if kill % 50 == 0 or kill == kills:
            print(f"  {kill} kills, {sum(len(v) for v in load.acked.values())} acknowledged, {time.time() - started:.0f} s", file=out, flush=True)
    load.running.set()
    time.sleep(0.5)
    load.stopping.set()
    for thread in load.threads:
        thread.join(timeout=30)
    # Everything acknowledged for a function must arrive: wait for the leases cut by the last kill to run again.
    expected = load.acked["async"] | load.acked["mapped"] | load.acked["stream"]
    deadline = time.time() + 180
    while time.time() < deadline and not expected <= set(sink.snapshot()):
        time.sleep(0.5)
    delivered = sink.snapshot()
    remaining, records = final_reads(server.endpoint, queue_url, stream)
    codes = [node.stop() for node in servers]
    code = max(codes, key=abs)
    final_check = server.integrity()
    if final_check != "ok":
        corrupt.append(("final", final_check))
    lost_delivery = expected - set(delivered)
    lost_queue = load.acked["queue"] - load.deleted - load.delete_unknown - set(remaining)
    reappeared = load.deleted & set(remaining)
    lost_records = load.acked["stream"] - records
    report = {
        "seed": seed,
        "kills": kills,
        "requests": dict(load.requests),
        "acknowledged": {k: len(v) for k, v in load.acked.items()},
        "acknowledged_deletes": len(load.deleted),
        "deletes_unanswered": len(load.delete_unknown),
        "delivered": len(set(delivered) & expected),
        "delivered_unacknowledged": len(set(delivered) - expected),
        "duplicates": sum(count - 1 for count in delivered.values() if count > 1),
        "lost": len(lost_delivery) + len(lost_queue) + len(lost_records),
        "lost_ids": sorted(lost_delivery | lost_queue | lost_records)[:20],
        "deleted_reappeared": len(reappeared),
        "reappeared_ids": sorted(reappeared)[:20],
        "integrity": "ok" if not corrupt else corrupt,
        "stop_exit_code": code,
        "seconds": round(time.time() - started, 1),
    }
    sink.server.shutdown()
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--max-uptime", type=float, default=1.5, help="longest run between kills, seconds (each is uniform from 0.05)")
    parser.add_argument("--binary", default=os.environ.get("SPOOL_BIN", str(ROOT / ".build/debug/spool")))
    parser.add_argument("--workdir", help="keep the data dir and log here (default: a temporary directory)")
    parser.add_argument("--database", help="run the servers on this (empty) PostgreSQL database instead of SQLite")
    parser.add_argument("--nodes", type=int, default=1, help="servers sharing --database; each kill takes one at random")
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="spool-crash-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"crash harness: {args.kills} kills, seed {args.seed}, data in {workdir}", flush=True)
    if args.nodes > 1 and not args.database:
        parser.error("--nodes needs --database")
    report = run(Path(args.binary), args.kills, args.seed, args.clients, args.max_uptime, workdir, database=args.database, nodes=args.nodes)
    print(json.dumps(report, indent=2))
    ok = report["lost"] == 0 and report["deleted_reappeared"] == 0 and report["integrity"] == "ok"
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
