"""Synchronous Invoke of real functions: awslambdaric Python handlers and a curl bootstrap, through boto3."""
import base64
import json
import threading
import time

import pytest
from botocore.exceptions import ClientError

from conftest import make_client
from functions import create_bootstrap, create_python, function_name, package, ROLE

CONTEXT_HANDLER = """import os, json
def handler(event, context):
    print("event", json.dumps(event))
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "memory": context.memory_limit_in_mb,
        "arn": context.invoked_function_arn,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "custom": (context.client_context.custom if context.client_context else None),
        "region": os.environ["AWS_REGION"],
        "task_root": os.environ["LAMBDA_TASK_ROOT"],
        "cwd": os.getcwd(),
        "greeting": os.environ.get("GREETING"),
    }
"""


@pytest.fixture()
def lam(server):
    return make_client(server.endpoint, "lambda")


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def test_python_function_gets_its_event_context_and_environment(lam):
    name = create_python(lam, CONTEXT_HANDLER, MemorySize=256, Timeout=10, Environment={"Variables": {"GREETING": "hello"}})
    context = base64.b64encode(json.dumps({"custom": {"tenant": "t-1"}}).encode()).decode()
    response = lam.invoke(FunctionName=name, Payload=json.dumps({"order": 42}), ClientContext=context)
    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in response
    result = json.loads(response["Payload"].read())
    assert result["event"] == {"order": 42}
    assert result["request_id"] == response["ResponseMetadata"]["RequestId"]
    assert result["function_name"] == name
    assert result["memory"] == "256"
    assert result["arn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert 0 < result["remaining_ms"] <= 10_000
    assert result["custom"] == {"tenant": "t-1"}
    assert result["region"] == "us-east-1"
    assert result["greeting"] == "hello"
    assert result["cwd"] == result["task_root"]


def test_function_errors_come_back_as_unhandled_with_the_runtime_error_document(lam):
    name = create_python(lam, "def handler(event, context):\n    raise KeyError('missing-key')\n")
    response = lam.invoke(FunctionName=name, Payload=b"{}")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "KeyError"
    assert "missing-key" in error["errorMessage"]
    assert error["stackTrace"]


def test_log_tail_returns_the_invocation_log_with_report(lam):
    name = create_python(lam, "def handler(event, context):\n    print('line from the handler')\n    return 1\n")
    cold = lam.invoke(FunctionName=name, LogType="Tail")
    log = base64.b64decode(cold["LogResult"]).decode()
    request_id = cold["ResponseMetadata"]["RequestId"]
    assert f"START RequestId: {request_id} Version: $LATEST" in log
    assert "line from the handler" in log
    assert f"END RequestId: {request_id}" in log
    assert f"REPORT RequestId: {request_id}\tDuration: " in log
    assert "Billed Duration: " in log and "Memory Size: 128 MB" in log and "Max Memory Used: " in log
    assert "Init Duration: " in log
    warm = base64.b64decode(lam.invoke(FunctionName=name, LogType="Tail")["LogResult"]).decode()
    assert "Init Duration" not in warm
    noisy = create_python(lam, "def handler(event, context):\n    for i in range(2000):\n        print('noise', i)\n    return 1\n")
    tail = base64.b64decode(lam.invoke(FunctionName=noisy, LogType="Tail")["LogResult"])
    assert len(tail) <= 4096
    assert b"REPORT RequestId" in tail and b"noise 1999" in tail


def test_a_timeout_is_reported_as_sandbox_timedout(lam):
    name = create_python(lam, "import time\ndef handler(event, context):\n    time.sleep(event.get('sleep', 0))\n    return 'done'\n", Timeout=1)
    started = time.time()
    response = lam.invoke(FunctionName=name, Payload=json.dumps({"sleep": 5}))
    assert time.time() - started < 4
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"] == f"RequestId: {response['ResponseMetadata']['RequestId']} Error: Task timed out after 1.00 seconds"
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"done"'


def test_a_crash_and_an_init_failure_are_unhandled_errors(lam):
    crash = create_python(lam, "import os\ndef handler(event, context):\n    os._exit(7)\n")
    error = json.loads(lam.invoke(FunctionName=crash)["Payload"].read())
    assert error["errorType"] == "Runtime.ExitError"
    assert "exit status 7" in error["errorMessage"]
    broken = create_python(lam, "import not_installed_anywhere\ndef handler(event, context):\n    return 1\n")
    response = lam.invoke(FunctionName=broken)
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "Runtime.ImportModuleError"
    wrong_handler = create_python(lam, "def other(event, context):\n    return 1\n")
    assert json.loads(lam.invoke(FunctionName=wrong_handler)["Payload"].read())["errorType"] == "Runtime.HandlerNotFound"


def test_a_provided_bootstrap_script_runs_unchanged(lam):
    name = create_bootstrap(lam)
    response = lam.invoke(FunctionName=name, Payload=json.dumps({"x": [1, 2]}), LogType="Tail")
    assert "FunctionError" not in response, response["Payload"].read()
    assert json.loads(response["Payload"].read()) == {"event": {"x": [1, 2]}, "handler": "function.handler", "fn": name}
    assert f"bootstrap handling {response['ResponseMetadata']['RequestId']}" in base64.b64decode(response["LogResult"]).decode()
    failed = lam.invoke(FunctionName=name, Payload=json.dumps({"fail": True}))
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read()) == {"errorMessage": "asked to fail", "errorType": "Custom.Failure"}


def test_a_bootstrap_that_is_not_executable_is_an_invalid_entrypoint(lam):
    name = create_bootstrap(lam, modes={"bootstrap": 0o644})
    response = lam.invoke(FunctionName=name)
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "Runtime.InvalidEntrypoint"


def test_dry_run_payload_limits_and_bad_json(lam):
    name = create_python(lam, "def handler(event, context):\n    return event\n")
    assert lam.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204
    with pytest.raises(ClientError) as missing:
        lam.invoke(FunctionName="no-such-function", InvocationType="DryRun")
    assert error_code(missing) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as too_large:
        lam.invoke(FunctionName=name, Payload=b'"' + b"x" * 6_291_456 + b'"')
    assert error_code(too_large) == "RequestEntityTooLargeException"
    assert too_large.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    with pytest.raises(ClientError) as bad_json:
        lam.invoke(FunctionName=name, Payload=b"{not json")
    assert error_code(bad_json) == "InvalidRequestContentException"
    big = json.dumps({"data": "y" * 5_000_000})
    assert len(lam.invoke(FunctionName=name, Payload=big)["Payload"].read()) > 5_000_000


def test_reserved_concurrency_throttles_invocations_beyond_it(lam):
    name = create_python(lam, "import time\ndef handler(event, context):\n    time.sleep(event.get('sleep', 0))\n    return 'ok'\n", Timeout=10)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"ok"'
    results = {}

    def slow():
        results["slow"] = lam.invoke(FunctionName=name, Payload=json.dumps({"sleep": 2}))["Payload"].read()

    worker = threading.Thread(target=slow)
    worker.start()
    time.sleep(0.7)
    with pytest.raises(ClientError) as throttled:
        lam.invoke(FunctionName=name)
    assert error_code(throttled) == "TooManyRequestsException"
    assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert throttled.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    worker.join()
    assert results["slow"] == b'"ok"'
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as zero:
        lam.invoke(FunctionName=name)
    assert error_code(zero) == "TooManyRequestsException"


def test_environments_run_concurrently_up_to_the_demand(lam):
    name = create_python(lam, "import os, time\ndef handler(event, context):\n    time.sleep(1)\n    return os.getpid()\n", Timeout=10)
    pids = []

    def call():
        pids.append(json.loads(lam.invoke(FunctionName=name)["Payload"].read()))

    threads = [threading.Thread(target=call) for _ in range(3)]
    started = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(pids)) == 3
    assert time.time() - started < 2.9


def test_a_response_over_6_mb_is_function_response_size_too_large(lam):
    name = create_python(lam, "def handler(event, context):\n    return 'z' * (7 * 1024 * 1024)\n")
    response = lam.invoke(FunctionName=name)
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "Function.ResponseSizeTooLarge"
    assert "6291556" in error["errorMessage"]
    assert lam.invoke(FunctionName=name)["FunctionError"] == "Unhandled"
