"""An execution environment's Runtime API answers only to that environment's own processes (its runtime, its extensions
and their children): a hostile function, or any other local process, that finds another environment's port is refused
with 403 on every route, and the victim's invocation completes as if nothing happened."""
import json
import os
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import make_client
from functions import CURL_BOOTSTRAP, create_bootstrap, create_python

FIND_AND_CALL = r'''
import json, os, time, urllib.error, urllib.request

def runtime_api_of(function):
    """The Runtime API address of the runtime process of `function`, read from /proc like any local process could."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as source:
                entries = source.read().split(b"\0")
        except OSError:
            continue
        values = dict(entry.split(b"=", 1) for entry in entries if b"=" in entry)
        if values.get(b"AWS_LAMBDA_FUNCTION_NAME") == function.encode() and b"AWS_LAMBDA_RUNTIME_API" in values:
            return values[b"AWS_LAMBDA_RUNTIME_API"].decode()
    return None

def call(api, method, path, body=None, headers=None):
    request = urllib.request.Request(f"http://{api}{path}", data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as failure:
        return failure.code
    except Exception as failure:
        return f"no answer: {failure}"

def attack(victim, request_id):
    api = runtime_api_of(victim)
    return {
        "found": api is not None,
        "next": call(api, "GET", "/2018-06-01/runtime/invocation/next"),
        "response": call(api, "POST", f"/2018-06-01/runtime/invocation/{request_id}/response", b'"stolen"'),
        "error": call(api, "POST", f"/2018-06-01/runtime/invocation/{request_id}/error", b'{"errorType":"Stolen"}',
                      {"Lambda-Runtime-Function-Error-Type": "Stolen"}),
        "init_error": call(api, "POST", "/2018-06-01/runtime/init/error", b'{"errorType":"Stolen"}'),
        "register": call(api, "POST", "/2020-01-01/extension/register", b'{"events":["INVOKE"]}', {"Lambda-Extension-Name": "spy"}),
    }
'''

HOSTILE = FIND_AND_CALL + '''
def handler(event, context):
    return attack(event["victim"], event["request"])
'''

VICTIM = '''
import os, time

def handler(event, context):
    with open(os.environ["ID_FILE"], "w") as out:
        out.write(context.aws_request_id)
    time.sleep(3)
    return {"victim": "answered itself", "request": context.aws_request_id}
'''

REFUSED = {"found": True, "next": 403, "response": 403, "error": 403, "init_error": 403, "register": 403}


def wait_for(path, seconds=20):
    deadline = time.time() + seconds
    while not (path.exists() and path.read_text()):
        assert time.time() < deadline, f"{path} never written"
        time.sleep(0.05)
    return path.read_text()


def test_another_environment_and_a_plain_process_are_refused_and_the_victim_completes(server, tmp_path):
    lam = make_client(server.endpoint, "lambda")
    id_file = tmp_path / "victim-request-id"
    victim = create_python(lam, VICTIM, Environment={"Variables": {"ID_FILE": str(id_file)}}, Timeout=30)
    hostile = create_python(lam, HOSTILE, Timeout=30)
    outcome = {}

    def run_victim():
        answer = lam.invoke(FunctionName=victim, Payload=b"{}")
        outcome["error"] = answer.get("FunctionError")
        outcome["payload"] = json.loads(answer["Payload"].read())

    thread = threading.Thread(target=run_victim)
    thread.start()
    try:
        request_id = wait_for(id_file)
        # Another function's environment, with the victim's real request id.
        hostile_answer = lam.invoke(FunctionName=hostile, Payload=json.dumps({"victim": victim, "request": request_id}).encode())
        assert "FunctionError" not in hostile_answer
        assert json.loads(hostile_answer["Payload"].read()) == REFUSED
        # This test's own process, a plain local process of the same user.
        scope = {}
        exec(FIND_AND_CALL, scope)
        assert scope["attack"](victim, request_id) == REFUSED
    finally:
        thread.join(timeout=60)
    assert outcome == {"error": None, "payload": {"victim": "answered itself", "request": request_id}}


# A runtime that asks for the next event twice: the first request waits in the background, the second is the loop's.
TWICE = CURL_BOOTSTRAP.replace("#!/bin/sh\n", '''#!/bin/sh
curl -sS -o "$FIRST_FILE.body" -w '%{http_code}' "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation/next" > "$FIRST_FILE.tmp" &
sleep 0.5
''', 1)


def test_a_second_next_while_one_waits_gets_the_invocation_and_the_first_is_answered(server, tmp_path):
    lam = make_client(server.endpoint, "lambda")
    first = tmp_path / "first"
    name = create_bootstrap(lam, TWICE, Environment={"Variables": {"FIRST_FILE": str(first)}}, Publish=True)
    # A provisioned environment initializes ahead of the invocation, so both requests are waiting when it comes.
    lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=1)
    status = first.with_suffix(".tmp")
    deadline = time.time() + 20
    while not (status.exists() and status.read_text()):
        assert time.time() < deadline, "the first /next was never answered: it would hang for ever"
        time.sleep(0.05)
    body = first.with_suffix(".body").read_text()
    assert status.read_text() == "400", body
    assert json.loads(body)["errorType"] == "InvalidStateTransition"
    # The newer request gets the invocation (in the version's provisioned environment).
    answer = lam.invoke(FunctionName=name, Qualifier="1", Payload=b'{"n": 1}')
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read())["event"] == {"n": 1}
