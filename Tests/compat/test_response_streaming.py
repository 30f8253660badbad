"""InvokeWithResponseStream (botocore's model: an event stream of PayloadChunk events and a last InvokeComplete):
a runtime writing its response in Lambda's streaming mode (`Lambda-Runtime-Function-Response-Mode: streaming`,
chunked) has each chunk reach the caller as it is written; a runtime that answers whole sends one chunk."""
import json
import time
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from functions import ROLE, create_bootstrap, create_python

STREAMING_BOOTSTRAP = """#!/bin/sh
API="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while true; do
  HEADERS="$(mktemp)"
  EVENT=$(curl -sS -D "$HEADERS" "$API/invocation/next") || exit 1
  ID=$(grep -i Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  rm -f "$HEADERS"
  case "$EVENT" in
    *fail*) curl -sS -X POST "$API/invocation/$ID/error" -H "Lambda-Runtime-Function-Error-Type: Custom.Failure" \\
              -d '{"errorMessage":"asked to fail","errorType":"Custom.Failure"}' >/dev/null ;;
    *) { printf 'first|'; sleep 2; printf 'second'; } | curl -sS -X POST -T - -H 'Expect:' -H 'Transfer-Encoding: chunked' \\
         -H 'Lambda-Runtime-Function-Response-Mode: streaming' "$API/invocation/$ID/response" >/dev/null ;;
  esac
done
"""


@pytest.fixture()
def lam(server):
    return boto3.client("lambda", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}, read_timeout=60))


def read(answer):
    """The chunks with the time each arrived, and the InvokeComplete event."""
    chunks, complete = [], None
    for event in answer["EventStream"]:
        if "PayloadChunk" in event:
            chunks.append((time.monotonic(), event["PayloadChunk"]["Payload"]))
        if "InvokeComplete" in event:
            complete = (time.monotonic(), event["InvokeComplete"])
    return chunks, complete


def test_a_streaming_runtime_reaches_the_caller_chunk_by_chunk(lam):
    name = create_bootstrap(lam, STREAMING_BOOTSTRAP, Timeout=10)
    answer = lam.invoke_with_response_stream(FunctionName=name, Payload=b'{"go": 1}')
    assert answer["StatusCode"] == 200 and answer["ExecutedVersion"] == "$LATEST"
    chunks, complete = read(answer)
    assert b"".join(payload for _, payload in chunks) == b"first|second"
    assert complete is not None and "ErrorCode" not in complete[1]
    # The first chunk arrived while the function was still writing: two seconds before the end.
    assert chunks[0][1].startswith(b"first") and complete[0] - chunks[0][0] > 1.0, [(t, p) for t, p in chunks]

    failed = lam.invoke_with_response_stream(FunctionName=name, Payload=b'{"fail": 1}', LogType="Tail")
    chunks, complete = read(failed)
    assert chunks == [] and complete[1]["ErrorCode"] == "Custom.Failure" and complete[1]["ErrorDetails"] == "asked to fail"
    assert "LogResult" in complete[1]


def test_a_buffered_runtime_sends_one_chunk_and_errors_come_first(lam):
    name = create_python(lam, "def handler(event, context):\n    return {'whole': event}\n", Publish=True)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    answer = lam.invoke_with_response_stream(FunctionName=name, Qualifier="live", Payload=b'{"n": 1}')
    assert answer["ExecutedVersion"] == "1"
    chunks, complete = read(answer)
    assert [json.loads(payload) for _, payload in chunks] == [{"whole": {"n": 1}}] and complete[1] == {}
    with pytest.raises(ClientError) as missing:
        lam.invoke_with_response_stream(FunctionName=f"{name}-nope", Payload=b"{}")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as throttled:
        lam.invoke_with_response_stream(FunctionName=name, Payload=b"{}")
    assert throttled.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert lam.invoke_with_response_stream(FunctionName=name, InvocationType="DryRun", Payload=b"{}")["StatusCode"] == 204


HTTP_STREAMING_BOOTSTRAP = """#!/bin/sh
API="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while true; do
  HEADERS="$(mktemp)"
  EVENT=$(curl -sS -D "$HEADERS" "$API/invocation/next") || exit 1
  ID=$(grep -i Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  rm -f "$HEADERS"
  { printf '{"statusCode":201,"headers":{"Content-Type":"text/plain","X-Stream":"yes"},"cookies":["c=1"]}'
    printf '\\000\\000\\000\\000\\000\\000\\000\\000'
    printf 'first|'; sleep 2; printf 'second'; } \\
  | curl -sS -X POST -T - -H 'Expect:' -H 'Transfer-Encoding: chunked' -H 'Lambda-Runtime-Function-Response-Mode: streaming' \\
      -H 'Content-Type: application/vnd.awslambda.http-integration-response' "$API/invocation/$ID/response" >/dev/null
done
"""


def test_a_response_stream_url_sends_the_body_as_it_is_written(lam):
    import http.client
    import urllib.parse
    name = create_bootstrap(lam, HTTP_STREAMING_BOOTSTRAP, Timeout=10)
    url = lam.create_function_url_config(FunctionName=name, AuthType="NONE", InvokeMode="RESPONSE_STREAM")["FunctionUrl"]
    lam.add_permission(FunctionName=name, StatementId="public", Action="lambda:InvokeFunctionUrl", Principal="*", FunctionUrlAuthType="NONE")
    parsed = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    connection.request("GET", parsed.path)
    response = connection.getresponse()
    assert response.status == 201 and response.headers["X-Stream"] == "yes" and response.headers["Content-Type"] == "text/plain"
    assert response.headers.get_all("Set-Cookie") == ["c=1"]
    first = response.read1(64)
    first_at = time.monotonic()
    rest = response.read()
    assert first + rest == b"first|second" and first.startswith(b"first")
    assert time.monotonic() - first_at > 1.0  # the rest came two seconds after the first part
    connection.close()

    # A runtime that answers whole behind a streaming URL is answered as a buffered URL answers.
    whole = create_python(lam, "def handler(event, context):\n    return {'statusCode': 202, 'body': 'whole'}\n")
    whole_url = lam.create_function_url_config(FunctionName=whole, AuthType="NONE", InvokeMode="RESPONSE_STREAM")["FunctionUrl"]
    lam.add_permission(FunctionName=whole, StatementId="public", Action="lambda:InvokeFunctionUrl", Principal="*", FunctionUrlAuthType="NONE")
    parsed = urllib.parse.urlsplit(whole_url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    connection.request("GET", parsed.path)
    response = connection.getresponse()
    assert response.status == 202 and response.read() == b"whole"
    connection.close()
