"""What happens to asynchronous events that fail for good and to events in flight when the server dies:
EventAgeExceeded, dead letters replayed with the `spool dead-letters` CLI after a fix, and SIGKILL mid-run."""
import json
import signal
import subprocess
import threading
import time
import urllib.request

import pytest

from asyncfixtures import ALWAYS_FAILS, COUNTING_HANDLER, attempts, function_arn, make_queue, receive, records, wait_until
from conftest import make_client, served
from functions import create_python, function_name, package


def cli(binary, server, *arguments) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary), "dead-letters", *arguments, "--endpoint", server.endpoint],
                          capture_output=True, text=True, timeout=120)


def test_a_retry_that_would_land_past_the_maximum_age_ends_with_event_age_exceeded(binary, tmp_path_factory, tmp_path):
    # AWS's own recording: a 60 s maximum age and a 1-minute first retry give EventAgeExceeded after one attempt.
    with served(binary, tmp_path_factory, "spool-age", SPOOL_ASYNC_RETRY_BASE_DELAY_MS="60000") as server:
        lam, sqs = make_client(server.endpoint, "lambda"), make_client(server.endpoint)
        url, arn = make_queue(sqs, "failed")
        counter = tmp_path / "attempts.txt"
        name = create_python(lam, ALWAYS_FAILS, Environment={"Variables": {"COUNT_FILE": str(counter)}})
        lam.put_function_event_invoke_config(FunctionName=name, MaximumEventAgeInSeconds=60,
                                             DestinationConfig={"OnFailure": {"Destination": arn}})
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"late": true}')
        [record] = records(sqs, url, 1, timeout=30)
        assert record["requestContext"]["condition"] == "EventAgeExceeded"
        assert record["requestContext"]["approximateInvokeCount"] == 1
        assert record["responsePayload"]["errorMessage"] == "intentional failure"
        assert len(attempts(counter)) == 1
        listed = json.loads(cli(binary, server, "list", "--json", "--reason", "EventAgeExceeded").stdout)
        assert [(d["function"], d["attempts"]) for d in listed] == [(name, 1)]


FIXED_HANDLER = COUNTING_HANDLER


def test_dead_letters_replayed_with_the_cli_succeed_after_the_function_is_fixed(binary, tmp_path_factory, tmp_path):
    with served(binary, tmp_path_factory, "spool-replay", SPOOL_ASYNC_RETRY_BASE_DELAY_MS="50") as server:
        lam, sqs = make_client(server.endpoint, "lambda"), make_client(server.endpoint)
        ok_url, ok_arn = make_queue(sqs, "ok")
        counter = tmp_path / "attempts.txt"
        name = create_python(lam, ALWAYS_FAILS, Environment={"Variables": {"COUNT_FILE": str(counter)}})
        lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1,
                                             DestinationConfig={"OnSuccess": {"Destination": ok_arn}})
        sent = {lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"n": n}).encode())
                ["ResponseMetadata"]["RequestId"]: n for n in range(5)}

        def listed():
            letters = json.loads(cli(binary, server, "list", "--json", "--function", name).stdout)
            return letters if len(letters) == 5 else None

        letters = wait_until(listed, timeout=60, interval=0.2)
        assert {d["requestId"] for d in letters} == set(sent)
        assert all(d["reason"] == "RetriesExhausted" and d["attempts"] == 2 for d in letters)
        assert all(d["lastError"]["errorMessage"] == "intentional failure" for d in letters)
        table = cli(binary, server, "list", "--function", name).stdout
        assert table.splitlines()[0].split()[:3] == ["ID", "FUNCTION", "REASON"] and table.count(name) == 5
        shown = cli(binary, server, "show", str(letters[0]["id"])).stdout
        assert "RetriesExhausted" in shown and '"n"' in shown

        lam.update_function_code(FunctionName=name, ZipFile=package({"app.py": FIXED_HANDLER}))
        replay = cli(binary, server, "replay", "--function", name)
        assert replay.returncode == 0, replay.stderr
        assert "done: replayed 5, skipped 0 of 5 examined" in replay.stdout
        got = records(sqs, ok_url, 5)
        assert sorted(r["requestPayload"]["n"] for r in got) == list(range(5))
        assert all(r["requestContext"]["condition"] == "Success" and r["requestContext"]["approximateInvokeCount"] == 1 for r in got)
        assert not set(r["requestContext"]["requestId"] for r in got) & set(sent)

        again = cli(binary, server, "replay", "--function", name, "--json")
        assert json.loads(again.stdout.splitlines()[-1]) == {"examined": 5, "replayed": 0, "skipped": 5, "purged": 0, "done": True}
        replayed = json.loads(cli(binary, server, "list", "--json", "--function", name).stdout)
        assert all(d["replayedAt"] and d["replayRequestId"] for d in replayed)
        assert cli(binary, server, "purge").returncode != 0
        purge = cli(binary, server, "purge", "--function", name)
        assert "done: purged 5" in purge.stdout
        assert json.loads(cli(binary, server, "list", "--json", "--function", name).stdout) == []
        missing = cli(binary, server, "show", "999999")
        assert missing.returncode != 0 and "does not exist" in missing.stderr


SLOW_HANDLER = """import time
def handler(event, context):
    time.sleep(0.05)
    return event
"""


def test_sigkill_mid_run_loses_no_accepted_event_and_keeps_retries_scheduled(binary, tmp_path_factory, tmp_path):
    with served(binary, tmp_path_factory, "spool-kill", SPOOL_ASYNC_RETRY_BASE_DELAY_MS="1500") as server:
        lam, sqs = make_client(server.endpoint, "lambda"), make_client(server.endpoint)
        ok_url, ok_arn = make_queue(sqs, "ok")
        failed_url, failed_arn = make_queue(sqs, "failed")
        slow = create_python(lam, SLOW_HANDLER)
        lam.put_function_concurrency(FunctionName=slow, ReservedConcurrentExecutions=2)
        lam.put_function_event_invoke_config(FunctionName=slow, DestinationConfig={"OnSuccess": {"Destination": ok_arn}})
        counter = tmp_path / "attempts.txt"
        flaky = create_python(lam, ALWAYS_FAILS, Environment={"Variables": {"COUNT_FILE": str(counter)}})
        lam.put_function_event_invoke_config(FunctionName=flaky, DestinationConfig={"OnFailure": {"Destination": failed_arn}})

        lam.invoke(FunctionName=flaky, InvocationType="Event", Payload=b'{"retry": "me"}')
        for n in range(40):
            assert lam.invoke(FunctionName=slow, InvocationType="Event", Payload=json.dumps({"n": n}).encode())["StatusCode"] == 202
        # Kill once some events were delivered and the failing one has made its first attempt.
        wait_until(lambda: len(attempts(counter)) >= 1 and int(sqs.get_queue_attributes(
            QueueUrl=ok_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"]) >= 4)
        server.stop(signal.SIGKILL)
        server.start()

        delivered = records(sqs, ok_url, 40, timeout=90)
        seen = {r["requestPayload"]["n"] for r in delivered}
        while len(seen) < 40:
            seen |= {r["requestPayload"]["n"] for r in records(sqs, ok_url, 1, timeout=30)}
        assert seen == set(range(40))
        [failure] = records(sqs, failed_url, 1, timeout=60)
        assert failure["requestContext"]["condition"] == "RetriesExhausted"
        assert failure["requestPayload"] == {"retry": "me"}
        # Three attempts ran in all; the count in the record is honest: it counts every invocation started, so one
        # the kill cut off between its claim and the handler's first line may count without an attempt line.
        ran = len(attempts(counter))
        assert ran >= 3
        assert ran <= failure["requestContext"]["approximateInvokeCount"] <= ran + 1


BUSY_HANDLER = """import os, time
def handler(event, context):
    open(os.environ["MARKER"], "w").close()
    time.sleep(1.5)
    return "done"
"""


def test_throttled_events_back_off_without_using_an_attempt(binary, tmp_path_factory, tmp_path):
    # One environment in all: while a synchronous call holds it, the async event is throttled and waits.
    with served(binary, tmp_path_factory, "spool-throttle", SPOOL_FUNCTIONS_MAX_ENVIRONMENTS="1",
                SPOOL_ASYNC_THROTTLE_BASE_DELAY_MS="50") as server:
        lam, sqs = make_client(server.endpoint, "lambda"), make_client(server.endpoint)
        url, arn = make_queue(sqs, "ok")
        marker = tmp_path / "busy"
        busy = create_python(lam, BUSY_HANDLER, Environment={"Variables": {"MARKER": str(marker)}}, Timeout=10)
        counter = tmp_path / "attempts.txt"
        waiting = create_python(lam, COUNTING_HANDLER, Environment={"Variables": {"COUNT_FILE": str(counter)}})
        lam.put_function_event_invoke_config(FunctionName=waiting, MaximumRetryAttempts=0,
                                             DestinationConfig={"OnSuccess": {"Destination": arn}})
        holder = threading.Thread(target=lambda: lam.invoke(FunctionName=busy, Payload=b"{}"))
        holder.start()
        wait_until(marker.exists)
        started = time.time()
        lam.invoke(FunctionName=waiting, InvocationType="Event", Payload=b'{"patient": true}')
        [record] = records(sqs, url, 1, timeout=60)
        holder.join()
        assert time.time() - started >= 0.5, "the event must have waited for the busy environment"
        assert record["requestContext"]["condition"] == "Success"
        # MaximumRetryAttempts 0, yet it succeeded: throttles used no attempt and are not counted as invocations.
        assert record["requestContext"]["approximateInvokeCount"] == 1
        assert len(attempts(counter)) == 1


FINISHING_HANDLER = """import os, time
def handler(event, context):
    with open(os.environ["COUNT_FILE"], "a") as attempts:
        attempts.write(context.aws_request_id + "\\n")
    time.sleep(1.5)
    return {"finished": event}
"""


def test_sigterm_lets_a_running_event_finish_and_settle(binary, tmp_path_factory, tmp_path):
    with served(binary, tmp_path_factory, "spool-term") as server:
        lam, sqs = make_client(server.endpoint, "lambda"), make_client(server.endpoint)
        url, arn = make_queue(sqs, "ok")
        counter = tmp_path / "attempts.txt"
        name = create_python(lam, FINISHING_HANDLER, Environment={"Variables": {"COUNT_FILE": str(counter)}}, Timeout=10)
        lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": arn}})
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 1}')
        wait_until(lambda: attempts(counter))
        assert server.stop() == 0
        server.start()
        [record] = records(sqs, url, 1, timeout=10)
        assert record["responsePayload"] == {"finished": {"n": 1}}
        assert len(attempts(counter)) == 1, "a settled event must not run again after the restart"


def test_a_record_no_destination_takes_is_a_dead_letter_and_replay_delivers_it(binary, tmp_path_factory, tmp_path):
    """Destinations deleted after they were configured: the record is kept (DestinationUnreachable, with where it was
    going), never only logged; once the destination exists again, replaying the letter delivers the record there."""
    with served(binary, tmp_path_factory, "spool-undelivered", SPOOL_ASYNC_RETRY_BASE_DELAY_MS="50") as server:
        lam, sqs = make_client(server.endpoint, "lambda"), make_client(server.endpoint)
        url, arn = make_queue(sqs, "gone")
        queue_name = arn.rsplit(":", 1)[1]
        sink_file = tmp_path / "sink.jsonl"
        sink = create_python(lam, SINK, Environment={"Variables": {"SINK_FILE": str(sink_file)}})
        name = create_python(lam, COUNTING_HANDLER, Environment={"Variables": {"COUNT_FILE": str(tmp_path / "n.txt")}})
        lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={
            "OnSuccess": {"Destination": function_arn(sink)}, "OnFailure": {"Destination": arn}})
        lam.delete_function(FunctionName=sink)
        sqs.delete_queue(QueueUrl=url)
        ok = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"order": 7}')["ResponseMetadata"]["RequestId"]
        failed = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"fail": true, "n": 8}')["ResponseMetadata"]["RequestId"]

        def kept():
            letters = json.loads(cli(binary, server, "list", "--json", "--reason", "DestinationUnreachable").stdout)
            return letters if len(letters) == 2 else None

        letters = {d["requestId"]: d for d in wait_until(kept, timeout=60, interval=0.1)}
        assert (letters[ok]["function"], letters[ok]["destination"]) == (name, f"function:{sink}")
        assert (letters[failed]["function"], letters[failed]["destination"]) == (name, f"queue:{queue_name}")
        assert all(d["lastError"]["errorType"] == "Spool.DestinationUnreachable" for d in letters.values())
        record = json.loads(letters[ok]["payload"])
        assert record["requestContext"]["condition"] == "Success" and record["requestPayload"] == {"order": 7}
        assert json.loads(letters[failed]["payload"])["requestContext"]["condition"] == "RetriesExhausted"
        assert "destination:  function:" in cli(binary, server, "show", str(letters[ok]["id"])).stdout
        metrics = urllib.request.urlopen(server.endpoint + "/metrics", timeout=10).read().decode()
        assert any(line.startswith("spool_lambda_destination_delivery_failures_total") and f'function_name="{name}"' in line
                   and line.rstrip().endswith(" 2") for line in metrics.splitlines()), "counted in /metrics"

        # Still nowhere to go: skipped, kept.
        assert "replayed 0, skipped 2" in cli(binary, server, "replay", "--reason", "DestinationUnreachable").stdout
        create_python(lam, SINK, name=sink, Environment={"Variables": {"SINK_FILE": str(sink_file)}})
        replay = cli(binary, server, "replay", "--reason", "DestinationUnreachable")
        assert "replayed 1, skipped 1" in replay.stdout, replay.stdout
        delivered = wait_until(lambda: sink_file.exists() and sink_file.read_text().strip(), timeout=30)
        assert json.loads(delivered) == record, "the record itself, delivered where it was going"
        assert len((tmp_path / "n.txt").read_text().split()) == 4, "the function ran once for one event, three times for the other, not again"


SINK = """import json, os
def handler(event, context):
    with open(os.environ["SINK_FILE"], "a") as out:
        out.write(json.dumps(event) + "\\n")
"""
