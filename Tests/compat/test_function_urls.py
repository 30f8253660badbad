"""Function URLs as Lambda defines them (botocore's model; the developer guide's "Invoking Lambda function URLs"):
the configuration API, the payload format 2.0 event an HTTP request becomes, the mapping of the function's answer to
the HTTP response, CORS, AWS_IAM signatures, and the errors URLs answer with."""
import base64
import http.client
import json
import urllib.parse
import uuid

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import SpoolProcess
from functions import ROLE, package

ARN = "arn:aws:lambda:us-east-1:000000000000:function"

ECHO = """
import base64, json
def handler(event, context):
    mode = (event.get("queryStringParameters") or {}).get("mode")
    if mode == "bare":
        return "Hello, world!"
    if mode == "object":
        return {"message": "Hello, world!"}
    if mode == "binary":
        return {"statusCode": 200, "headers": {"Content-Type": "image/png"}, "isBase64Encoded": True,
                "body": base64.b64encode(bytes(range(256))).decode()}
    if mode == "fail":
        raise ValueError("asked to fail")
    return {"statusCode": 201, "headers": {"Content-Type": "application/json", "X-Echo": "yes"},
            "cookies": ["Cookie_1=Value1; Max-Age=78000", "Cookie_2=Value2"], "body": json.dumps({"event": event, "release": RELEASE})}
"""


def code(release="one"):
    return package({"app.py": f"RELEASE = {release!r}\n" + ECHO})


def client(server, **kwargs):
    return boto3.client("lambda", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=kwargs.pop("key", "test"),
                        aws_secret_access_key=kwargs.pop("secret", "test"), config=Config(retries={"max_attempts": 1}))


def error(call, **kwargs):
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]["Code"], raised.value.response["ResponseMetadata"]["HTTPStatusCode"]


def fetch(url, method="GET", body=None, headers=None, host=None):
    """One plain HTTP request; `host` replaces the Host header (the host-name form of a URL)."""
    parsed = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
    target = parsed.path + (f"?{parsed.query}" if parsed.query else "")
    all_headers = dict(headers or {})
    if host:
        all_headers["Host"] = host
    connection.request(method, target, body=body, headers=all_headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, response.headers, data


def new_function(lam, **extra):
    name = f"url-{uuid.uuid4().hex[:8]}"
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": code()}, **extra)
    return name


def public_url(lam, name, qualifier=None, **config):
    """A URL with AuthType NONE, and the permission Lambda requires for anyone to call it."""
    extra = {"Qualifier": qualifier} if qualifier else {}
    url = lam.create_function_url_config(FunctionName=name, AuthType="NONE", **extra, **config)["FunctionUrl"]
    lam.add_permission(FunctionName=name, StatementId="public-url", Action="lambda:InvokeFunctionUrl", Principal="*",
                       FunctionUrlAuthType="NONE", **extra)
    return url


@pytest.fixture()
def lam(server):
    return client(server)


def test_the_configuration_api(lam):
    name = new_function(lam)
    created = lam.create_function_url_config(FunctionName=name, AuthType="NONE",
                                             Cors={"AllowOrigins": ["https://example.com"], "AllowMethods": ["GET", "POST"], "MaxAge": 300})
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["FunctionArn"] == f"{ARN}:{name}" and created["AuthType"] == "NONE" and created["InvokeMode"] == "BUFFERED"
    assert created["Cors"] == {"AllowOrigins": ["https://example.com"], "AllowMethods": ["GET", "POST"], "MaxAge": 300}
    url_id = created["FunctionUrl"].rstrip("/").split("/")[-1]
    assert len(url_id) == 32 and url_id.isalnum() and url_id == url_id.lower()
    assert error(lam.create_function_url_config, FunctionName=name, AuthType="NONE") == ("ResourceConflictException", 409)

    got = lam.get_function_url_config(FunctionName=name)
    assert got["FunctionUrl"] == created["FunctionUrl"] and "LastModifiedTime" in got and got["CreationTime"] == created["CreationTime"]
    updated = lam.update_function_url_config(FunctionName=name, AuthType="AWS_IAM")
    assert updated["AuthType"] == "AWS_IAM" and updated["Cors"] == created["Cors"] and updated["FunctionUrl"] == created["FunctionUrl"]

    # One URL per alias too, never per version.
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    aliased = lam.create_function_url_config(FunctionName=name, Qualifier="live", AuthType="NONE")
    assert aliased["FunctionArn"] == f"{ARN}:{name}:live" and aliased["FunctionUrl"] != created["FunctionUrl"]
    assert error(lam.create_function_url_config, FunctionName=name, Qualifier="1", AuthType="NONE")[0] == "ValidationException"
    assert error(lam.create_function_url_config, FunctionName=name, Qualifier="nope", AuthType="NONE")[0] == "ResourceNotFoundException"
    listed = lam.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"]
    assert [c["FunctionArn"] for c in listed] == [f"{ARN}:{name}", f"{ARN}:{name}:live"]
    page = lam.list_function_url_configs(FunctionName=name, MaxItems=1)
    assert len(page["FunctionUrlConfigs"]) == 1 and "NextMarker" in page
    assert [c["FunctionArn"] for c in lam.list_function_url_configs(FunctionName=name, Marker=page["NextMarker"])["FunctionUrlConfigs"]] \
        == [f"{ARN}:{name}:live"]

    assert lam.create_function_url_config(FunctionName=new_function(lam), AuthType="NONE", InvokeMode="RESPONSE_STREAM")["InvokeMode"] \
        == "RESPONSE_STREAM"
    assert error(lam.create_function_url_config, FunctionName=new_function(lam), AuthType="NONE", InvokeMode="SOMETIMES")[0] == "ValidationException"
    assert error(lam.create_function_url_config, FunctionName=name + "-x", AuthType="NONE")[0] == "ResourceNotFoundException"
    assert lam.delete_function_url_config(FunctionName=name)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert error(lam.get_function_url_config, FunctionName=name) == ("ResourceNotFoundException", 404)
    assert error(lam.delete_function_url_config, FunctionName=name)[0] == "ResourceNotFoundException"
    # An alias's URL goes with the alias.
    lam.add_permission(FunctionName=name, Qualifier="live", StatementId="public", Action="lambda:InvokeFunctionUrl", Principal="*")
    assert fetch(aliased["FunctionUrl"])[0] == 201
    lam.delete_alias(FunctionName=name, Name="live")
    assert fetch(aliased["FunctionUrl"])[0] == 403


def test_a_request_becomes_the_payload_format_2_event(lam):
    name = new_function(lam)
    url = public_url(lam, name)
    url_id = url.rstrip("/").split("/")[-1]
    status, headers, body = fetch(url + "orders/42?x=1&x=2&name=J%C3%BCrgen+W", headers={"Cookie": "a=1; b=2", "X-Custom": "v"})
    assert status == 201 and headers["X-Echo"] == "yes" and headers["Content-Type"] == "application/json"
    assert headers.get_all("Set-Cookie") == ["Cookie_1=Value1; Max-Age=78000", "Cookie_2=Value2"]
    event = json.loads(body)["event"]
    assert event["version"] == "2.0" and event["routeKey"] == "$default" and event["rawPath"] == "/orders/42"
    assert event["rawQueryString"] == "x=1&x=2&name=J%C3%BCrgen+W"
    assert event["queryStringParameters"] == {"x": "1,2", "name": "Jürgen W"}
    assert event["cookies"] == ["a=1", "b=2"] and "cookie" not in event["headers"]
    assert event["headers"]["x-custom"] == "v" and event["isBase64Encoded"] is False and "body" not in event
    context = event["requestContext"]
    assert context["http"]["method"] == "GET" and context["http"]["path"] == "/orders/42" and context["http"]["sourceIp"] == "127.0.0.1"
    assert context["apiId"] == url_id and context["domainPrefix"] == url_id and context["accountId"] == "000000000000"
    assert context["authorizer"] is None and context["stage"] == "$default" and isinstance(context["timeEpoch"], int)

    # A binary body arrives base64-encoded; text stays text.
    binary = bytes(range(256)) * 4
    status, _, body = fetch(url + "upload", method="POST", body=binary, headers={"Content-Type": "application/octet-stream"})
    event = json.loads(body)["event"]
    assert status == 201 and event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == binary
    assert event["requestContext"]["http"]["method"] == "POST" and event["rawPath"] == "/upload"
    status, _, body = fetch(url, method="POST", body=json.dumps({"k": "ü"}).encode(), headers={"Content-Type": "application/json"})
    event = json.loads(body)["event"]
    assert event["isBase64Encoded"] is False and json.loads(event["body"]) == {"k": "ü"} and event["rawPath"] == "/"

    # The host-name form reaches the same URL.
    host = f"{url_id}.lambda-url.us-east-1.localhost:{urllib.parse.urlsplit(url).port}"
    status, _, body = fetch(f"http://127.0.0.1:{urllib.parse.urlsplit(url).port}/by/host?q=1", host=host)
    event = json.loads(body)["event"]
    assert status == 201 and event["rawPath"] == "/by/host" and event["requestContext"]["domainName"] == host.split(":")[0]


def test_the_answer_becomes_the_http_response(lam):
    name = new_function(lam)
    url = public_url(lam, name)
    status, headers, body = fetch(url + "?mode=bare")
    assert status == 200 and headers["Content-Type"] == "application/json" and json.loads(body) == "Hello, world!"
    status, headers, body = fetch(url + "?mode=object")
    assert status == 200 and json.loads(body) == {"message": "Hello, world!"}
    status, headers, body = fetch(url + "?mode=binary")
    assert status == 200 and headers["Content-Type"] == "image/png" and body == bytes(range(256))
    status, _, body = fetch(url + "?mode=fail")
    assert status == 502 and json.loads(body) == {"Message": "Internal Server Error"}
    # Throttled: reserved concurrency 0.
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    status, _, body = fetch(url)
    assert status == 429
    # An unknown URL, or the URL of a deleted function, is forbidden.
    assert fetch(url.replace(url.rstrip("/").split("/")[-1], "a" * 32))[0] == 403
    lam.delete_function(FunctionName=name)
    assert fetch(url)[0] == 403


def test_cors_preflight_and_response_headers(lam):
    name = new_function(lam)
    url = public_url(
        lam, name,
        Cors={"AllowOrigins": ["https://app.example.com"], "AllowMethods": ["GET", "POST"], "AllowHeaders": ["x-custom"],
              "ExposeHeaders": ["x-echo"], "MaxAge": 600, "AllowCredentials": True})
    status, headers, body = fetch(url, method="OPTIONS", headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"})
    assert status == 200 and body == b"" and "X-Echo" not in headers  # answered without running the function
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert headers["Access-Control-Allow-Methods"] == "GET,POST" and headers["Access-Control-Allow-Headers"] == "x-custom"
    assert headers["Access-Control-Max-Age"] == "600" and headers["Access-Control-Allow-Credentials"] == "true"
    status, headers, _ = fetch(url, method="OPTIONS", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in headers
    status, headers, _ = fetch(url, headers={"Origin": "https://app.example.com"})
    assert status == 201 and headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert headers["Access-Control-Expose-Headers"] == "x-echo"


def signed_fetch(url, key, secret, method="GET", body=b""):
    request = AWSRequest(method=method, url=url, data=body)
    SigV4Auth(Credentials(key, secret), "lambda", "us-east-1").add_auth(request)
    return fetch(url, method=method, body=body, headers=dict(request.headers.items()))


def test_aws_iam_urls_require_a_signature(lam):
    name = new_function(lam)
    url = lam.create_function_url_config(FunctionName=name, AuthType="AWS_IAM")["FunctionUrl"]
    status, _, body = fetch(url)
    assert status == 403 and json.loads(body) == {"Message": "Forbidden"}
    status, _, body = signed_fetch(url + "signed", "AKIAURLTEST", "secret")
    assert status == 201
    iam = json.loads(body)["event"]["requestContext"]["authorizer"]["iam"]
    assert iam["accessKey"] == "AKIAURLTEST" and iam["accountId"] == "000000000000"


@pytest.fixture(scope="module")
def secured(binary, tmp_path_factory):
    process = SpoolProcess(binary, tmp_path_factory.mktemp("url-auth") / "data", extra_env={"SPOOL_AUTH_CREDENTIALS": "AKIAURLS0001:url-secret"})
    process.start()
    yield process
    process.stop()


def test_aws_iam_signatures_are_checked_against_spools_credentials(secured):
    lam = client(secured, key="AKIAURLS0001", secret="url-secret")
    name = new_function(lam)
    iam_url = lam.create_function_url_config(FunctionName=name, AuthType="AWS_IAM")["FunctionUrl"]
    assert signed_fetch(iam_url, "AKIAURLS0001", "url-secret")[0] == 201
    assert signed_fetch(iam_url, "AKIAURLS0001", "wrong")[0] == 403
    assert fetch(iam_url)[0] == 403
    # A NONE URL needs no signature, although every API of this server does.
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="open", FunctionVersion="1")
    open_url = public_url(lam, name, qualifier="open")
    status, _, body = fetch(open_url)
    assert status == 201 and json.loads(body)["release"] == "one"


def test_a_none_url_needs_the_public_permission_and_policies_take_qualifiers(lam):
    name = new_function(lam, Publish=True)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    url = lam.create_function_url_config(FunctionName=name, AuthType="NONE")["FunctionUrl"]
    # Without a statement granting lambda:InvokeFunctionUrl to everyone, Lambda answers 403 for a NONE URL.
    assert fetch(url)[0] == 403
    added = lam.add_permission(FunctionName=name, StatementId="public", Action="lambda:InvokeFunctionUrl", Principal="*",
                               FunctionUrlAuthType="NONE")
    statement = json.loads(added["Statement"])
    assert statement["Sid"] == "public" and statement["Principal"] == "*" and statement["Resource"] == f"{ARN}:{name}"
    assert statement["Condition"] == {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}
    assert fetch(url)[0] == 201
    assert error(lam.add_permission, FunctionName=name, StatementId="public", Action="lambda:InvokeFunctionUrl", Principal="*")[0] \
        == "ResourceConflictException"
    # Policies are per qualifier: the alias's is its own.
    lam.add_permission(FunctionName=name, Qualifier="live", StatementId="s3", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com",
                       SourceArn="arn:aws:s3:::bucket", SourceAccount="000000000000")
    policy = lam.get_policy(FunctionName=name, Qualifier="live")
    document = json.loads(policy["Policy"])
    assert [s["Sid"] for s in document["Statement"]] == ["s3"] and document["Statement"][0]["Resource"] == f"{ARN}:{name}:live"
    assert document["Statement"][0]["Principal"] == {"Service": "s3.amazonaws.com"}
    assert [s["Sid"] for s in json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]] == ["public"]
    assert error(lam.add_permission, FunctionName=name, Qualifier="live", StatementId="x", Action="lambda:InvokeFunction", Principal="*",
                 RevisionId="stale")[0] == "PreconditionFailedException"
    assert error(lam.get_policy, FunctionName=name, Qualifier="9")[0] == "ResourceNotFoundException"
    lam.remove_permission(FunctionName=name, StatementId="public")
    assert error(lam.get_policy, FunctionName=name)[0] == "ResourceNotFoundException"
    assert fetch(url)[0] == 403
    assert error(lam.remove_permission, FunctionName=name, StatementId="public")[0] == "ResourceNotFoundException"
