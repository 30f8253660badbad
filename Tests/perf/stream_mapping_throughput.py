"""Stream mapping drain rate, a smoke check until `spool bench` exists (issue 7).

Fills a stream of `--shards` shards with `--records` 100-byte records (PutRecords of 500 from 8 threads), then maps
it from TRIM_HORIZON to a no-op Python (awslambdaric) function with each `--batch-size` and reports records per
second from the mapping's creation until the function has seen every record.

    SPOOL_BIN=.build/release/spool python3 Tests/perf/stream_mapping_throughput.py [--records 20000] [--shards 4] [--batch-size 100 1000]
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
from mapping_throughput import COUNTING  # noqa: E402  (the same no-op function that counts its batches)

def fill(kinesis, stream, count):
    data = b"x" * 100

    def chunk(start):
        records = [{"Data": data, "PartitionKey": f"key-{start + i}"} for i in range(min(500, count - start))]
        assert kinesis.put_records(StreamName=stream, Records=records)["FailedRecordCount"] == 0

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(chunk, range(0, count, 500)))


def seen(path):
    return sum(int(line) for line in path.read_text().split()) if path.exists() else 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--batch-size", type=int, nargs="+", default=[100, 1000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        server = SpoolProcess(spool_binary(), Path(directory) / "data")
        server.start()
        try:
            lam, kinesis = make_client(server.endpoint, "lambda"), make_client(server.endpoint, "kinesis")
            for size in args.batch_size:
                batch_file = Path(directory) / f"batches-{size}.txt"
                name = f"noop-{uuid.uuid4().hex[:6]}"
                lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler", Timeout=30,
                                    Code={"ZipFile": package({"app.py": COUNTING})},
                                    Environment={"Variables": {"BATCH_FILE": str(batch_file)}})
                stream = f"drain-{size}-{uuid.uuid4().hex[:6]}"
                kinesis.create_stream(StreamName=stream, ShardCount=args.shards)
                put_started = time.time()
                fill(kinesis, stream, args.records)
                put_elapsed = time.time() - put_started
                started = time.time()
                lam.create_event_source_mapping(EventSourceArn=f"arn:aws:kinesis:us-east-1:000000000000:stream/{stream}",
                                                FunctionName=name, BatchSize=size, StartingPosition="TRIM_HORIZON")
                while seen(batch_file) < args.records:
                    time.sleep(0.05)
                elapsed = time.time() - started
                sizes = [int(line) for line in batch_file.read_text().split()]
                print(f"put: {args.records / put_elapsed:,.0f} records/s; batch size {size:>5}: {args.records} records in {elapsed:.2f} s = "
                      f"{args.records / elapsed:,.0f} records/s ({len(sizes)} batches, largest {max(sizes)}, mean {sum(sizes) / len(sizes):.0f})")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
