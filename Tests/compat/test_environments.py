"""Execution environments: provisioned concurrency, extensions, memory limits, idle reclaim, webhooks from the
configuration file, and a clean shutdown that leaves no process behind."""
import base64
import http.server
import json
import os
import threading
import time

import pytest
from botocore.exceptions import ClientError

from conftest import SpoolProcess, make_client
from functions import ROLE, create_python, function_name, package

PID_HANDLER = "import os\ndef handler(event, context):\n    return {'pid': os.getpid(), 'init': os.environ['AWS_LAMBDA_INITIALIZATION_TYPE']}\n"


@pytest.fixture()
def lam(server):
    return make_client(server.endpoint, "lambda")


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_provisioned_concurrency_keeps_environments_initialized(lam):
    name = create_python(lam, PID_HANDLER, Publish=True)
    # Lambda refuses provisioned concurrency on the unpublished version.
    with pytest.raises(ClientError) as unpublished:
        lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="$LATEST", ProvisionedConcurrentExecutions=2)
    assert unpublished.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "unpublished function versions" in unpublished.value.response["Error"]["Message"]
    put = lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=2)
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert put["RequestedProvisionedConcurrentExecutions"] == 2
    deadline = time.time() + 20
    while (config := lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="1"))["Status"] != "READY":
        assert time.time() < deadline, config
        time.sleep(0.1)
    assert config["AllocatedProvisionedConcurrentExecutions"] == 2
    assert config["AvailableProvisionedConcurrentExecutions"] == 2
    response = lam.invoke(FunctionName=name, Qualifier="1", LogType="Tail")
    assert json.loads(response["Payload"].read())["init"] == "provisioned-concurrency"
    assert "Init Duration" not in base64.b64decode(response["LogResult"]).decode()
    # $LATEST runs apart from the version's environments: a cold start of its own.
    latest = lam.invoke(FunctionName=name, LogType="Tail")
    assert json.loads(latest["Payload"].read())["init"] == "on-demand"
    with pytest.raises(ClientError) as version:
        lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="3")
    assert version.value.response["Error"]["Code"] == "ResourceNotFoundException"
    listed = lam.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"]
    assert [(c["FunctionArn"].rsplit(":", 1)[1], c["RequestedProvisionedConcurrentExecutions"]) for c in listed] == [("1", 2)]
    lam.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    with pytest.raises(ClientError) as gone:
        lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    assert gone.value.response["Error"]["Code"] == "ProvisionedConcurrencyConfigNotFoundException"


EXTENSION = """#!/bin/sh
set -u
OUT="$EXTENSION_OUT"
BASE="http://$AWS_LAMBDA_RUNTIME_API/2020-01-01/extension"
HEADERS="$(mktemp)"
curl -sS -D "$HEADERS" -X POST "$BASE/register" -H "Lambda-Extension-Name: recorder" -d '{"events":["INVOKE","SHUTDOWN"]}' > "$OUT.register"
ID=$(grep -i Lambda-Extension-Identifier "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
echo "registered" >> "$OUT"
curl -sS -X PUT "http://$AWS_LAMBDA_RUNTIME_API/2022-07-01/telemetry" -H "Lambda-Extension-Identifier: $ID" -d '{}' > "$OUT.telemetry"
while true; do
  EVENT=$(curl -sS -H "Lambda-Extension-Identifier: $ID" "$BASE/event/next") || exit 0
  echo "$EVENT" >> "$OUT"
  case "$EVENT" in *SHUTDOWN*) exit 0 ;; esac
done
"""


def test_extensions_register_before_the_runtime_and_receive_invoke_and_shutdown(lam, tmp_path):
    out = tmp_path / "extension.log"
    name = function_name("ext")
    lam.create_function(
        FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
        Code={"ZipFile": package({"app.py": "def handler(event, context):\n    return 'ran'\n", "extensions/recorder": EXTENSION},
                                 {"extensions/recorder": 0o755})},
        Environment={"Variables": {"EXTENSION_OUT": str(out)}},
    )
    response = lam.invoke(FunctionName=name)
    assert response["Payload"].read() == b'"ran"'
    request_id = response["ResponseMetadata"]["RequestId"]
    registration = json.loads((tmp_path / "extension.log.register").read_text())
    assert registration["functionName"] == name and registration["handler"] == "app.handler"
    assert json.loads((tmp_path / "extension.log.telemetry").read_text())["errorType"] == "Extension.NotSupported"
    deadline = time.time() + 5
    while request_id not in out.read_text():
        assert time.time() < deadline, out.read_text()
        time.sleep(0.05)
    events = [json.loads(line) for line in out.read_text().splitlines()[1:]]
    assert events[0]["eventType"] == "INVOKE" and events[0]["requestId"] == request_id
    assert events[0]["invokedFunctionArn"].endswith(f":function:{name}")
    lam.delete_function(FunctionName=name)
    deadline = time.time() + 5
    while "SHUTDOWN" not in out.read_text():
        assert time.time() < deadline, out.read_text()
        time.sleep(0.05)


def test_a_function_over_its_memory_size_is_killed(lam):
    name = create_python(lam, "def handler(event, context):\n    hog = bytearray(300 * 1024 * 1024)\n    import time\n    time.sleep(1)\n    return len(hog)\n",
                         MemorySize=128, Timeout=10)
    response = lam.invoke(FunctionName=name)
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "Runtime.OutOfMemory"


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        event = json.loads(body)
        status = event.get("status", 200)
        payload = json.dumps({"got": event, "request_id": self.headers["Lambda-Runtime-Aws-Request-Id"]}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def test_functions_declared_in_the_configuration_file_including_webhooks(binary, tmp_path):
    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text("def handler(event, context):\n    return {'local': event}\n")
    config = tmp_path / "spool.json"
    config.write_text(json.dumps({"functions": {"idleTimeoutSeconds": 1, "declared": [
        {"name": "hook", "executor": "webhook", "url": f"http://127.0.0.1:{hook.server_port}/events", "timeout": 2},
        {"name": "local", "runtime": "python3.12", "handler": "app.handler", "codeDirectory": "code", "reservedConcurrency": 2},
    ]}}))
    server = SpoolProcess(binary, tmp_path / "data", extra_args=["--config", str(config)])
    server.start()
    try:
        lam = make_client(server.endpoint, "lambda")
        response = lam.invoke(FunctionName="hook", Payload=json.dumps({"a": 1}))
        body = json.loads(response["Payload"].read())
        assert body == {"got": {"a": 1}, "request_id": response["ResponseMetadata"]["RequestId"]}
        failed = lam.invoke(FunctionName="hook", Payload=json.dumps({"status": 503}))
        assert failed["FunctionError"] == "Unhandled"
        error = json.loads(failed["Payload"].read())
        assert error["errorType"] == "Function.WebhookError" and "503" in error["errorMessage"]
        assert lam.get_function_concurrency(FunctionName="local")["ReservedConcurrentExecutions"] == 2
        first = lam.invoke(FunctionName="local", Payload=b'{"b": 2}')
        assert json.loads(first["Payload"].read()) == {"local": {"b": 2}}
        hook.shutdown()
        hook.server_close()
        unreachable = lam.invoke(FunctionName="hook", Payload=b"{}")
        assert json.loads(unreachable["Payload"].read())["errorType"] == "Spool.WebhookUnreachable"
    finally:
        server.stop()


def test_idle_environments_end_and_shutdown_leaves_no_process(binary, tmp_path):
    server = SpoolProcess(binary, tmp_path / "data", extra_env={"SPOOL_FUNCTIONS_IDLE_TIMEOUT_SECONDS": "1"})
    server.start()
    lam = make_client(server.endpoint, "lambda")
    idle = create_python(lam, PID_HANDLER)
    idle_pid = json.loads(lam.invoke(FunctionName=idle)["Payload"].read())["pid"]
    assert alive(idle_pid)
    deadline = time.time() + 10
    while alive(idle_pid):
        assert time.time() < deadline, "idle environment was not reclaimed"
        time.sleep(0.1)
    busy = create_python(lam, PID_HANDLER)
    pids = [json.loads(lam.invoke(FunctionName=busy)["Payload"].read())["pid"]]
    assert all(alive(pid) for pid in pids)
    assert server.stop() == 0
    assert not any(alive(pid) for pid in pids)


STUBBORN = """#!/bin/sh
# Never gives up: without its Runtime API it keeps retrying, as careless bootstraps do.
API="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while true; do
  HEADERS="$(mktemp)"
  curl -sS -D "$HEADERS" "$API/invocation/next" -o /dev/null || { sleep 0.2; continue; }
  ID=$(grep -i Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  curl -sS -X POST "$API/invocation/$ID/response" -d "$$" >/dev/null
done
"""


def test_a_restart_after_sigkill_ends_environments_the_killed_server_left(binary, tmp_path):
    from functions import create_bootstrap
    server = SpoolProcess(binary, tmp_path / "data")
    server.start()
    lam = make_client(server.endpoint, "lambda")
    name = create_bootstrap(lam, STUBBORN)
    pid = int(lam.invoke(FunctionName=name)["Payload"].read())
    assert alive(pid)
    server.stop(stop_signal=__import__("signal").SIGKILL)
    time.sleep(0.5)
    assert alive(pid), "the orphan should outlive a killed server until the next start"
    server.start()
    try:
        deadline = time.time() + 5
        while alive(pid):
            assert time.time() < deadline, "the restarted server did not end the orphaned environment"
            time.sleep(0.05)
        assert lam.invoke(FunctionName=name)["StatusCode"] == 200
    finally:
        server.stop()


def test_under_concurrent_load_an_environment_serves_one_invocation_at_a_time(binary, tmp_path):
    from botocore.config import Config
    import boto3
    server = SpoolProcess(binary, tmp_path / "data")
    server.start()
    try:
        def client():
            return boto3.client("lambda", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="t",
                                aws_secret_access_key="t", config=Config(retries={"max_attempts": 1}, read_timeout=60))
        lam = client()
        name = create_python(lam, "import os, time\ndef handler(event, context):\n    start = time.time()\n    time.sleep(event['sleep'])\n"
                                  "    return [os.getpid(), start, time.time()]\n", Timeout=30)
        spans, failures = [], []

        def worker():
            c = client()
            for index in range(15):
                response = c.invoke(FunctionName=name, Payload=json.dumps({"sleep": 0.02 if index % 3 == 0 else 0}))
                if "FunctionError" in response:
                    failures.append(response["Payload"].read())
                else:
                    spans.append(json.loads(response["Payload"].read()))

        threads = [threading.Thread(target=worker) for _ in range(24)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert len(spans) == 360
        by_pid = {}
        for pid, start, end in spans:
            by_pid.setdefault(pid, []).append((start, end))
        for intervals in by_pid.values():
            intervals.sort()
            for (_, end), (start, _) in zip(intervals, intervals[1:]):
                assert start >= end, "one environment ran two invocations at once"
        pids = list(by_pid)
    finally:
        assert server.stop() == 0
    assert not any(alive(pid) for pid in pids)


def test_a_function_removed_from_the_configuration_file_is_removed_at_the_next_start(binary, tmp_path):
    config = tmp_path / "spool.json"

    def declare(*names):
        config.write_text(json.dumps({"functions": {"declared": [
            {"name": name, "executor": "webhook", "url": "http://127.0.0.1:9/none"} for name in names
        ]}}))

    declare("kept", "dropped")
    server = SpoolProcess(binary, tmp_path / "data", extra_args=["--config", str(config)])
    server.start()
    lam = make_client(server.endpoint, "lambda")
    api_made = create_python(lam, PID_HANDLER)
    assert {"kept", "dropped", api_made} <= {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    declare("kept")
    server.restart()
    try:
        names = {f["FunctionName"] for f in lam.list_functions()["Functions"]}
        assert "kept" in names and api_made in names
        assert "dropped" not in names
    finally:
        server.stop()
