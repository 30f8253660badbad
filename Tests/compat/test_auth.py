"""SigV4 authentication: boto3 signing with the right key, the wrong key, an unknown key, no key; presigned URLs;
clock skew; the CLI; and the refusal to listen on the network unsigned."""
import datetime
import json
import subprocess
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import SpoolProcess

KEY, SECRET = "AKIASPOOLTEST0001", "s3cr3t/with+chars"
OTHER_KEY, OTHER_SECRET = "AKIASPOOLTEST0002", "another-secret"


@pytest.fixture(scope="module")
def secured(binary, tmp_path_factory):
    process = SpoolProcess(binary, tmp_path_factory.mktemp("auth") / "data",
                           extra_env={"SPOOL_AUTH_CREDENTIALS": f"{KEY}:{SECRET},{OTHER_KEY}:{OTHER_SECRET}"})
    process.start()
    yield process
    process.stop()


def client(server, service, key=KEY, secret=SECRET, region="us-east-1", **kwargs):
    return boto3.client(service, endpoint_url=server.endpoint, region_name=region, aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}, **kwargs))


def error(call):
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response


@pytest.mark.parametrize("service", ["lambda", "sqs", "kinesis"])
def test_right_keys_are_accepted(secured, service):
    for key, secret in [(KEY, SECRET), (OTHER_KEY, OTHER_SECRET)]:
        c = client(secured, service, key, secret)
        if service == "lambda":
            assert c.list_functions()["ResponseMetadata"]["HTTPStatusCode"] == 200
        elif service == "sqs":
            url = c.create_queue(QueueName="auth-queue")["QueueUrl"]
            c.send_message(QueueUrl=url, MessageBody="signed body with ünïcode")
            assert c.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "signed body with ünïcode"
        else:
            assert "StreamNames" in c.list_streams()


def test_lambda_paths_with_encoded_arns_and_query_strings_verify(secured):
    lam = client(secured, "lambda")
    sqs = client(secured, "sqs")
    url = sqs.create_queue(QueueName="auth-esm")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # ARNs in the path are percent-encoded on the wire and encoded again in the canonical request.
    response = error(lambda: lam.get_function(FunctionName="arn:aws:lambda:us-east-1:000000000000:function:nope"))
    assert response["Error"]["Code"] == "ResourceNotFoundException"
    assert lam.list_event_source_mappings(EventSourceArn=arn, MaxItems=5)["EventSourceMappings"] == []


@pytest.mark.parametrize("service,code,status", [
    ("lambda", "InvalidSignatureException", 403),
    ("sqs", "SignatureDoesNotMatch", 403),
    ("kinesis", "InvalidSignatureException", 403),
])
def test_wrong_secret_is_refused_in_each_services_shape(secured, service, code, status):
    c = client(secured, service, KEY, "wrong-secret")
    call = getattr(c, {"lambda": "list_functions", "sqs": "list_queues", "kinesis": "list_streams"}[service])
    response = error(call)
    assert response["Error"]["Code"] == code
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert "does not match the signature you provided" in response["Error"]["Message"]


@pytest.mark.parametrize("service,code", [
    ("lambda", "UnrecognizedClientException"), ("sqs", "InvalidClientTokenId"), ("kinesis", "UnrecognizedClientException"),
])
def test_unknown_key_is_refused(secured, service, code):
    c = client(secured, service, "AKIAUNKNOWN", SECRET)
    call = getattr(c, {"lambda": "list_functions", "sqs": "list_queues", "kinesis": "list_streams"}[service])
    response = error(call)
    assert response["Error"]["Code"] == code
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403


def raw(server, path, body=b"", headers=None, method="POST"):
    request = urllib.request.Request(server.endpoint + path, data=body if method != "GET" else None, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as failure:
        return failure.code, dict(failure.headers), failure.read()


def test_unsigned_requests_are_refused_but_health_stays_open(secured):
    status, headers, body = raw(secured, "/2015-03-31/functions/", method="GET")
    assert status == 403 and headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    status, headers, body = raw(secured, "/", b"{}", {"X-Amz-Target": "AmazonSQS.ListQueues", "Content-Type": "application/x-amz-json-1.0"})
    assert status == 403 and headers["x-amzn-query-error"] == "MissingAuthenticationToken;Sender"
    status, _, body = raw(secured, "/", b"{}", {"X-Amz-Target": "Kinesis_20131202.ListStreams", "Content-Type": "application/x-amz-json-1.1"})
    assert status == 403 and json.loads(body)["__type"] == "MissingAuthenticationTokenException"
    status, _, body = raw(secured, "/spool/v1/dead-letters", method="GET")
    assert status == 403 and json.loads(body)["error"]["code"] == "MissingAuthenticationTokenException"
    status, _, body = raw(secured, "/health", method="GET")
    assert status == 200


def signed_request(server, service, body, target, key=KEY, secret=SECRET, when=None, tamper=None):
    request = AWSRequest(method="POST", url=server.endpoint + "/", data=body,
                         headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"})
    signer = SigV4Auth(Credentials(key, secret), service, "us-east-1")
    if when is not None:
        # botocore takes the signing time from the clock; a fixed one gives a skewed signature.
        import botocore.auth as auth_module
        real = auth_module.datetime.datetime

        class Fixed(real):
            @classmethod
            def utcnow(cls):
                return when.replace(tzinfo=None)

            @classmethod
            def now(cls, tz=None):
                return when if tz else when.replace(tzinfo=None)
        auth_module.datetime.datetime = Fixed
        try:
            signer.add_auth(request)
        finally:
            auth_module.datetime.datetime = real
    else:
        signer.add_auth(request)
    headers = dict(request.headers)
    data = request.body if tamper is None else tamper
    return raw(server, "/", data, headers)


def test_body_hash_is_checked(secured):
    body = json.dumps({"QueueNamePrefix": "auth"}).encode()
    status, _, _ = signed_request(secured, "sqs", body, "AmazonSQS.ListQueues")
    assert status == 200
    status, headers, _ = signed_request(secured, "sqs", body, "AmazonSQS.ListQueues", tamper=json.dumps({"QueueNamePrefix": "other"}).encode())
    assert status == 403 and headers["x-amzn-query-error"] == "SignatureDoesNotMatch;Sender"


def test_clock_skew_over_five_minutes_is_refused(secured):
    body = b"{}"
    now = datetime.datetime.now(datetime.timezone.utc)
    status, _, _ = signed_request(secured, "kinesis", body, "Kinesis_20131202.ListStreams", when=now - datetime.timedelta(minutes=4))
    assert status == 200
    status, _, answer = signed_request(secured, "kinesis", body, "Kinesis_20131202.ListStreams", when=now - datetime.timedelta(minutes=6))
    assert status == 403 and "Signature expired" in json.loads(answer)["message"]
    status, _, answer = signed_request(secured, "kinesis", body, "Kinesis_20131202.ListStreams", when=now + datetime.timedelta(minutes=6))
    assert status == 403 and "Signature not yet current" in json.loads(answer)["message"]


def test_wrong_scope_is_refused(secured):
    status, _, answer = signed_request(secured, "lambda", b"{}", "Kinesis_20131202.ListStreams")
    assert status == 403 and "correct service: 'kinesis'" in json.loads(answer)["message"]
    # Any region is a namespace of its own (test_regions.py); a scope that names no region is refused.
    assert client(secured, "sqs", region="eu-west-1").list_queues()["ResponseMetadata"]["HTTPStatusCode"] == 200
    response = error(client(secured, "sqs", region="EU-WEST-1").list_queues)
    assert response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert "valid region, not 'EU-WEST-1'" in response["Error"]["Message"]


def test_malformed_authorization_is_an_incomplete_signature(secured):
    headers = {"X-Amz-Target": "Kinesis_20131202.ListStreams", "Authorization": "AWS4-HMAC-SHA256 Credential=AKIASPOOLTEST0001/20260101"}
    status, _, answer = raw(secured, "/", b"{}", headers)
    assert status == 403 and json.loads(answer)["__type"] == "IncompleteSignatureException"
    headers["X-Amz-Target"] = "AmazonSQS.ListQueues"
    status, response_headers, _ = raw(secured, "/", b"{}", headers)
    assert status == 403 and response_headers["x-amzn-query-error"] == "IncompleteSignature;Sender"


def test_presigned_urls(secured):
    lam = client(secured, "lambda")
    url = lam.generate_presigned_url("list_functions", Params={"MaxItems": 5}, ExpiresIn=60)
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.status == 200 and "Functions" in json.loads(answer.read())
    tampered = url.replace("MaxItems=5", "MaxItems=6")
    status, headers, _ = raw(secured, tampered[len(secured.endpoint):], method="GET")
    assert status == 403 and headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    wrong = client(secured, "lambda", KEY, "nope").generate_presigned_url("list_functions", ExpiresIn=60)
    status, headers, _ = raw(secured, wrong[len(secured.endpoint):], method="GET")
    assert status == 403 and headers["x-amzn-ErrorType"] == "InvalidSignatureException"


def test_cli_signs_admin_requests(secured, binary, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "SPOOL_ENDPOINT": secured.endpoint}
    refused = subprocess.run([str(binary), "dead-letters", "list"], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "MissingAuthenticationTokenException" in refused.stderr + refused.stdout
    for extra in ({"SPOOL_AUTH_CREDENTIALS": f"{KEY}:{SECRET}"}, {"AWS_ACCESS_KEY_ID": OTHER_KEY, "AWS_SECRET_ACCESS_KEY": OTHER_SECRET}):
        ok = subprocess.run([str(binary), "dead-letters", "list"], env={**env, **extra}, capture_output=True, text=True, timeout=60)
        assert ok.returncode == 0, ok.stderr
    wrong = subprocess.run([str(binary), "dead-letters", "list"], env={**env, "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": "x"},
                           capture_output=True, text=True, timeout=60)
    assert wrong.returncode != 0 and "InvalidSignatureException" in wrong.stderr + wrong.stdout


def test_unsigned_server_says_so_and_accepts_unsigned(binary, tmp_path):
    process = SpoolProcess(binary, tmp_path / "data")
    process.start()
    try:
        status, _, _ = raw(process, "/2015-03-31/functions/", method="GET")
        assert status == 200
    finally:
        process.stop()
    assert "no credentials configured" in process.log_path.read_text()


def test_non_loopback_listener_needs_credentials_or_a_flag(binary, tmp_path):
    refused = subprocess.run([str(binary), "serve", "--host", "0.0.0.0", "--port", "0", "--data-dir", str(tmp_path / "d")],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert "not a loopback address" in refused.stderr and "--allow-unsigned-remote" in refused.stderr


SPY = r'''
import json, os, urllib.request, urllib.error

def handler(event, context):
    api = os.environ["AWS_LAMBDA_RUNTIME_API"]
    url = f"http://{api}/2018-06-01/runtime/invocation/{event['victim']}/response"
    try:
        urllib.request.urlopen(urllib.request.Request(url, data=b'"stolen"', method="POST"), timeout=5)
        answer = 200
    except urllib.error.HTTPError as failure:
        answer = failure.code
    values = "\n".join(os.environ.values())
    return {"answer": answer, "names": sorted(os.environ), "leaks": [s for s in event["secrets"] if s in values]}
'''

VICTIM = '''
import time

def handler(event, context):
    time.sleep(2)
    return {"victim": "answered itself"}
'''


def test_functions_see_only_their_own_variables_and_cannot_answer_other_invocations(binary, tmp_path):
    from functions import create_python
    secrets = {"SPOOL_AUTH_CREDENTIALS": f"{KEY}:{SECRET}", "AWS_ACCESS_KEY_ID": "AKIASERVICEOWN", "AWS_SECRET_ACCESS_KEY": "service-own-secret",
               "AWS_SESSION_TOKEN": "service-own-token", "DATABASE_PASSWORD": "service-db-password"}
    process = SpoolProcess(binary, tmp_path / "data", extra_env=secrets)
    process.start()
    try:
        lam = client(process, "lambda", read_timeout=60)
        spy = create_python(lam, SPY, Environment={"Variables": {"MINE": "visible"}})
        victim = create_python(lam, VICTIM)
        running = lam.invoke(FunctionName=victim, InvocationType="Event", Payload=b"{}")
        victim_id = running["ResponseMetadata"]["RequestId"]
        result = json.loads(lam.invoke(FunctionName=spy, Payload=json.dumps({"victim": victim_id, "secrets": list(secrets.values())}))["Payload"].read())
        assert result["answer"] == 400
        assert result["leaks"] == []
        assert "MINE" in result["names"] and "SPOOL_AUTH_CREDENTIALS" not in result["names"] and "DATABASE_PASSWORD" not in result["names"]
    finally:
        process.stop()
