"""The operator CLI against a running server: status, functions, queues, streams, mappings, logs, credentials;
and the service's own logs in JSON with the request ids clients see."""
import json
import os
import select
import subprocess
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from asyncfixtures import wait_until
from conftest import SpoolProcess, make_client, served
from functions import create_python

HANDLER = """
def handler(event, context):
    print("token", event.get("token"))
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"ok": True}
"""


def cli(binary, server, *arguments, env=None, check=True) -> subprocess.CompletedProcess:
    merged = dict(os.environ)
    merged.update(env or {})
    result = subprocess.run([str(binary), *arguments, "--endpoint", server.endpoint], capture_output=True, text=True, timeout=60, env=merged)
    if check:
        assert result.returncode == 0, result.stderr
    return result



@pytest.fixture(scope="module")
def populated(binary, tmp_path_factory):
    with served(binary, tmp_path_factory, "cli") as server:
        lam, sqs, kinesis = make_client(server.endpoint, "lambda"), make_client(server.endpoint), make_client(server.endpoint, "kinesis")
        create_python(lam, HANDLER, name="billing", Environment={"Variables": {"MODE": "test"}})
        lam.invoke(FunctionName="billing", Payload=b'{"token": "first"}')
        url = sqs.create_queue(QueueName="invoices")["QueueUrl"]
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": "{}"} for n in range(3)])
        kinesis.create_stream(StreamName="ledger", ShardCount=2)
        kinesis.put_records(StreamName="ledger", Records=[{"Data": b"{}", "PartitionKey": f"k{n}"} for n in range(6)])
        mapping = lam.create_event_source_mapping(FunctionName="billing", EventSourceArn="arn:aws:kinesis:us-east-1:000000000000:stream/ledger",
                                                  StartingPosition="TRIM_HORIZON")["UUID"]
        wait_until(lambda: json.loads(cli(binary, server, "mappings", "show", mapping, "--json").stdout)["recentInvocations"])
        yield {"server": server, "mapping": mapping, "lambda": lam}


def test_status_shows_every_resource_on_one_screen(binary, populated):
    server = populated["server"]
    text = cli(binary, server, "status").stdout
    for expected in ("FUNCTIONS", "billing", "QUEUES", "invoices", "STREAMS", "ledger", "MAPPINGS", populated["mapping"], "Dead letters: 0"):
        assert expected in text, expected
    status = json.loads(cli(binary, server, "status", "--json").stdout)
    assert [q["queueName"] for q in status["queues"]] == ["invoices"] and status["queues"][0]["visible"] == 3
    assert status["streams"][0]["records"] == 6 and status["streams"][0]["shardCount"] == 2
    assert status["functions"][0]["name"] == "billing" and status["functions"][0]["invocationsLastHour"] >= 2
    assert status["throughput"]["lastHour"] >= 2 and len(status["throughput"]["perMinute"]) == 60


def test_functions_queues_and_streams_list_and_show(binary, populated):
    server = populated["server"]
    assert "billing" in cli(binary, server, "functions").stdout
    listed = json.loads(cli(binary, server, "functions", "list", "--json").stdout)["functions"]
    assert listed[0]["runtime"] == "python3.11"
    shown = cli(binary, server, "functions", "show", "billing").stdout
    assert "app.handler" in shown and "MODE" in shown and "RECENT INVOCATIONS" in shown and "kinesis" in shown
    detail = json.loads(cli(binary, server, "functions", "show", "billing", "--json", "--recent", "1").stdout)
    assert len(detail["recentInvocations"]) == 1 and detail["environmentVariables"] == ["MODE"]
    missing = cli(binary, server, "functions", "show", "nope", check=False)
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr
    queues = json.loads(cli(binary, server, "queues", "--json").stdout)["queues"]
    assert queues == [{"queueName": "invoices", "visible": 3, "inFlight": 0, "delayed": 0, "oldestSentAt": queues[0]["oldestSentAt"]}]
    assert "VisibilityTimeout" in cli(binary, server, "queues", "show", "invoices").stdout
    assert "QueueDoesNotExist" in cli(binary, server, "queues", "show", "nope", check=False).stderr
    stream = json.loads(cli(binary, server, "streams", "show", "ledger", "--json").stdout)
    assert stream["depth"]["records"] == 6 and {s["shardId"] for s in stream["mappings"][0]["shards"]} == {"shardId-000000000000", "shardId-000000000001"}
    assert "ITERATOR AGE" in cli(binary, server, "streams", "show", "ledger").stdout


def test_mappings_list_show_disable_enable(binary, populated):
    server, uuid_ = populated["server"], populated["mapping"]
    assert uuid_ in cli(binary, server, "mappings").stdout
    assert "kinesis:ledger" in cli(binary, server, "mappings", "list").stdout
    shown = cli(binary, server, "mappings", "show", uuid_).stdout
    assert "SHARDS" in shown and "RECENT BATCHES" in shown
    assert cli(binary, server, "mappings", "disable", uuid_).stdout.strip() in (f"{uuid_}: Disabling", f"{uuid_}: Disabled")
    lam = populated["lambda"]
    wait_until(lambda: lam.get_event_source_mapping(UUID=uuid_)["State"] == "Disabled")
    enabled = json.loads(cli(binary, server, "mappings", "enable", uuid_, "--json").stdout)
    assert enabled["enabled"] is True
    wait_until(lambda: lam.get_event_source_mapping(UUID=uuid_)["State"] == "Enabled")


def test_logs_prints_and_follows_invocations(binary, populated):
    server, lam = populated["server"], populated["lambda"]
    text = cli(binary, server, "logs", "billing").stdout
    assert "token first" in text and "START RequestId" in text and "REPORT RequestId" in text
    follower = subprocess.Popen([str(binary), "logs", "billing", "--follow", "--interval", "0.2", "--limit", "1", "--endpoint", server.endpoint],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(1)
        token = uuid.uuid4().hex
        answer = lam.invoke(FunctionName="billing", Payload=json.dumps({"token": token, "fail": True}).encode())
        request_id = answer["ResponseMetadata"]["RequestId"]
        seen = ""
        deadline = time.time() + 20
        while f"END RequestId: {request_id}" not in seen and time.time() < deadline:
            ready, _, _ = select.select([follower.stdout], [], [], 0.5)
            if ready:
                seen += os.read(follower.stdout.fileno(), 65536).decode()
        assert f"token {token}" in seen and "asked to fail" in seen
    finally:
        follower.terminate()
        follower.wait(timeout=10)
    one = [json.loads(line) for line in cli(binary, server, "logs", "billing", "--json", "--request-id", request_id).stdout.splitlines()]
    assert len(one) == 1 and one[0]["requestId"] == request_id and one[0]["outcome"] == "error" and one[0]["errorType"] == "ValueError"
    assert one[0]["origin"] == "sync" and token in one[0]["log"]


def test_a_deleted_functions_logs_stay_readable(binary, populated):
    server, lam = populated["server"], populated["lambda"]
    create_python(lam, HANDLER, name="short-lived")
    lam.invoke(FunctionName="short-lived", Payload=b'{"token": "last words"}')
    wait_until(lambda: "last words" in cli(binary, server, "logs", "short-lived").stdout)
    lam.delete_function(FunctionName="short-lived")
    assert "last words" in cli(binary, server, "logs", "short-lived").stdout
    never = cli(binary, server, "logs", "never-existed", check=False)
    assert never.returncode != 0 and "ResourceNotFoundException" in never.stderr


def test_cli_signs_with_profiles_like_the_aws_cli(binary, tmp_path):
    process = SpoolProcess(binary, tmp_path / "data", extra_env={"SPOOL_AUTH_CREDENTIALS": "AKIAOPS:ops-secret"})
    process.start()
    try:
        credentials = tmp_path / "credentials"
        credentials.write_text("[default]\naws_access_key_id = AKIAWRONG\naws_secret_access_key = nope\n\n[ops]\naws_access_key_id = AKIAOPS\n"
                               "aws_secret_access_key = ops-secret\n")
        base = {"AWS_SHARED_CREDENTIALS_FILE": str(credentials), "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "SPOOL_AUTH_CREDENTIALS": ""}
        assert "FUNCTIONS" in cli(binary, process, "status", "--profile", "ops", env=base).stdout
        assert "FUNCTIONS" in cli(binary, process, "status", env={**base, "AWS_PROFILE": "ops"}).stdout
        # The admin API answers for every region alike; a scope whose region is no region name is refused.
        assert "FUNCTIONS" in cli(binary, process, "status", "--profile", "ops", "--region", "eu-west-1", env=base).stdout
        wrong_region = cli(binary, process, "status", "--profile", "ops", "--region", "EU_WEST", env=base, check=False)
        assert wrong_region.returncode != 0 and "InvalidSignature" in wrong_region.stderr
        refused = cli(binary, process, "status", env=base, check=False)
        assert refused.returncode != 0 and "UnrecognizedClient" in refused.stderr
        unknown = cli(binary, process, "status", "--profile", "absent", env=base, check=False)
        assert unknown.returncode != 0 and "no credentials for profile 'absent'" in unknown.stderr
    finally:
        process.stop()


def test_function_logs_can_be_turned_off(binary, tmp_path_factory):
    with served(binary, tmp_path_factory, "nologs", SPOOL_LOGS_ENABLED="false") as server:
        lam = make_client(server.endpoint, "lambda")
        create_python(lam, HANDLER, name="quiet")
        lam.invoke(FunctionName="quiet", Payload=b'{"token": "x"}')
        time.sleep(0.5)
        assert cli(binary, server, "logs", "quiet").stdout == ""
        assert json.loads(cli(binary, server, "functions", "show", "quiet", "--json").stdout)["recentInvocations"] == []


def test_service_logs_as_json_carry_the_request_id_the_client_saw(binary, tmp_path):
    process = SpoolProcess(binary, tmp_path / "data", extra_args=["--log-format", "json"])
    process.start()
    try:
        lam = make_client(process.endpoint, "lambda")
        with pytest.raises(ClientError) as failed:
            lam.invoke(FunctionName="does-not-exist", Payload=b"{}")
        request_id = failed.value.response["ResponseMetadata"]["RequestId"]
        time.sleep(0.3)
    finally:
        process.stop()
    lines = [json.loads(line) for line in process.log_path.read_text().splitlines() if line.strip()]
    assert all({"timestamp", "level", "label", "message"} <= set(line) for line in lines)
    request = [line for line in lines if line.get("requestId") == request_id]
    assert request and request[0]["status"] == "404" and request[0]["level"] == "info"
    assert request[0]["path"] == "/2015-03-31/functions/does-not-exist/invocations"
    assert any(line["message"] == "spool listening" for line in lines)
