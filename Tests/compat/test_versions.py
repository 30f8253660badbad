"""Published versions and aliases, as Lambda's API defines them (botocore's model, the Lambda developer guide):
PublishVersion snapshots $LATEST's code and configuration under the next number; a version never changes and runs in
environments of its own; aliases name a version and may route a weighted share of invocations to a second one, for
synchronous, asynchronous and mapped invocations alike."""
import base64
import io
import json
import os
import tempfile
import time
import urllib.request
import uuid
import zipfile
from collections import Counter

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from functions import ROLE, package

ARN = "arn:aws:lambda:us-east-1:000000000000:function"

SOURCE = """
import json, os
def handler(event, context):
    out = os.environ.get("OUT")
    if out:
        with open(out, "a") as f:
            f.write(json.dumps({"release": RELEASE, "version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"],
                                "arn": context.invoked_function_arn, "event": event}) + "\\n")
    return {"release": RELEASE, "version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"], "arn": context.invoked_function_arn}
"""


def code(release):
    return package({"app.py": f"RELEASE = {release!r}\n" + SOURCE})


@pytest.fixture()
def lam(server):
    return boto3.client("lambda", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}, read_timeout=60))


def error(call, **kwargs):
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def create(lam, release="one", **extra):
    name = f"ver-{uuid.uuid4().hex[:8]}"
    created = lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": code(release)},
                                  **extra)
    return name, created


def invoke(lam, name, **kwargs):
    answer = lam.invoke(FunctionName=name, **kwargs)
    assert "FunctionError" not in answer, answer["Payload"].read()
    return answer["ExecutedVersion"], json.loads(answer["Payload"].read())


def test_published_versions_are_fixed_snapshots_with_their_own_arns(lam):
    name, created = create(lam, Publish=True, Description="first")
    # CreateFunction with Publish answers with version 1.
    assert created["Version"] == "1" and created["FunctionArn"] == f"{ARN}:{name}:1"
    latest = lam.get_function_configuration(FunctionName=name)
    assert latest["Version"] == "$LATEST" and latest["FunctionArn"] == f"{ARN}:{name}"

    lam.update_function_code(FunctionName=name, ZipFile=code("two"))
    lam.update_function_configuration(FunctionName=name, Timeout=9, Environment={"Variables": {"STAGE": "two"}})
    second = lam.publish_version(FunctionName=name, Description="second release")
    assert second["Version"] == "2" and second["Description"] == "second release" and second["Timeout"] == 9
    assert second["FunctionArn"] == f"{ARN}:{name}:2" and second["Environment"]["Variables"] == {"STAGE": "two"}
    # Nothing changed since version 2: PublishVersion returns it rather than a copy.
    assert lam.publish_version(FunctionName=name)["Version"] == "2"

    one = lam.get_function(FunctionName=name, Qualifier="1")["Configuration"]
    assert one["Version"] == "1" and one["Timeout"] == 3 and "Environment" not in one
    assert lam.get_function_configuration(FunctionName=f"{name}:2")["Timeout"] == 9
    assert lam.get_function_configuration(FunctionName=f"{ARN}:{name}:1")["CodeSha256"] == created["CodeSha256"]

    lam.update_function_code(FunctionName=name, ZipFile=code("three"))
    # Each version runs its own code, in environments of its own, and says which ran.
    for qualifier, release in [("1", "one"), ("2", "two"), ("$LATEST", "three")]:
        executed, answer = invoke(lam, name, Qualifier=qualifier)
        assert executed == qualifier and answer["release"] == release and answer["version"] == qualifier
        assert answer["arn"] == f"{ARN}:{name}:{qualifier}"
    executed, answer = invoke(lam, name)
    assert executed == "$LATEST" and answer["arn"] == f"{ARN}:{name}"
    tail = lam.invoke(FunctionName=name, Qualifier="2", LogType="Tail")
    assert "Version: 2" in base64.b64decode(tail["LogResult"]).decode().splitlines()[0]

    versions = lam.list_versions_by_function(FunctionName=name)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]
    first_page = lam.list_versions_by_function(FunctionName=name, MaxItems=2)
    assert [v["Version"] for v in first_page["Versions"]] == ["$LATEST", "1"]
    rest = lam.list_versions_by_function(FunctionName=name, Marker=first_page["NextMarker"])
    assert [v["Version"] for v in rest["Versions"]] == ["2"] and "NextMarker" not in rest

    # The code package of a version is that version's.
    location = lam.get_function(FunctionName=name, Qualifier="1")["Code"]["Location"]
    with urllib.request.urlopen(location) as response:
        assert "RELEASE = 'one'" in zipfile.ZipFile(io.BytesIO(response.read())).read("app.py").decode()


def test_publish_checks_and_qualified_changes_are_refused(lam):
    name, created = create(lam)
    code_error = error(lam.publish_version, FunctionName=name, CodeSha256="bm90IHRoZSBjb2Rl")
    assert code_error[0] == "InvalidParameterValueException" and "CodeSHA256" in code_error[1]
    assert error(lam.publish_version, FunctionName=name, RevisionId="stale")[0] == "PreconditionFailedException"
    version = lam.publish_version(FunctionName=name, CodeSha256=created["CodeSha256"], RevisionId=created["RevisionId"])
    assert version["Version"] == "1"
    # Only $LATEST changes; a version's configuration is fixed.
    assert error(lam.update_function_configuration, FunctionName=f"{name}:1", Timeout=20)[0] == "InvalidParameterValueException"
    assert error(lam.update_function_code, FunctionName=f"{name}:1", ZipFile=code("x"))[0] == "InvalidParameterValueException"
    assert lam.get_function_configuration(FunctionName=name, Qualifier="1")["Timeout"] == 3
    # Tags belong to the function, not to its versions.
    assert error(lam.tag_resource, Resource=f"{ARN}:{name}:1", Tags={"a": "b"})[0] == "InvalidParameterValueException"
    assert error(lam.get_function, FunctionName=name, Qualifier="7")[0] == "ResourceNotFoundException"
    assert error(lam.invoke, FunctionName=name, Qualifier="7")[0] == "ResourceNotFoundException"
    assert error(lam.get_function, FunctionName=name, Qualifier="nope")[0] == "ResourceNotFoundException"


def test_deleting_versions_and_functions(lam):
    name, _ = create(lam, Publish=True)
    lam.update_function_code(FunctionName=name, ZipFile=code("two"), Publish=True)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    refused = error(lam.delete_function, FunctionName=name, Qualifier="1")
    assert refused[0] == "ResourceConflictException" and "live" in refused[1]
    lam.delete_alias(FunctionName=name, Name="live")
    lam.delete_function(FunctionName=name, Qualifier="1")
    assert error(lam.invoke, FunctionName=name, Qualifier="1")[0] == "ResourceNotFoundException"
    assert invoke(lam, name, Qualifier="2")[1]["release"] == "two"
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]] == ["$LATEST", "2"]
    # A deleted number is not used again.
    lam.update_function_code(FunctionName=name, ZipFile=code("three"))
    assert lam.publish_version(FunctionName=name)["Version"] == "3"
    # Deleting the function deletes its versions and aliases; a function created again starts at 1.
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="3")
    lam.delete_function(FunctionName=name)
    assert error(lam.get_function, FunctionName=name, Qualifier="3")[0] == "ResourceNotFoundException"
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": code("again")})
    assert error(lam.get_alias, FunctionName=name, Name="live")[0] == "ResourceNotFoundException"
    assert lam.publish_version(FunctionName=name)["Version"] == "1"


def test_alias_operations(lam):
    name, _ = create(lam, Publish=True)
    lam.update_function_code(FunctionName=name, ZipFile=code("two"), Publish=True)
    created = lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1", Description="production")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["AliasArn"] == f"{ARN}:{name}:live" and created["FunctionVersion"] == "1" and created["Description"] == "production"
    assert "RoutingConfig" not in created
    assert error(lam.create_alias, FunctionName=name, Name="live", FunctionVersion="2")[0] == "ResourceConflictException"
    assert error(lam.create_alias, FunctionName=name, Name="ghost", FunctionVersion="9")[0] == "ResourceNotFoundException"
    assert error(lam.create_alias, FunctionName=name, Name="123", FunctionVersion="1")[0] == "ValidationException"
    assert error(lam.create_alias, FunctionName=name, Name="both", FunctionVersion="$LATEST",
                 RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}})[0] == "InvalidParameterValueException"
    assert error(lam.create_alias, FunctionName=name, Name="same", FunctionVersion="1",
                 RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}})[0] == "InvalidParameterValueException"
    lam.create_alias(FunctionName=name, Name="edge", FunctionVersion="$LATEST")

    got = lam.get_alias(FunctionName=name, Name="live")
    assert got["RevisionId"] == created["RevisionId"]
    assert error(lam.update_alias, FunctionName=name, Name="live", FunctionVersion="2", RevisionId="stale")[0] == "PreconditionFailedException"
    updated = lam.update_alias(FunctionName=name, Name="live", RoutingConfig={"AdditionalVersionWeights": {"2": 0.25}}, RevisionId=got["RevisionId"])
    # Members not given stay as they were.
    assert updated["FunctionVersion"] == "1" and updated["Description"] == "production"
    assert updated["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.25}} and updated["RevisionId"] != got["RevisionId"]

    names = [a["Name"] for a in lam.list_aliases(FunctionName=name)["Aliases"]]
    assert names == ["edge", "live"]
    assert [a["Name"] for a in lam.list_aliases(FunctionName=name, FunctionVersion="2")["Aliases"]] == ["live"]
    page = lam.list_aliases(FunctionName=name, MaxItems=1)
    assert [a["Name"] for a in page["Aliases"]] == ["edge"]
    assert [a["Name"] for a in lam.list_aliases(FunctionName=name, Marker=page["NextMarker"])["Aliases"]] == ["live"]
    assert lam.get_function_configuration(FunctionName=name, Qualifier="live")["Version"] == "1"

    assert lam.delete_alias(FunctionName=name, Name="edge")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert lam.delete_alias(FunctionName=name, Name="edge")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert error(lam.get_alias, FunctionName=name, Name="edge")[0] == "ResourceNotFoundException"


def test_weighted_alias_splits_invocations_between_two_versions(lam):
    name, _ = create(lam, Publish=True)
    lam.update_function_code(FunctionName=name, ZipFile=code("two"), Publish=True)
    lam.create_alias(FunctionName=name, Name="canary", FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
    seen = Counter()
    for _ in range(200):
        executed, answer = invoke(lam, f"{name}:canary")
        assert answer["release"] == {"1": "one", "2": "two"}[executed]
        assert answer["arn"] == f"{ARN}:{name}:canary"
        seen[executed] += 1
    # Binomial(200, 0.5): outside 60..140 once in ~10^9 runs.
    assert 60 <= seen["2"] <= 140 and seen["1"] + seen["2"] == 200, seen
    # Shifting all traffic: weight 0 sends everything to the alias's version, then the alias moves.
    lam.update_alias(FunctionName=name, Name="canary", RoutingConfig={"AdditionalVersionWeights": {}})
    assert {invoke(lam, f"{name}:canary")[0] for _ in range(20)} == {"1"}
    lam.update_alias(FunctionName=name, Name="canary", FunctionVersion="2")
    assert {invoke(lam, f"{name}:canary")[0] for _ in range(5)} == {"2"}


def wait_lines(path, count, timeout=30):
    deadline = time.time() + timeout
    lines = []
    while time.time() < deadline:
        with open(path) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        if len(lines) >= count:
            return lines
        time.sleep(0.1)
    return lines


def test_async_invocations_and_mappings_run_the_alias_version(lam, server):
    out = tempfile.NamedTemporaryFile(delete=False, suffix=".jsonl").name
    name, _ = create(lam, Environment={"Variables": {"OUT": out}})
    lam.publish_version(FunctionName=name)
    lam.update_function_code(FunctionName=name, ZipFile=code("two"))
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    assert lam.invoke(FunctionName=f"{name}:live", InvocationType="Event", Payload=b'{"via": "event"}')["StatusCode"] == 202
    lines = wait_lines(out, 1)
    assert lines and lines[0]["release"] == "one" and lines[0]["version"] == "1" and lines[0]["arn"] == f"{ARN}:{name}:live"

    sqs = boto3.client("sqs", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    url = sqs.create_queue(QueueName=f"ver-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    mapping = lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=f"{ARN}:{name}:live", BatchSize=1)
    assert mapping["FunctionArn"] == f"{ARN}:{name}:live"
    sqs.send_message(QueueUrl=url, MessageBody="mapped")
    lines = wait_lines(out, 2)
    assert len(lines) == 2 and lines[1]["release"] == "one" and lines[1]["event"]["Records"][0]["body"] == "mapped"
    # Moving the alias moves the mapping's invocations.
    lam.update_alias(FunctionName=name, Name="live", FunctionVersion="$LATEST")
    sqs.send_message(QueueUrl=url, MessageBody="moved")
    lines = wait_lines(out, 3)
    assert len(lines) == 3 and lines[2]["release"] == "two" and lines[2]["version"] == "$LATEST"
    lam.delete_event_source_mapping(UUID=mapping["UUID"])
    os.unlink(out)


FAILING = """
def handler(event, context):
    raise RuntimeError("release " + RELEASE + " fails")
"""


def test_event_invoke_configs_and_destinations_per_version_and_alias(lam, server):
    sqs = boto3.client("sqs", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    url = sqs.create_queue(QueueName=f"ver-dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name = f"ver-{uuid.uuid4().hex[:8]}"
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": package({"app.py": "RELEASE = 'one'\n" + FAILING})}, Publish=True)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    put = lam.put_function_event_invoke_config(FunctionName=name, Qualifier="live", MaximumRetryAttempts=0,
                                               DestinationConfig={"OnFailure": {"Destination": queue_arn}})
    assert put["FunctionArn"] == f"{ARN}:{name}:live"
    assert lam.get_function_event_invoke_config(FunctionName=name, Qualifier="live")["MaximumRetryAttempts"] == 0
    assert error(lam.get_function_event_invoke_config, FunctionName=name)[0] == "ResourceNotFoundException"
    assert error(lam.put_function_event_invoke_config, FunctionName=name, Qualifier="9", MaximumRetryAttempts=0)[0] == "ResourceNotFoundException"
    assert [c["FunctionArn"] for c in lam.list_function_event_invoke_configs(FunctionName=name)["FunctionEventInvokeConfigs"]] \
        == [f"{ARN}:{name}:live"]

    # An event through the alias follows the alias's settings: no retry, the record goes to the queue at once.
    lam.invoke(FunctionName=name, Qualifier="live", InvocationType="Event", Payload=b'{"n": 1}')
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20).get("Messages", [])
    assert len(messages) == 1
    record = json.loads(messages[0]["Body"])
    assert record["requestContext"]["functionArn"] == f"{ARN}:{name}:live" and record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["responseContext"]["executedVersion"] == "1" and record["requestContext"]["approximateInvokeCount"] == 1

    # A destination may be a version or an alias of another function: that version runs with the record.
    out = tempfile.NamedTemporaryFile(delete=False, suffix=".jsonl").name
    target, _ = create(lam, Environment={"Variables": {"OUT": out}})
    lam.publish_version(FunctionName=target)
    lam.update_function_code(FunctionName=target, ZipFile=code("two"))
    lam.create_alias(FunctionName=target, Name="stable", FunctionVersion="1")
    lam.update_function_event_invoke_config(FunctionName=name, Qualifier="live",
                                            DestinationConfig={"OnFailure": {"Destination": f"{ARN}:{target}:stable"}})
    lam.invoke(FunctionName=name, Qualifier="live", InvocationType="Event", Payload=b'{"n": 2}')
    lines = wait_lines(out, 1)
    assert lines and lines[0]["release"] == "one" and lines[0]["arn"] == f"{ARN}:{target}:stable"
    assert lines[0]["event"]["requestPayload"] == {"n": 2}
    os.unlink(out)


INIT = """
import os
def handler(event, context):
    return {"init": os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"], "version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"]}
"""


def test_provisioned_concurrency_on_an_alias_keeps_its_versions_warm(lam):
    name = f"ver-{uuid.uuid4().hex[:8]}"
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": package({"app.py": INIT})},
                        Publish=True)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    assert error(lam.put_provisioned_concurrency_config, FunctionName=name, Qualifier="$LATEST", ProvisionedConcurrentExecutions=1)[0] \
        == "InvalidParameterValueException"
    assert error(lam.put_provisioned_concurrency_config, FunctionName=name, Qualifier="nope", ProvisionedConcurrentExecutions=1)[0] \
        == "ResourceNotFoundException"
    put = lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=2)
    assert put["RequestedProvisionedConcurrentExecutions"] == 2 and put["Status"] in ("IN_PROGRESS", "READY")
    deadline = time.time() + 30
    while (config := lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="live"))["Status"] != "READY":
        assert time.time() < deadline, config
        time.sleep(0.1)
    assert config["AllocatedProvisionedConcurrentExecutions"] == 2
    executed, answer = invoke(lam, f"{name}:live")
    assert executed == "1" and answer == {"init": "provisioned-concurrency", "version": "1"}
    # Reserved concurrency counts every version's and alias's provisioned environments.
    assert error(lam.put_function_concurrency, FunctionName=name, ReservedConcurrentExecutions=1)[0] == "InvalidParameterValueException"
    # Moving the alias moves its provisioned environments to the new version.
    lam.update_function_configuration(FunctionName=name, Timeout=5)
    assert lam.publish_version(FunctionName=name)["Version"] == "2"
    lam.update_alias(FunctionName=name, Name="live", FunctionVersion="2")
    deadline = time.time() + 30
    while (config := lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="live"))["Status"] != "READY":
        assert time.time() < deadline, config
        time.sleep(0.1)
    executed, answer = invoke(lam, f"{name}:live")
    assert executed == "2" and answer["init"] == "provisioned-concurrency"
    listed = lam.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"]
    assert [c["FunctionArn"] for c in listed] == [f"{ARN}:{name}:live"]
    lam.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="live")
    assert error(lam.get_provisioned_concurrency_config, FunctionName=name, Qualifier="live")[0] == "ProvisionedConcurrencyConfigNotFoundException"


def test_provisioned_concurrency_stored_on_latest_moves_to_a_version_at_start(binary, tmp_path):
    """A store written by an earlier Spool, which allowed provisioned concurrency on $LATEST."""
    import sqlite3
    from conftest import SpoolProcess
    server = SpoolProcess(binary, tmp_path / "data")
    server.start()
    try:
        lam = boto3.client("lambda", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test",
                           aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))
        name = f"old-{uuid.uuid4().hex[:8]}"
        lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": package({"app.py": INIT})})
    finally:
        server.stop()
    with sqlite3.connect(tmp_path / "data" / "spool.sqlite") as db:
        db.execute("UPDATE function SET definition = json_set(definition, '$.provisionedConcurrency', 1, '$.provisionedLastModified', 1) "
                   "WHERE name = ?", (name,))
    server.start()
    try:
        lam = boto3.client("lambda", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test",
                           aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))
        assert [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]] == ["$LATEST", "1"]
        listed = lam.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"]
        assert [(c["FunctionArn"], c["RequestedProvisionedConcurrentExecutions"]) for c in listed] == [(f"{ARN}:{name}:1", 1)]
        deadline = time.time() + 30
        while lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="1")["Status"] != "READY":
            assert time.time() < deadline
            time.sleep(0.1)
        assert invoke(lam, name, Qualifier="1")[1]["init"] == "provisioned-concurrency"
        assert "moved from $LATEST" in server.log_path.read_text()
    finally:
        server.stop()
