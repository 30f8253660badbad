"""Layers as Lambda's API defines them (botocore's model; the developer guide's "Managing Lambda dependencies with
layers"): publishing, reading, listing and deleting layer versions, their permission policy, and a function's
`Layers` applied in order: modules found on the runtime's search paths, executables on PATH, and extensions started
from the layers' `extensions/` folders."""
import json
import time
import urllib.request
import uuid
import zipfile
import io

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from functions import ROLE, package

LAYER_ARN = "arn:aws:lambda:us-east-1:000000000000:layer"


@pytest.fixture()
def lam(server):
    return boto3.client("lambda", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}, read_timeout=60))


def error(call, **kwargs):
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]["Code"]


def layer_name():
    return f"layer-{uuid.uuid4().hex[:8]}"


def test_publish_get_list_and_delete_layer_versions(lam):
    name = layer_name()
    zipped = package({"python/shared.py": "VALUE = 1\n"})
    first = lam.publish_layer_version(LayerName=name, Description="first", Content={"ZipFile": zipped},
                                      CompatibleRuntimes=["python3.11", "python3.12"], LicenseInfo="MIT",
                                      CompatibleArchitectures=["x86_64"])
    assert first["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert first["Version"] == 1 and first["LayerArn"] == f"{LAYER_ARN}:{name}" and first["LayerVersionArn"] == f"{LAYER_ARN}:{name}:1"
    assert first["Content"]["CodeSize"] == len(zipped) and first["Content"]["CodeSha256"]
    assert first["CompatibleRuntimes"] == ["python3.11", "python3.12"] and first["LicenseInfo"] == "MIT"
    with urllib.request.urlopen(first["Content"]["Location"]) as response:
        assert zipfile.ZipFile(io.BytesIO(response.read())).read("python/shared.py") == b"VALUE = 1\n"
    second = lam.publish_layer_version(LayerName=name, Content={"ZipFile": package({"python/shared.py": "VALUE = 2\n"})},
                                       CompatibleRuntimes=["provided.al2023"])
    assert second["Version"] == 2

    assert lam.get_layer_version(LayerName=name, VersionNumber=1)["Description"] == "first"
    assert lam.get_layer_version(LayerName=f"{LAYER_ARN}:{name}", VersionNumber=2)["Version"] == 2
    assert lam.get_layer_version_by_arn(Arn=f"{LAYER_ARN}:{name}:1")["LicenseInfo"] == "MIT"
    versions = lam.list_layer_versions(LayerName=name)["LayerVersions"]
    assert [v["Version"] for v in versions] == [2, 1]
    assert [v["Version"] for v in lam.list_layer_versions(LayerName=name, CompatibleRuntime="python3.12")["LayerVersions"]] == [1]
    page = lam.list_layer_versions(LayerName=name, MaxItems=1)
    assert [v["Version"] for v in page["LayerVersions"]] == [2]
    assert [v["Version"] for v in lam.list_layer_versions(LayerName=name, Marker=page["NextMarker"])["LayerVersions"]] == [1]

    listed = {layer["LayerName"]: layer for layer in lam.list_layers()["Layers"]}
    assert listed[name]["LatestMatchingVersion"]["Version"] == 2 and listed[name]["LayerArn"] == f"{LAYER_ARN}:{name}"
    python = {layer["LayerName"]: layer for layer in lam.list_layers(CompatibleRuntime="python3.12")["Layers"]}
    assert python[name]["LatestMatchingVersion"]["Version"] == 1

    assert lam.delete_layer_version(LayerName=name, VersionNumber=2)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert lam.delete_layer_version(LayerName=name, VersionNumber=2)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert error(lam.get_layer_version, LayerName=name, VersionNumber=2) == "ResourceNotFoundException"
    # A deleted number is not used again.
    assert lam.publish_layer_version(LayerName=name, Content={"ZipFile": zipped})["Version"] == 3
    assert error(lam.publish_layer_version, LayerName=name, Content={"ZipFile": b"not a zip"}) == "InvalidParameterValueException"
    assert error(lam.publish_layer_version, LayerName=name, Content={"ZipFile": zipped}, CompatibleRuntimes=["cobol85"]) == "ValidationException"


def test_layer_version_permissions(lam):
    name = layer_name()
    lam.publish_layer_version(LayerName=name, Content={"ZipFile": package({"python/x.py": ""})})
    assert error(lam.get_layer_version_policy, LayerName=name, VersionNumber=1) == "ResourceNotFoundException"
    added = lam.add_layer_version_permission(LayerName=name, VersionNumber=1, StatementId="everyone", Action="lambda:GetLayerVersion",
                                             Principal="*")
    statement = json.loads(added["Statement"])
    assert statement["Sid"] == "everyone" and statement["Action"] == "lambda:GetLayerVersion" and statement["Resource"] == f"{LAYER_ARN}:{name}:1"
    assert error(lam.add_layer_version_permission, LayerName=name, VersionNumber=1, StatementId="everyone", Action="lambda:GetLayerVersion",
                 Principal="*") == "ResourceConflictException"
    assert error(lam.add_layer_version_permission, LayerName=name, VersionNumber=1, StatementId="stale", Action="lambda:GetLayerVersion",
                 Principal="123456789012", RevisionId="stale") == "PreconditionFailedException"
    lam.add_layer_version_permission(LayerName=name, VersionNumber=1, StatementId="org", Action="lambda:GetLayerVersion", Principal="*",
                                     OrganizationId="o-abcdefghij", RevisionId=added["RevisionId"])
    policy = lam.get_layer_version_policy(LayerName=name, VersionNumber=1)
    assert [s["Sid"] for s in json.loads(policy["Policy"])["Statement"]] == ["everyone", "org"]
    lam.remove_layer_version_permission(LayerName=name, VersionNumber=1, StatementId="everyone")
    assert [s["Sid"] for s in json.loads(lam.get_layer_version_policy(LayerName=name, VersionNumber=1)["Policy"])["Statement"]] == ["org"]
    assert error(lam.remove_layer_version_permission, LayerName=name, VersionNumber=1, StatementId="everyone") == "ResourceNotFoundException"


EXTENSION = """#!/bin/sh
BASE="http://$AWS_LAMBDA_RUNTIME_API/2020-01-01/extension"
HEADERS="$(mktemp)"
curl -sS -D "$HEADERS" -X POST "$BASE/register" -H "Lambda-Extension-Name: layer-ext" -d '{"events":["INVOKE"]}' > /dev/null
ID=$(grep -i Lambda-Extension-Identifier "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
while true; do
  EVENT=$(curl -sS -H "Lambda-Extension-Identifier: $ID" "$BASE/event/next") || exit 0
  echo "$EVENT" >> "$EXTENSION_OUT"
done
"""

HANDLER = """
import os, subprocess
import shared
from helper import greet
def handler(event, context):
    tool = subprocess.run(["layer-tool"], capture_output=True, text=True).stdout.strip()
    return {"greeting": greet(event["name"]), "shared": shared.VALUE, "tool": tool}
"""


def test_a_function_runs_with_its_layers_in_order(lam, tmp_path):
    base, override = layer_name(), layer_name()
    base_arn = lam.publish_layer_version(
        LayerName=base, Content={"ZipFile": package(
            {"python/shared.py": "VALUE = 'base'\n", "python/lib/python3.11/site-packages/helper.py": "def greet(n):\n    return f'hello {n}'\n",
             "bin/layer-tool": "#!/bin/sh\necho tool from base\n", "extensions/layer-ext": EXTENSION},
            {"bin/layer-tool": 0o755, "extensions/layer-ext": 0o755})})["LayerVersionArn"]
    # The second layer applies after the first: its `shared` module is the one found.
    override_arn = lam.publish_layer_version(LayerName=override, Content={"ZipFile": package({"python/shared.py": "VALUE = 'override'\n"})})["LayerVersionArn"]
    out = tmp_path / "extension.log"
    name = f"layered-{uuid.uuid4().hex[:8]}"
    created = lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                                  Code={"ZipFile": package({"app.py": HANDLER})}, Layers=[base_arn, override_arn],
                                  Environment={"Variables": {"EXTENSION_OUT": str(out)}})
    assert [layer["Arn"] for layer in created["Layers"]] == [base_arn, override_arn] and all(layer["CodeSize"] > 0 for layer in created["Layers"])
    answer = lam.invoke(FunctionName=name, Payload=b'{"name": "layers"}')
    assert "FunctionError" not in answer, answer["Payload"].read()
    assert json.loads(answer["Payload"].read()) == {"greeting": "hello layers", "shared": "override", "tool": "tool from base"}
    # The layer's extension started with the environment and received the invocation.
    deadline = time.time() + 5
    while not (out.exists() and answer["ResponseMetadata"]["RequestId"] in out.read_text()):
        assert time.time() < deadline
        time.sleep(0.05)

    # Layers change with the configuration; a deleted layer version keeps working for functions that use it.
    lam.delete_layer_version(LayerName=override, VersionNumber=1)
    assert json.loads(lam.invoke(FunctionName=name, Payload=b'{"name": "x"}')["Payload"].read())["shared"] == "override"
    lam.update_function_configuration(FunctionName=name, Layers=[base_arn])
    assert json.loads(lam.invoke(FunctionName=name, Payload=b'{"name": "x"}')["Payload"].read())["shared"] == "base"
    assert lam.get_function_configuration(FunctionName=name)["Layers"] == [{"Arn": base_arn, "CodeSize": created["Layers"][0]["CodeSize"]}]
    assert error(lam.update_function_configuration, FunctionName=name, Layers=[override_arn]) == "InvalidParameterValueException"
    lam.update_function_configuration(FunctionName=name, Layers=[])
    assert "Layers" not in lam.get_function_configuration(FunctionName=name)


def test_layer_limits(lam):
    arns = [lam.publish_layer_version(LayerName=layer_name(), Content={"ZipFile": package({"python/m.py": ""})})["LayerVersionArn"]
            for _ in range(6)]
    code = {"ZipFile": package({"app.py": "def handler(e, c):\n    return 1\n"})}
    assert error(lam.create_function, FunctionName=f"six-{uuid.uuid4().hex[:6]}", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                 Code=code, Layers=arns) == "InvalidParameterValueException"
    assert error(lam.create_function, FunctionName=f"missing-{uuid.uuid4().hex[:6]}", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                 Code=code, Layers=[arns[0][:-1] + "9"]) == "InvalidParameterValueException"
    two_of_one = arns[0][:-1] + "1"
    assert error(lam.create_function, FunctionName=f"dup-{uuid.uuid4().hex[:6]}", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                 Code=code, Layers=[arns[0], two_of_one]) == "InvalidParameterValueException"
    # Published versions keep the layers they were published with.
    name = f"ver-{uuid.uuid4().hex[:6]}"
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code=code, Layers=arns[:1], Publish=True)
    lam.update_function_configuration(FunctionName=name, Layers=arns[1:3])
    assert [layer["Arn"] for layer in lam.get_function_configuration(FunctionName=name, Qualifier="1")["Layers"]] == arns[:1]


def test_code_and_layers_stay_within_250_mb_together(lam):
    # A layer of 150 MB of zeros (a small zip) and a function of 120 MB: each fits alone, not together.
    big = io.BytesIO()
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("python/blob.bin", b"\0" * 150_000_000)
    arn = lam.publish_layer_version(LayerName=layer_name(), Content={"ZipFile": big.getvalue()})["LayerVersionArn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", "def handler(e, c):\n    return 1\n")
        archive.writestr("data.bin", b"\0" * 120_000_000)
    name = f"big-{uuid.uuid4().hex[:6]}"
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": code.getvalue()})
    assert error(lam.update_function_configuration, FunctionName=name, Layers=[arn]) == "InvalidParameterValueException"
    small = f"small-{uuid.uuid4().hex[:6]}"
    lam.create_function(FunctionName=small, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": package({"app.py": "def handler(e, c):\n    return 1\n"})}, Layers=[arn])
    assert error(lam.update_function_code, FunctionName=small, ZipFile=code.getvalue()) == "InvalidParameterValueException"

