#!/usr/bin/env python3
"""Power-loss simulation: a receive whose commit a power loss undoes must never let its receipt touch the message
once it was received again.

Each round: send messages, take a consistent copy of the database with `spool backup` (what the disk would hold if
the commits after it were lost), receive messages under receipts R, kill the server with SIGKILL, put the copy back
in place of the database (its WAL and index removed), start again, receive the same messages again (receipts R2),
then try every stale receipt R: a delete and a visibility change. Afterwards every message must still be in flight
with its new holder, and the new receipts must delete them. Prints rounds, receipts tried, stale deletes and
visibility changes that landed (both must be 0), and rounds where the new receipts did not delete every message (must be 0). Exit status 0 only if all hold.

    python3 Tests/crash/power_loss.py --rounds 50 --binary .build/release/spool
"""
import argparse
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, binary: Path, data: Path, durability: str):
        self.binary, self.data, self.durability = binary, data, durability
        self.port = free_port()
        self.proc = None

    def start(self):
        log = open(self.data.parent / "spool.log", "ab")
        self.proc = subprocess.Popen([str(self.binary), "serve", "--port", str(self.port), "--data-dir", str(self.data),
                                      "--durability", self.durability], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("spool did not start")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def client(self):
        return boto3.client("sqs", endpoint_url=f"http://127.0.0.1:{self.port}", region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test",
                            config=Config(retries={"max_attempts": 1}))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/release/spool")
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--messages", type=int, default=10, help="messages received per round")
    parser.add_argument("--durability", default="full", choices=["full", "normal"])
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="spool-power-"))
    server = Server(Path(args.binary).resolve(), workdir / "data", args.durability)
    server.start()
    sqs = server.client()
    url = sqs.create_queue(QueueName="power", Attributes={"VisibilityTimeout": "600"})["QueueUrl"]
    report = {"rounds": 0, "durability": args.durability, "stale_receipts_tried": 0, "stale_deletes_landed": 0,
              "stale_visibility_changes_landed": 0, "current_deletes_failed": 0}
    for round_ in range(args.rounds):
        sent = {sqs.send_message(QueueUrl=url, MessageBody=f"r{round_}-m{n}")["MessageId"] for n in range(args.messages)}
        backup = workdir / f"before-{round_}"
        made = subprocess.run([str(server.binary), "backup", "--data-dir", str(server.data), str(backup)], capture_output=True, text=True)
        if made.returncode != 0:
            print(made.stderr, file=sys.stderr)
            return 2
        stale = {}
        while len(stale) < len(sent):
            for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                if message["MessageId"] in sent:
                    stale[message["MessageId"]] = message["ReceiptHandle"]
        server.kill()
        database = server.data / "spool.sqlite"
        for suffix in ("", "-wal", "-shm"):
            database.with_name(database.name + suffix).unlink(missing_ok=True)
        shutil.copyfile(backup / "spool.sqlite", database)
        shutil.rmtree(backup)
        server.start()
        sqs = server.client()
        current = {}
        while len(current) < len(sent):
            for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                if message["MessageId"] in sent:
                    current[message["MessageId"]] = message["ReceiptHandle"]
        for message_id, receipt in stale.items():
            report["stale_receipts_tried"] += 1
            # Both succeed, as on AWS, and must change nothing: the new holders' messages stay in flight.
            sqs.delete_message(QueueUrl=url, ReceiptHandle=receipt)
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=0)
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        in_flight = int(counts["ApproximateNumberOfMessagesNotVisible"])
        report["stale_visibility_changes_landed"] += int(counts["ApproximateNumberOfMessages"])
        if in_flight < len(sent):
            report["stale_deletes_landed"] += len(sent) - in_flight
        for message_id, receipt in current.items():
            sqs.delete_message(QueueUrl=url, ReceiptHandle=receipt)
        left = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        if int(left["ApproximateNumberOfMessages"]) + int(left["ApproximateNumberOfMessagesNotVisible"]) != 0:
            report["current_deletes_failed"] += 1
        report["rounds"] += 1
    server.kill()
    shutil.rmtree(workdir, ignore_errors=True)
    ok = report["stale_deletes_landed"] == 0 and report["stale_visibility_changes_landed"] == 0 and report["current_deletes_failed"] == 0
    print(json.dumps(report, indent=2))
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
