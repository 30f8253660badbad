"""Asynchronous invocation figures, a smoke check until `spool bench` exists (issue 7).

1. Ingest: `wrk` posts 1 KiB `Event` invokes with 64 connections to a function whose single reserved slot
   is held by a long call, so the figure is the intake (a durable commit per 202), not the dispatch.
2. End to end: `wrk` (16 connections) posts events to a no-op Python (awslambdaric) function with an
   on-success queue for the same time; then the time from the first 202 to the last success record, and
   events delivered per second.

    SPOOL_BIN=.build/release/spool python3 Tests/perf/async_throughput.py [--seconds 10]
"""
import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compat"))
from conftest import SpoolProcess, make_client, spool_binary  # noqa: E402
from functions import ROLE, package  # noqa: E402

NOOP = "def handler(event, context):\n    return None\n"
HOLD = "import time\ndef handler(event, context):\n    time.sleep(event[\"seconds\"])\n"
WRK_SCRIPT = """wrk.method = "POST"
wrk.headers["X-Amz-Invocation-Type"] = "Event"
wrk.body = '{"data":"%s"}'
""" % ("x" * 1012)


def wrk(server, function, seconds, connections=64):
    """Posts 1 KiB Event invokes with wrk; returns (accepted, per second, latency percentiles, non-2xx)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT)
        script.flush()
        out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name,
                              f"{server.endpoint}/2015-03-31/functions/{function}/invocations"],
                             capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = dict(re.findall(r"\s+(50|90|99)%\s+(\S+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return total, rate, latency, int(non2xx.group(1)) if non2xx else 0


def ingest(server, lam, seconds):
    lam.create_function(FunctionName="held", Runtime="python3.11", Role=ROLE, Handler="app.handler", Timeout=900,
                        Code={"ZipFile": package({"app.py": HOLD})})
    lam.put_function_concurrency(FunctionName="held", ReservedConcurrentExecutions=1)
    holder = make_client(server.endpoint, "lambda")
    threading.Thread(target=lambda: holder.invoke(FunctionName="held", Payload=json.dumps({"seconds": seconds + 3}).encode()),
                     daemon=True).start()
    time.sleep(1)
    _, rate, latency, errors = wrk(server, "held", seconds)
    print(f"ingest: {rate:,.0f} accepted/s   p50 {latency.get('50')}  p90 {latency.get('90')}  p99 {latency.get('99')}"
          f"   non-202: {errors}")


def end_to_end(server, lam, sqs, seconds):
    url = sqs.create_queue(QueueName="delivered")["QueueUrl"]
    lam.create_function(FunctionName="noop", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": package({"app.py": NOOP})})
    lam.put_function_event_invoke_config(FunctionName="noop", DestinationConfig={
        "OnSuccess": {"Destination": "arn:aws:sqs:us-east-1:000000000000:delivered"}})
    lam.invoke(FunctionName="noop", Payload=b"{}")  # one warm environment before the clock starts
    started = time.time()
    accepted, rate, _, errors = wrk(server, "noop", seconds, connections=16)
    while True:
        count = int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
                    ["Attributes"]["ApproximateNumberOfMessages"])
        if count >= accepted - errors:
            break
        time.sleep(0.05)
    elapsed = time.time() - started
    print(f"end to end: {accepted - errors} events accepted in {seconds} s ({rate:,.0f}/s), all delivered to a Python function "
          f"and their records queued after {elapsed:.2f} s ({(accepted - errors) / elapsed:,.0f} delivered/s)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        server = SpoolProcess(spool_binary(), Path(directory) / "data", extra_env={"SPOOL_LOG_LEVEL": "warning"})
        server.start()
        try:
            lam, sqs = make_client(server.endpoint, "lambda"), make_client(server.endpoint)
            ingest(server, lam, args.seconds)
            end_to_end(server, lam, sqs, args.seconds)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
