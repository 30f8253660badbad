"""The function registry through boto3: shapes, pagination, validation, code packages and concurrency settings."""
import base64
import hashlib
import io
import re
import urllib.request
import zipfile

import pytest
from botocore.exceptions import ClientError

from conftest import make_client
from functions import ROLE, create_python, function_name, package

HANDLER = "def handler(event, context):\n    return event\n"


@pytest.fixture()
def lam(server):
    return make_client(server.endpoint, "lambda")


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def test_create_returns_the_function_configuration(lam):
    zipped = package({"app.py": HANDLER})
    name = function_name()
    created = lam.create_function(
        FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler", Code={"ZipFile": zipped},
        Description="echo", Timeout=7, MemorySize=256, Environment={"Variables": {"GREETING": "hi"}},
        DeadLetterConfig={"TargetArn": "arn:aws:sqs:us-east-1:000000000000:dead"}, Tags={"team": "core"},
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["FunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert created["Runtime"] == "python3.12"
    assert created["Handler"] == "app.handler"
    assert created["Timeout"] == 7 and created["MemorySize"] == 256
    assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(zipped).digest()).decode()
    assert created["CodeSize"] == len(zipped)
    assert created["Version"] == "$LATEST"
    assert created["State"] == "Active" and created["LastUpdateStatus"] == "Successful"
    assert created["Environment"] == {"Variables": {"GREETING": "hi"}}
    assert created["DeadLetterConfig"] == {"TargetArn": "arn:aws:sqs:us-east-1:000000000000:dead"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", created["LastModified"])
    got = lam.get_function(FunctionName=name)
    assert got["Configuration"]["RevisionId"] == created["RevisionId"]
    assert got["Tags"] == {"team": "core"}
    with urllib.request.urlopen(got["Code"]["Location"]) as response:
        assert response.read() == zipped
    config = lam.get_function_configuration(FunctionName=f"000000000000:function:{name}")
    assert config["Description"] == "echo"
    lam.get_waiter("function_active_v2").wait(FunctionName=name)


def test_names_arns_and_qualifiers_are_accepted_where_aws_accepts_them(lam):
    name = create_python(lam, HANDLER)
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    for reference in [name, arn, f"{arn}:$LATEST", f"000000000000:function:{name}", f"{name}:$LATEST"]:
        assert lam.get_function_configuration(FunctionName=reference)["FunctionName"] == name
    assert lam.get_function(FunctionName=name, Qualifier="$LATEST")["Configuration"]["FunctionName"] == name
    with pytest.raises(ClientError) as missing_version:
        lam.get_function(FunctionName=name, Qualifier="7")
    assert error_code(missing_version) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as mismatch:
        lam.get_function(FunctionName=f"{name}:$LATEST", Qualifier="prod")
    assert error_code(mismatch) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as other_account:
        lam.get_function(FunctionName=f"arn:aws:lambda:us-east-1:111111111111:function:{name}")
    assert error_code(other_account) == "ResourceNotFoundException"


def test_list_functions_paginates(lam, server):
    names = sorted(create_python(lam, HANDLER, name=function_name("page")) for _ in range(5))
    seen = []
    marker = None
    while True:
        kwargs = {"MaxItems": 2, **({"Marker": marker} if marker else {})}
        page = lam.list_functions(**kwargs)
        assert len(page["Functions"]) <= 2
        seen += [f["FunctionName"] for f in page["Functions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert [n for n in seen if n.startswith("page-")] == names
    paginated = [f["FunctionName"] for p in lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 3}) for f in p["Functions"]]
    assert seen == paginated


def test_missing_and_duplicate_functions_get_aws_errors(lam):
    with pytest.raises(ClientError) as missing:
        lam.get_function(FunctionName="does-not-exist")
    assert error_code(missing) == "ResourceNotFoundException"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "Function not found: arn:aws:lambda:us-east-1:000000000000:function:does-not-exist" in str(missing.value)
    name = create_python(lam, HANDLER)
    with pytest.raises(ClientError) as conflict:
        create_python(lam, HANDLER, name=name)
    assert error_code(conflict) == "ResourceConflictException"
    assert conflict.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    lam.delete_function(FunctionName=name)
    with pytest.raises(ClientError) as deleted:
        lam.invoke(FunctionName=name)
    assert error_code(deleted) == "ResourceNotFoundException"


@pytest.mark.parametrize("overrides,code", [
    ({"Timeout": 901}, "ValidationException"),
    ({"MemorySize": 20000}, "ValidationException"),
    ({"Runtime": "cobol85"}, "ValidationException"),
    ({"Runtime": "java21"}, "InvalidParameterValueException"),
    ({"Role": "not-a-role"}, "ValidationException"),
    ({"Environment": {"Variables": {"AWS_REGION": "x"}}}, "InvalidParameterValueException"),
    ({"Environment": {"Variables": {"BIG": "x" * 5000}}}, "InvalidParameterValueException"),
    ({"Layers": ["arn:aws:lambda:us-east-1:000000000000:layer:l:1"]}, "InvalidParameterValueException"),
    ({"PublishTo": "LATEST_PUBLISHED"}, "InvalidParameterValueException"),
    ({"FunctionName": "bad name!"}, "ValidationException"),
])
def test_invalid_settings_are_rejected(lam, overrides, code):
    arguments = {"FunctionName": function_name("bad"), "Runtime": "python3.11", "Role": ROLE, "Handler": "app.handler",
                 "Code": {"ZipFile": package({"app.py": HANDLER})}, **overrides}
    with pytest.raises(ClientError) as failure:
        lam.create_function(**arguments)
    assert error_code(failure) == code
    assert failure.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert arguments["FunctionName"] not in [f["FunctionName"] for f in lam.list_functions(MaxItems=10000)["Functions"]]


def zip_with(entries):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info, data in entries:
            archive.writestr(info, data)
    return buffer.getvalue()


def test_unsafe_or_broken_packages_are_rejected(lam, server):
    escape = zip_with([(zipfile.ZipInfo("../../escaped.py"), "x = 1")])
    link = zipfile.ZipInfo("link")
    link.external_attr = (0o120777) << 16
    symlink_out = zip_with([(link, "/etc/passwd"), (zipfile.ZipInfo("app.py"), HANDLER)])
    for bad in [escape, symlink_out, b"this is not a zip file"]:
        with pytest.raises(ClientError) as failure:
            lam.create_function(FunctionName=function_name("unsafe"), Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": bad})
        assert error_code(failure) == "InvalidParameterValueException"
    assert not (server.data_dir / "escaped.py").exists()
    assert not list(server.data_dir.parent.rglob("escaped.py"))


def test_a_package_over_250_mb_unzipped_is_rejected(lam):
    info = zipfile.ZipInfo("big.bin")
    info.compress_type = zipfile.ZIP_DEFLATED
    bomb = zip_with([(info, b"\0" * (262_144_000 + 1))])
    assert len(bomb) < 1_000_000
    with pytest.raises(ClientError) as failure:
        lam.create_function(FunctionName=function_name("bomb"), Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": bomb})
    assert error_code(failure) == "InvalidParameterValueException"
    assert "262144000" in str(failure.value)


def test_update_configuration_and_code_take_effect_and_check_the_revision(lam):
    name = create_python(lam, "import os\ndef handler(event, context):\n    return os.environ.get('COLOR')\n",
                         Environment={"Variables": {"COLOR": "red"}})
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"red"'
    updated = lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"COLOR": "blue"}}, Timeout=5)
    assert updated["Timeout"] == 5
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"blue"'
    with pytest.raises(ClientError) as stale:
        lam.update_function_configuration(FunctionName=name, Description="x", RevisionId="not-the-revision")
    assert error_code(stale) == "PreconditionFailedException"
    new_code = package({"app.py": "def handler(event, context):\n    return 'v2'\n"})
    dry = lam.update_function_code(FunctionName=name, ZipFile=new_code, DryRun=True)
    assert dry["CodeSha256"] == base64.b64encode(hashlib.sha256(new_code).digest()).decode()
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"blue"'
    code = lam.update_function_code(FunctionName=name, ZipFile=new_code, RevisionId=updated["RevisionId"])
    assert code["RevisionId"] != updated["RevisionId"]
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"v2"'


def test_reserved_concurrency_is_stored_and_limited_by_the_account(lam):
    name = create_python(lam, HANDLER)
    assert lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=3)["ReservedConcurrentExecutions"] == 3
    assert lam.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 3
    assert lam.get_function(FunctionName=name)["Concurrency"] == {"ReservedConcurrentExecutions": 3}
    with pytest.raises(ClientError) as too_many:
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=950)
    assert error_code(too_many) == "InvalidParameterValueException"
    assert "UnreservedConcurrentExecution below its minimum value of [100]" in str(too_many.value)
    lam.delete_function_concurrency(FunctionName=name)
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=name)


def test_tags_can_be_listed_added_and_removed(lam):
    name = create_python(lam, HANDLER, Tags={"team": "core"})
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    revision = lam.get_function(FunctionName=name)["Configuration"]["RevisionId"]
    assert lam.list_tags(Resource=arn)["Tags"] == {"team": "core"}
    lam.tag_resource(Resource=arn, Tags={"env": "dev", "cost center": "42/a"})
    assert lam.list_tags(Resource=arn)["Tags"] == {"team": "core", "env": "dev", "cost center": "42/a"}
    lam.untag_resource(Resource=arn, TagKeys=["team", "cost center"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"env": "dev"}
    assert lam.get_function(FunctionName=name)["Configuration"]["RevisionId"] == revision
    with pytest.raises(ClientError) as missing:
        lam.list_tags(Resource="arn:aws:lambda:us-east-1:000000000000:function:no-such-fn")
    assert error_code(missing) == "ResourceNotFoundException"


def test_a_zip_over_50_mb_is_request_entity_too_large(lam):
    import os
    info = zipfile.ZipInfo("noise.bin")
    big = zip_with([(info, os.urandom(50 * 1024 * 1024 + 1024))])
    with pytest.raises(ClientError) as failure:
        lam.create_function(FunctionName=function_name("huge"), Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": big})
    assert error_code(failure) == "RequestEntityTooLargeException"
    assert failure.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_account_settings_report_the_concurrency_limit_and_usage(binary, tmp_path):
    from conftest import SpoolProcess
    server = SpoolProcess(binary, tmp_path / "data", extra_env={"SPOOL_FUNCTIONS_CONCURRENCY_LIMIT": "300"})
    server.start()
    try:
        lam = make_client(server.endpoint, "lambda")
        name = create_python(lam, HANDLER)
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=20)
        settings = lam.get_account_settings()
        assert settings["AccountLimit"]["ConcurrentExecutions"] == 300
        assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 280
        assert settings["AccountLimit"]["CodeSizeZipped"] == 52_428_800
        assert settings["AccountUsage"]["FunctionCount"] == 1
        assert settings["AccountUsage"]["TotalCodeSize"] == lam.get_function(FunctionName=name)["Configuration"]["CodeSize"]
        with pytest.raises(ClientError) as too_many:
            lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=271)
        assert "minimum value of [30]" in str(too_many.value)
    finally:
        server.stop()
