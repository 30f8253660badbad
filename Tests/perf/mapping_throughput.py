"""Queue mapping drain rate, a smoke check until `spool bench` exists (issue 7).

Fills a queue with `--messages` 100-byte messages (SendMessageBatch from 8 threads), then maps it to a no-op
Python (awslambdaric) function with each `--batch-size` and reports records per second from the mapping's
creation until the queue is empty, with the batches the function saw.

    SPOOL_BIN=.build/release/spool python3 Tests/perf/mapping_throughput.py [--messages 20000] [--batch-size 10 100 1000]
"""
import argparse
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compat"))
from conftest import SpoolProcess, make_client, spool_binary  # noqa: E402
from functions import ROLE, package  # noqa: E402

COUNTING = """import os
def handler(event, context):
    with open(os.environ["BATCH_FILE"], "a") as batches:
        batches.write(str(len(event["Records"])) + "\\n")
"""


def fill(sqs, url, count):
    body = "x" * 100

    def chunk(start):
        entries = [{"Id": str(i), "MessageBody": body} for i in range(min(10, count - start))]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(chunk, range(0, count, 10)))


def depth(sqs, url):
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, nargs="+", default=[10, 100, 1000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        server = SpoolProcess(spool_binary(), Path(directory) / "data")
        server.start()
        try:
            lam, sqs = make_client(server.endpoint, "lambda"), make_client(server.endpoint)
            for size in args.batch_size:
                batch_file = Path(directory) / f"batches-{size}.txt"
                name = f"noop-{uuid.uuid4().hex[:6]}"
                lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler", Timeout=30,
                                    Code={"ZipFile": package({"app.py": COUNTING})},
                                    Environment={"Variables": {"BATCH_FILE": str(batch_file)}})
                queue = f"drain-{size}-{uuid.uuid4().hex[:6]}"
                url = sqs.create_queue(QueueName=queue)["QueueUrl"]
                fill(sqs, url, args.messages)
                started = time.time()
                lam.create_event_source_mapping(EventSourceArn=f"arn:aws:sqs:us-east-1:000000000000:{queue}", FunctionName=name,
                                                BatchSize=size, MaximumBatchingWindowInSeconds=0 if size <= 10 else 1)
                while depth(sqs, url) > 0:
                    time.sleep(0.05)
                elapsed = time.time() - started
                sizes = [int(line) for line in batch_file.read_text().split()]
                print(f"batch size {size:>5}: {args.messages} records in {elapsed:.2f} s = {args.messages / elapsed:,.0f} records/s "
                      f"({len(sizes)} batches, largest {max(sizes)}, mean {sum(sizes) / len(sizes):.0f})")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
