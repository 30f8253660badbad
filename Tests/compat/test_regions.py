"""Regions as namespaces, as on AWS: the region a request is signed for (its SigV4 credential scope) chooses the
namespace its names mean. A queue, stream or function in eu-central-1 is not the one of the same name in us-east-1;
ARNs and queue URLs name their region; unsigned requests act in the configured region, where data written before
regions were namespaces stays."""
import json
import os
import tempfile
import time
import urllib.parse
import urllib.request
import uuid

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import SpoolProcess
from functions import ROLE, create_python, package

HOME, OTHER = "us-east-1", "eu-central-1"
ACCOUNT = "000000000000"


def client(server, service, region, key="test", secret="test", **config):
    return boto3.client(service, endpoint_url=server.endpoint, region_name=region, aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}, **config))


def error(call, **kwargs):
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_queues_of_one_name_in_two_regions_are_two_queues(server):
    home, other = client(server, "sqs", HOME), client(server, "sqs", OTHER)
    name = unique("regional")
    home_url = home.create_queue(QueueName=name)["QueueUrl"]
    other_url = other.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "7"})["QueueUrl"]
    # The home region's URLs keep their form; another region's name the region.
    assert home_url == f"{server.endpoint}/{ACCOUNT}/{name}"
    assert other_url == f"{server.endpoint}/{OTHER}/{ACCOUNT}/{name}"
    assert home.get_queue_attributes(QueueUrl=home_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"] \
        == f"arn:aws:sqs:{HOME}:{ACCOUNT}:{name}"
    attributes = other.get_queue_attributes(QueueUrl=other_url, AttributeNames=["All"])["Attributes"]
    assert attributes["QueueArn"] == f"arn:aws:sqs:{OTHER}:{ACCOUNT}:{name}"
    assert attributes["VisibilityTimeout"] == "7"
    assert home.get_queue_attributes(QueueUrl=home_url, AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"] == "30"

    home.send_message(QueueUrl=home_url, MessageBody="from home")
    other.send_message(QueueUrl=other_url, MessageBody="from frankfurt")
    assert [m["Body"] for m in other.receive_message(QueueUrl=other_url, WaitTimeSeconds=1)["Messages"]] == ["from frankfurt"]
    assert [m["Body"] for m in home.receive_message(QueueUrl=home_url, WaitTimeSeconds=1)["Messages"]] == ["from home"]

    # GetQueueUrl and a bare name where a URL is expected mean the request's region.
    assert other.get_queue_url(QueueName=name)["QueueUrl"] == other_url
    assert home.get_queue_url(QueueName=name)["QueueUrl"] == home_url
    # ListQueues lists the request's region only.
    assert other.list_queues(QueueNamePrefix=name)["QueueUrls"] == [other_url]
    assert home.list_queues(QueueNamePrefix=name)["QueueUrls"] == [home_url]
    listed = other.list_queues()["QueueUrls"]
    assert other_url in listed and all(f"/{OTHER}/" in url for url in listed)
    assert all(f"/{OTHER}/" not in url for url in home.list_queues()["QueueUrls"])

    # A queue URL names its queue wherever it is sent from (AWS's name the region in the host).
    home.send_message(QueueUrl=other_url, MessageBody="sent to frankfurt's URL from home")
    assert [m["Body"] for m in other.receive_message(QueueUrl=other_url, WaitTimeSeconds=1, VisibilityTimeout=0)["Messages"]] \
        == ["sent to frankfurt's URL from home"]
    aws_style = f"https://sqs.{OTHER}.amazonaws.com/{ACCOUNT}/{name}"
    assert home.get_queue_attributes(QueueUrl=aws_style, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"].startswith(f"arn:aws:sqs:{OTHER}:")

    # A name that tries to reach into another region is no queue's name.
    assert error(home.get_queue_url, QueueName=f"{OTHER}/{name}")["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert error(home.create_queue, QueueName=f"{OTHER}/{name}")["Code"] == "InvalidParameterValue"

    # Deleting one region's queue leaves the other's.
    other.delete_queue(QueueUrl=other_url)
    assert error(other.get_queue_url, QueueName=name)["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert home.get_queue_url(QueueName=name)["QueueUrl"] == home_url


def test_query_protocol_and_queue_url_endpoints_in_another_region(server):
    other = client(server, "sqs", OTHER)
    name = unique("query-region")
    url = other.create_queue(QueueName=name)["QueueUrl"]
    # A query-protocol request (XML answers) signed for eu-central-1.
    form = urllib.parse.urlencode({"Action": "GetQueueUrl", "Version": "2012-11-05", "QueueName": name})
    signed = AWSRequest(method="POST", url=f"{server.endpoint}/", data=form.encode(),
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    SigV4Auth(Credentials("test", "test"), "sqs", OTHER).add_auth(signed)
    request = urllib.request.Request(signed.url, data=form.encode(), method="POST", headers=dict(signed.headers.items()))
    with urllib.request.urlopen(request) as response:
        assert f"<QueueUrl>{url}</QueueUrl>" in response.read().decode()
    # The queue's URL as the endpoint of a query request (Action on the queue URL, no QueueUrl parameter).
    form = urllib.parse.urlencode({"Action": "SendMessage", "Version": "2012-11-05", "MessageBody": "via its URL"})
    with urllib.request.urlopen(urllib.request.Request(url, data=form.encode(), method="POST",
                                                       headers={"Content-Type": "application/x-www-form-urlencoded"})) as response:
        assert response.status == 200 and b"<MD5OfMessageBody>" in response.read()
    assert other.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]["Body"] == "via its URL"


def test_unsigned_requests_act_in_the_configured_region(server):
    name = unique("unsigned")
    client(server, "sqs", HOME).create_queue(QueueName=name)
    body = json.dumps({"QueueName": name}).encode()
    request = urllib.request.Request(f"{server.endpoint}/", data=body, method="POST", headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.GetQueueUrl"})
    with urllib.request.urlopen(request) as response:
        assert json.loads(response.read())["QueueUrl"].endswith(f"/{ACCOUNT}/{name}")


def test_streams_of_one_name_in_two_regions_are_two_streams(server):
    home, other = client(server, "kinesis", HOME), client(server, "kinesis", OTHER)
    name = unique("regional")
    home.create_stream(StreamName=name, ShardCount=1)
    other.create_stream(StreamName=name, ShardCount=2)
    home_summary = home.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    other_summary = other.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert home_summary["StreamARN"] == f"arn:aws:kinesis:{HOME}:{ACCOUNT}:stream/{name}"
    assert other_summary["StreamARN"] == f"arn:aws:kinesis:{OTHER}:{ACCOUNT}:stream/{name}"
    assert other_summary["StreamName"] == name and other_summary["OpenShardCount"] == 2 and home_summary["OpenShardCount"] == 1

    other.put_record(StreamName=name, Data=b"frankfurt", PartitionKey="k")
    def read(kinesis, **ref):
        shards = kinesis.list_shards(**ref)["Shards"]
        found = []
        for shard in shards:
            iterator = kinesis.get_shard_iterator(**ref, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            found += [r["Data"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]]
        return found
    assert read(other, StreamName=name) == [b"frankfurt"]
    assert read(home, StreamName=name) == []
    # An ARN names its stream's region, whichever region the request is signed for.
    assert read(home, StreamARN=other_summary["StreamARN"]) == [b"frankfurt"]

    assert name in other.list_streams()["StreamNames"] and name in home.list_streams()["StreamNames"]
    summaries = other.list_streams()["StreamSummaries"]
    assert all(s["StreamARN"].startswith(f"arn:aws:kinesis:{OTHER}:") for s in summaries)
    assert all(s["StreamARN"].startswith(f"arn:aws:kinesis:{HOME}:") for s in home.list_streams()["StreamSummaries"])
    assert error(home.describe_stream, StreamName=f"{OTHER}/{name}")["Code"] == "ValidationException"

    other.delete_stream(StreamName=name)
    deadline = time.time() + 10
    while time.time() < deadline and name in other.list_streams()["StreamNames"]:
        time.sleep(0.1)
    assert name not in other.list_streams()["StreamNames"]
    assert home.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"] == home_summary["StreamARN"]


REGION_HANDLER = """
import json, os
def handler(event, context):
    return {"region": os.environ["AWS_REGION"], "name": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
            "arn": context.invoked_function_arn, "tag": os.environ.get("TAG"), "event": event}
"""


def test_functions_of_one_name_in_two_regions_run_in_their_region(server):
    home, other = client(server, "lambda", HOME), client(server, "lambda", OTHER)
    name = unique("regional")
    create_python(home, REGION_HANDLER, name=name, Environment={"Variables": {"TAG": "home"}})
    created = other.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                                    Code={"ZipFile": package({"app.py": REGION_HANDLER})},
                                    Environment={"Variables": {"TAG": "frankfurt"}})
    assert created["FunctionName"] == name
    assert created["FunctionArn"] == f"arn:aws:lambda:{OTHER}:{ACCOUNT}:function:{name}"
    assert created["LoggingConfig"]["LogGroup"] == f"/aws/lambda/{name}"
    assert home.get_function(FunctionName=name)["Configuration"]["FunctionArn"] == f"arn:aws:lambda:{HOME}:{ACCOUNT}:function:{name}"

    def invoke(lam, function_name):
        answer = lam.invoke(FunctionName=function_name, Payload=b'{"n": 1}')
        assert "FunctionError" not in answer, answer["Payload"].read()
        return json.loads(answer["Payload"].read())

    ran = invoke(other, name)
    assert ran["region"] == OTHER and ran["name"] == name and ran["tag"] == "frankfurt"
    assert ran["arn"] == f"arn:aws:lambda:{OTHER}:{ACCOUNT}:function:{name}"
    ran = invoke(home, name)
    assert ran["region"] == HOME and ran["tag"] == "home"
    # A function ARN names its region from any region.
    assert invoke(home, f"arn:aws:lambda:{OTHER}:{ACCOUNT}:function:{name}")["tag"] == "frankfurt"

    other_names = [f["FunctionName"] for f in other.list_functions()["Functions"]]
    assert name in other_names
    assert all(f["FunctionArn"].startswith(f"arn:aws:lambda:{OTHER}:") for f in other.list_functions()["Functions"])
    assert all(f["FunctionArn"].startswith(f"arn:aws:lambda:{HOME}:") for f in home.list_functions()["Functions"])
    # The code location of another region's function downloads that function's package.
    location = other.get_function(FunctionName=name)["Code"]["Location"]
    with urllib.request.urlopen(location) as response:
        assert response.read()[:2] == b"PK"

    other.delete_function(FunctionName=name)
    assert error(other.get_function, FunctionName=name)["Code"] == "ResourceNotFoundException"
    assert invoke(home, name)["tag"] == "home"


def test_mappings_deliver_within_their_region_and_stay_there(server):
    lam, sqs = client(server, "lambda", OTHER), client(server, "sqs", OTHER)
    home_lam = client(server, "lambda", HOME)
    recorder = """
import json, os
def handler(event, context):
    with open(os.environ["OUT"], "a") as out:
        for record in event["Records"]:
            out.write(json.dumps({"region": record["awsRegion"], "arn": record["eventSourceARN"], "body": record["body"],
                                  "fn_region": os.environ["AWS_REGION"]}) + "\\n")
    return {}
"""
    out = tempfile.NamedTemporaryFile(delete=False, suffix=".jsonl").name
    name = create_python(lam, recorder, Environment={"Variables": {"OUT": out}})
    queue = unique("mapped")
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # A home-region queue with the same name exists too; it is not the mapping's source.
    client(server, "sqs", HOME).create_queue(QueueName=queue)
    mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=1)
    assert mapping["EventSourceMappingArn"].startswith(f"arn:aws:lambda:{OTHER}:{ACCOUNT}:event-source-mapping:")
    assert mapping["FunctionArn"] == f"arn:aws:lambda:{OTHER}:{ACCOUNT}:function:{name}"
    sqs.send_message(QueueUrl=url, MessageBody="regional record")
    deadline = time.time() + 30
    lines = []
    while time.time() < deadline and not lines:
        time.sleep(0.2)
        with open(out) as f:
            lines = [json.loads(line) for line in f if line.strip()]
    assert lines == [{"region": OTHER, "arn": arn, "body": "regional record", "fn_region": OTHER}]

    # The mapping belongs to its function's region.
    assert mapping["UUID"] in [m["UUID"] for m in lam.list_event_source_mappings()["EventSourceMappings"]]
    assert mapping["UUID"] not in [m["UUID"] for m in home_lam.list_event_source_mappings()["EventSourceMappings"]]
    assert error(home_lam.get_event_source_mapping, UUID=mapping["UUID"])["Code"] == "ResourceNotFoundException"
    assert lam.get_event_source_mapping(UUID=mapping["UUID"])["EventSourceArn"] == arn

    # A source in another region than the function's is refused, as on Lambda.
    home_queue = client(server, "sqs", HOME).create_queue(QueueName=unique("elsewhere"))["QueueUrl"]
    home_arn = client(server, "sqs", HOME).get_queue_attributes(QueueUrl=home_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert error(lam.create_event_source_mapping, EventSourceArn=home_arn, FunctionName=name)["Code"] == "InvalidParameterValueException"
    lam.delete_event_source_mapping(UUID=mapping["UUID"])
    os.unlink(out)


@pytest.fixture(scope="module")
def secured(binary, tmp_path_factory):
    process = SpoolProcess(binary, tmp_path_factory.mktemp("regions-auth") / "data",
                           extra_env={"SPOOL_AUTH_CREDENTIALS": "AKIAREGIONS0001:region-secret"})
    process.start()
    yield process
    process.stop()


def test_signed_requests_choose_their_region_when_credentials_are_required(secured):
    home = client(secured, "sqs", HOME, key="AKIAREGIONS0001", secret="region-secret")
    other = client(secured, "sqs", OTHER, key="AKIAREGIONS0001", secret="region-secret")
    name = unique("signed")
    assert other.create_queue(QueueName=name)["QueueUrl"] == f"{secured.endpoint}/{OTHER}/{ACCOUNT}/{name}"
    assert error(home.get_queue_url, QueueName=name)["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    # A credential scope that names no region is refused.
    bad = client(secured, "sqs", "EU-CENTRAL-1", key="AKIAREGIONS0001", secret="region-secret")
    refused = error(bad.list_queues)
    assert refused["Code"] == "SignatureDoesNotMatch" and "valid region, not 'EU-CENTRAL-1'" in refused["Message"]
