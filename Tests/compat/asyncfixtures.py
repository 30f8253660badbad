"""Helpers for the asynchronous invocation tests: queues as destinations, counted attempts, raw requests."""
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCOUNT = "000000000000"
REGION = "us-east-1"

# A handler that appends one line per attempt to $COUNT_FILE and fails when the event asks it to.
COUNTING_HANDLER = """import os
def handler(event, context):
    with open(os.environ["COUNT_FILE"], "a") as attempts:
        attempts.write(context.aws_request_id + "\\n")
    if isinstance(event, dict) and event.get("fail"):
        raise ValueError("asked to fail: " + str(event.get("n")))
    return {"handled": event}
"""

ALWAYS_FAILS = """import os
def handler(event, context):
    with open(os.environ["COUNT_FILE"], "a") as attempts:
        attempts.write(context.aws_request_id + "\\n")
    raise RuntimeError("intentional failure")
"""


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def make_queue(sqs, prefix: str = "dest") -> tuple[str, str]:
    """Creates a queue; returns (url, arn)."""
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, queue_arn(name)


def receive(sqs, url: str, count: int, timeout: float = 60) -> list[dict]:
    """Long-polls until `count` messages arrived (deleting them) or the timeout passes."""
    messages = []
    deadline = time.time() + timeout
    while len(messages) < count and time.time() < deadline:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2,
                                    MessageAttributeNames=["All"]).get("Messages", [])
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        messages += batch
    assert len(messages) >= count, f"expected {count} messages in {url}, got {len(messages)}"
    return messages


def records(sqs, url: str, count: int, timeout: float = 60) -> list[dict]:
    return [json.loads(m["Body"]) for m in receive(sqs, url, count, timeout)]


def attempts(path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def wait_until(condition, timeout: float = 30, interval: float = 0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def raw_invoke(endpoint: str, name: str, body: bytes, headers: dict) -> tuple[int, dict, bytes]:
    """An Invoke request as plain HTTP, for headers boto3 does not send."""
    request = urllib.request.Request(f"{endpoint}/2015-03-31/functions/{name}/invocations", data=body, method="POST",
                                     headers={"X-Amz-Invocation-Type": "Event", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class RecordingEndpoint:
    """An HTTP server on loopback that records every POST body; the first `failures` answers are 500."""

    def __init__(self, failures: int = 0):
        self.bodies: list[bytes] = []
        self.calls = 0
        self.failures = failures
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with owner.lock:
                    owner.calls += 1
                    failing = owner.calls <= owner.failures
                    if not failing:
                        owner.bodies.append(body)
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/records"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *args):
        self.server.shutdown()
        self.server.server_close()
