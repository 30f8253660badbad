"""Cold-start and warm-invoke latency of a Python (awslambdaric) and a `provided` (curl bootstrap) function.

Measured from the client: one synchronous Invoke over loopback with boto3, so the figures include the
HTTP round trip. Cold: a fresh function (new code revision) per sample. Warm: repeated invokes of one
function. Also prints Lambda's own Init Duration and Duration from the REPORT line.

    SPOOL_BIN=.build/release/spool python3 Tests/perf/function_latency.py [--samples 20] [--warm 200]
"""
import argparse
import base64
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compat"))
from conftest import SpoolProcess, make_client, spool_binary  # noqa: E402
from functions import CURL_BOOTSTRAP, ROLE, package  # noqa: E402

PYTHON = "def handler(event, context):\n    return event\n"


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(label, values):
    print(f"{label:<34} p50 {statistics.median(values):7.2f} ms   p90 {percentile(values, 90):7.2f} ms   "
          f"p99 {percentile(values, 99):7.2f} ms   max {max(values):7.2f} ms   (n={len(values)})")


def create(lam, runtime, index):
    name = f"lat-{runtime.replace('.', '-')}-{index}-{int(time.time() * 1000)}"
    if runtime.startswith("python"):
        lam.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler="app.handler", Code={"ZipFile": package({"app.py": PYTHON})})
    else:
        lam.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler="h",
                            Code={"ZipFile": package({"bootstrap": CURL_BOOTSTRAP}, {"bootstrap": 0o755})})
    return name


def timed_invoke(lam, name):
    started = time.perf_counter()
    response = lam.invoke(FunctionName=name, Payload=b'{"k": 1}', LogType="Tail")
    elapsed = (time.perf_counter() - started) * 1000
    assert "FunctionError" not in response, response["Payload"].read()
    report = base64.b64decode(response["LogResult"]).decode()
    duration = float(re.search(r"\tDuration: ([\d.]+) ms", report).group(1))
    init = re.search(r"Init Duration: ([\d.]+) ms", report)
    return elapsed, duration, float(init.group(1)) if init else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--warm", type=int, default=200)
    args = parser.parse_args()
    import tempfile
    data = Path(tempfile.mkdtemp()) / "data"
    server = SpoolProcess(spool_binary(), data)
    server.start()
    try:
        lam = make_client(server.endpoint, "lambda")
        for runtime in ["python3.11", "provided.al2023"]:
            cold, cold_init = [], []
            for index in range(args.samples):
                name = create(lam, runtime, index)
                elapsed, _, init = timed_invoke(lam, name)
                cold.append(elapsed)
                cold_init.append(init)
                lam.delete_function(FunctionName=name)
            name = create(lam, runtime, "warm")
            timed_invoke(lam, name)
            warm = [timed_invoke(lam, name) for _ in range(args.warm)]
            summary(f"{runtime} cold start (client)", cold)
            summary(f"{runtime} cold Init Duration", cold_init)
            summary(f"{runtime} warm invoke (client)", [w[0] for w in warm])
            summary(f"{runtime} warm Duration (REPORT)", [w[1] for w in warm])
    finally:
        server.stop()


if __name__ == "__main__":
    main()
