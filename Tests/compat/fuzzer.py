"""A seeded, reproducible request fuzzer for every wire protocol Spool speaks: valid requests as seeds, then
mutations of their JSON (wrong types, absurd numbers, missing and unknown members, deep nesting, huge strings),
their bytes (truncation, invalid UTF-8, random bytes), their headers (operation, content type, size) and paths."""
import base64
import http.client
import json
import random
import string
import urllib.parse
from xml.etree import ElementTree

import cbor2

JUNK_VALUES = [
    None, True, False, -1, 0, 2**63, -(2**63) - 1, 10**30, 1e308, -1e308, 1.5, "", "x" * 70_000, "\u0000", "\ud800",
    "ünïcødé ✓", "../../etc/passwd", "%00%ff", [], {}, [1, "a", None], {"a": {"b": [{}]}}, "arn:aws:sqs:us-east-1:000000000000:nope",
]


def junk(rng):
    choice = rng.random()
    if choice < 0.7:
        return rng.choice(JUNK_VALUES)
    if choice < 0.85:
        return rng.randint(-(2**70), 2**70)
    return "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 64)))


def mutate_json(value, rng, depth=0):
    """A copy of `value` with one member changed, removed or added, somewhere in the tree."""
    if isinstance(value, dict) and value and rng.random() < 0.6:
        key = rng.choice(list(value))
        copy = dict(value)
        roll = rng.random()
        if roll < 0.3 and depth < 4 and isinstance(value[key], (dict, list)):
            copy[key] = mutate_json(value[key], rng, depth + 1)
        elif roll < 0.6:
            copy[key] = junk(rng)
        elif roll < 0.8:
            del copy[key]
        else:
            copy["".join(rng.choice(string.ascii_letters) for _ in range(6))] = junk(rng)
        return copy
    if isinstance(value, list) and value and rng.random() < 0.6:
        copy = list(value)
        index = rng.randrange(len(copy))
        copy[index] = mutate_json(copy[index], rng, depth + 1) if rng.random() < 0.5 else junk(rng)
        if rng.random() < 0.2:
            copy = copy * rng.randint(2, 50)
        return copy
    return junk(rng)


def mutate_bytes(body: bytes, rng) -> bytes:
    roll = rng.random()
    if roll < 0.2 and body:
        return body[: rng.randrange(len(body))]
    if roll < 0.4:
        at = rng.randint(0, len(body))
        return body[:at] + rng.choice([b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\x00", b"\xf4\x90\x80\x80"]) + body[at:]
    if roll < 0.55:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 512)))
    if roll < 0.65:
        depth = rng.choice([100, 1_000, 100_000])
        return b"[" * depth + b"]" * depth
    if roll < 0.75:
        return b'{"a":' * 5_000 + b"1" + b"}" * 5_000
    if roll < 0.85 and body:
        data = bytearray(body)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    return body + body


class Fuzzer:
    def __init__(self, port: int, seeds: list, seed: int, runtime_api: str | None = None):
        self.port = port
        self.seeds = seeds
        self.rng = random.Random(seed)
        self.runtime_api = runtime_api
        self.count = 0
        self.statuses = {}
        self.problems = []

    def one(self):
        template = self.rng.choice(self.seeds)
        method, path, headers, body = template["method"], template["path"], dict(template["headers"]), template["body"]
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        roll = self.rng.random()
        if roll < 0.45 and not isinstance(body, bytes):
            data = json.dumps(mutate_json(body, self.rng)).encode()
        elif roll < 0.7:
            data = mutate_bytes(data, self.rng)
        elif roll < 0.8:
            target = headers.get("X-Amz-Target")
            if target:
                prefix = target.split(".")[0]
                headers["X-Amz-Target"] = self.rng.choice([prefix + ".Nope", "", "AmazonSQS.", prefix + "." + "x" * 300, "Kinesis_20131202.ListStreams",
                                                           "AmazonSQS.SendMessage", target + "\t"])
            headers["Content-Type"] = self.rng.choice(["text/plain", "", "application/json; charset=latin-1", "\u00e9"])
        elif roll < 0.9:
            path = self.mutate_path(path)
        else:
            headers["X-Junk"] = "v" * self.rng.choice([10, 1_000, 16_000])
            method = self.rng.choice(["GET", "PUT", "DELETE", "PATCH", method])
        kind = template["kind"] if template["kind"] == "runtime" else self.classify(path, headers)
        self.send(kind, method, path, headers, data, template.get("port", self.port))

    @staticmethod
    def classify(path: str, headers: dict) -> str:
        """The API a request reaches, decided as Spool decides it: by path, then by X-Amz-Target and Content-Type."""
        components = [c for c in path.split("?", 1)[0].split("/") if c]
        if components[:1] == ["spool"]:
            return "admin"
        queue_path = len(components) == 2 and components[0].isascii() and components[0].isdigit()
        if components and not queue_path:
            return "lambda"
        target = headers.get("X-Amz-Target", "")
        if target.startswith("AmazonSQS."):
            return "sqs"
        if not components and target.startswith("Kinesis_20131202."):
            return "kinesis-cbor" if "cbor" in headers.get("Content-Type", "") else "kinesis"
        if target or "json" in headers.get("Content-Type", ""):
            return "sqs"
        return "sqs-query"

    def mutate_path(self, path: str) -> str:
        roll = self.rng.random()
        if roll < 0.3:
            return path + "/" + "".join(self.rng.choice("abc%/.-_~$") for _ in range(self.rng.randint(1, 20)))
        if roll < 0.5:
            return path.replace("/", "/%ff%2e%2e/", 1)
        if roll < 0.7:
            def part():
                return urllib.parse.quote(str(junk(self.rng))[:100].encode("utf-8", "surrogatepass"), safe="")
            return path + "?" + "&".join(f"{part()}={part()}" for _ in range(3))
        if roll < 0.85:
            return path + "x" * 8_000
        return "/" + "../" * 10 + "etc/passwd"

    def send(self, kind, method, path, headers, data, port):
        self.count += 1
        safe_path = path.encode("utf-8", "surrogatepass").decode("latin-1")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.putrequest(method, safe_path, skip_accept_encoding=True)
            for name, value in headers.items():
                connection.putheader(name, value.encode("utf-8", "surrogatepass"))
            connection.putheader("Content-Length", str(len(data)))
            connection.endheaders(data)
            response = connection.getresponse()
            body = response.read()
            status = response.status
            response_headers = {k.lower(): v for k, v in response.getheaders()}
            connection.close()
        except Exception as failure:  # noqa: BLE001 - any transport failure is a finding
            self.problems.append((kind, method, path[:120], data[:120], f"transport: {failure!r}"))
            return
        self.statuses[status] = self.statuses.get(status, 0) + 1
        problem = self.check(kind, path, status, response_headers, body)
        if problem:
            self.problems.append((kind, method, path[:120], data[:120], f"{status}: {problem}: {body[:200]!r}"))

    @staticmethod
    def check(kind, path, status, headers, body):
        if status >= 500 and not (kind == "lambda" and "/invocations" in path):
            return "server error"
        if status < 400:
            return None
        if headers.get("connection") == "close" and not body:
            return None  # refused by the HTTP parser before any route (malformed framing, oversized headers)
        if kind == "runtime" and not body and status in (404, 405):
            return None  # no such Runtime API route
        if kind == "kinesis-cbor":
            try:
                document = cbor2.loads(body, semantic_decoders={1: lambda value, immutable: value})
            except Exception:  # noqa: BLE001 - anything cbor2 cannot read is a finding
                return "error body is not CBOR"
            return None if isinstance(document, dict) and "__type" in document else "no __type"
        if kind == "sqs-query":
            try:
                root = ElementTree.fromstring(body)
            except ElementTree.ParseError:
                return "error body is not XML"
            namespace = "{http://queue.amazonaws.com/doc/2012-11-05/}"
            if root.tag != namespace + "ErrorResponse" or root.find(f"{namespace}Error/{namespace}Code") is None:
                return "no <ErrorResponse><Error><Code>"
            return None
        try:
            document = json.loads(body) if body else None
        except ValueError:
            return "error body is not JSON"
        if kind in ("sqs", "kinesis") and not (isinstance(document, dict) and "__type" in document):
            return "no __type"
        if kind == "lambda" and "x-amzn-errortype" not in headers:
            return "no x-amzn-ErrorType"
        if kind == "admin" and not (isinstance(document, dict) and "error" in document):
            return "no error member"
        if kind == "runtime" and not (isinstance(document, dict) and "errorType" in document):
            return "no errorType"
        return None


def seeds(queue_url: str, stream: str, function: str, runtime_port: int | None) -> list:
    def sqs(operation, body):
        return {"kind": "sqs", "method": "POST", "path": "/", "headers": {"X-Amz-Target": f"AmazonSQS.{operation}",
                "Content-Type": "application/x-amz-json-1.0"}, "body": body}

    def kinesis(operation, body):
        return {"kind": "kinesis", "method": "POST", "path": "/", "headers": {"X-Amz-Target": f"Kinesis_20131202.{operation}",
                "Content-Type": "application/x-amz-json-1.1"}, "body": body}

    def lam(method, path, body, **headers):
        return {"kind": "lambda", "method": method, "path": path, "headers": {"Content-Type": "application/json", **headers}, "body": body}

    def query(method, path, form):
        encoded = urllib.parse.urlencode(form)
        if method == "GET":
            return {"kind": "sqs-query", "method": "GET", "path": f"{path}?{encoded}", "headers": {}, "body": b""}
        return {"kind": "sqs-query", "method": "POST", "path": path, "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                "body": encoded.encode()}

    def kinesis_cbor(operation, body):
        return {"kind": "kinesis-cbor", "method": "POST", "path": "/", "headers": {"X-Amz-Target": f"Kinesis_20131202.{operation}",
                "Content-Type": "application/x-amz-cbor-1.1"}, "body": cbor2.dumps(body)}

    queue_path = urllib.parse.urlparse(queue_url).path
    data = base64.b64encode(b"fuzz").decode()
    zip_b64 = "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="
    result = [
        sqs("CreateQueue", {"QueueName": "fz-created", "Attributes": {"VisibilityTimeout": "5", "DelaySeconds": "0"}, "tags": {"a": "b"}}),
        sqs("SendMessage", {"QueueUrl": queue_url, "MessageBody": "hello", "DelaySeconds": 0,
                            "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}}),
        sqs("SendMessageBatch", {"QueueUrl": queue_url, "Entries": [{"Id": "1", "MessageBody": "a"}, {"Id": "2", "MessageBody": "b"}]}),
        sqs("ReceiveMessage", {"QueueUrl": queue_url, "MaxNumberOfMessages": 10, "VisibilityTimeout": 0, "WaitTimeSeconds": 0,
                               "MessageAttributeNames": ["All"], "MessageSystemAttributeNames": ["All"]}),
        sqs("DeleteMessage", {"QueueUrl": queue_url, "ReceiptHandle": "abc"}),
        sqs("ChangeMessageVisibility", {"QueueUrl": queue_url, "ReceiptHandle": "abc", "VisibilityTimeout": 10}),
        sqs("GetQueueAttributes", {"QueueUrl": queue_url, "AttributeNames": ["All"]}),
        sqs("SetQueueAttributes", {"QueueUrl": queue_url, "Attributes": {"MaximumMessageSize": "2048"}}),
        sqs("ListQueues", {"QueueNamePrefix": "fz", "MaxResults": 10}),
        sqs("GetQueueUrl", {"QueueName": "fz-queue"}),
        sqs("TagQueue", {"QueueUrl": queue_url, "Tags": {"k": "v"}}),
        sqs("StartMessageMoveTask", {"SourceArn": "arn:aws:sqs:us-east-1:000000000000:fz-queue"}),
        query("POST", "/", {"Action": "CreateQueue", "Version": "2012-11-05", "QueueName": "fz-query", "Attribute.1.Name": "DelaySeconds",
                            "Attribute.1.Value": "0", "Tag.1.Key": "a", "Tag.1.Value": "b"}),
        query("POST", queue_path, {"Action": "SendMessageBatch", "SendMessageBatchRequestEntry.1.Id": "1",
                                   "SendMessageBatchRequestEntry.1.MessageBody": "a", "SendMessageBatchRequestEntry.1.MessageAttribute.1.Name": "k",
                                   "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType": "String",
                                   "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue": "v"}),
        query("GET", queue_path, {"Action": "ReceiveMessage", "MaxNumberOfMessages": "10", "AttributeName.1": "All",
                                  "MessageAttributeName.1": "All", "VisibilityTimeout": "0"}),
        query("POST", "/", {"Action": "ChangeMessageVisibilityBatch", "QueueUrl": queue_url,
                            "ChangeMessageVisibilityBatchRequestEntry.1.Id": "x",
                            "ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle": "abc",
                            "ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout": "5"}),
        kinesis_cbor("PutRecords", {"StreamName": stream, "Records": [{"Data": b"\x00\xff", "PartitionKey": "p"}] * 3}),
        kinesis_cbor("GetShardIterator", {"StreamName": stream, "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP",
                                          "Timestamp": cbor2.CBORTag(1, 1_700_000_000_000)}),
        kinesis_cbor("ListShards", {"StreamName": stream, "MaxResults": 5}),
        kinesis("CreateStream", {"StreamName": "fz-created", "ShardCount": 1}),
        kinesis("PutRecord", {"StreamName": stream, "Data": data, "PartitionKey": "p", "ExplicitHashKey": "1"}),
        kinesis("PutRecords", {"StreamName": stream, "Records": [{"Data": data, "PartitionKey": "p"}] * 3}),
        kinesis("GetShardIterator", {"StreamName": stream, "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_SEQUENCE_NUMBER",
                                     "StartingSequenceNumber": "1"}),
        kinesis("GetRecords", {"ShardIterator": "AAAA", "Limit": 10}),
        kinesis("ListShards", {"StreamName": stream, "MaxResults": 5}),
        kinesis("DescribeStreamSummary", {"StreamName": stream}),
        kinesis("UpdateShardCount", {"StreamName": stream, "TargetShardCount": 2, "ScalingType": "UNIFORM_SCALING"}),
        kinesis("SplitShard", {"StreamName": stream, "ShardToSplit": "shardId-000000000000", "NewStartingHashKey": str(2**126)}),
        kinesis("MergeShards", {"StreamName": stream, "ShardToMerge": "shardId-000000000001", "AdjacentShardToMerge": "shardId-000000000002"}),
        kinesis("RegisterStreamConsumer", {"StreamARN": f"arn:aws:kinesis:us-east-1:000000000000:stream/{stream}", "ConsumerName": "fz"}),
        kinesis("ListStreamConsumers", {"StreamARN": f"arn:aws:kinesis:us-east-1:000000000000:stream/{stream}", "MaxResults": 5}),
        lam("POST", "/2015-03-31/functions", {"FunctionName": "fz-new", "Runtime": "python3.12", "Role": "arn:aws:iam::000000000000:role/r",
                                              "Handler": "app.handler", "Code": {"ZipFile": zip_b64}, "Timeout": 3, "MemorySize": 128,
                                              "Environment": {"Variables": {"A": "b"}}}),
        lam("POST", f"/2015-03-31/functions/{function}/invocations", {"hello": "world"}),
        lam("POST", f"/2015-03-31/functions/{function}/invocations", {"async": True}, **{"X-Amz-Invocation-Type": "Event"}),
        lam("PUT", f"/2015-03-31/functions/{function}/configuration", {"Timeout": 5, "Description": "d"}),
        lam("GET", "/2015-03-31/functions/?MaxItems=5", b""),
        lam("PUT", f"/2019-09-25/functions/{function}/event-invoke-config", {"MaximumRetryAttempts": 1, "MaximumEventAgeInSeconds": 60}),
        lam("POST", "/2015-03-31/event-source-mappings/", {"FunctionName": function, "EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:fz-none",
                                                           "BatchSize": 10, "MaximumBatchingWindowInSeconds": 1,
                                                           "FilterCriteria": {"Filters": [{"Pattern": "{\"body\": [\"x\"]}"}]}}),
        lam("PUT", f"/2017-10-31/functions/{function}/concurrency", {"ReservedConcurrentExecutions": 5}),
        lam("POST", f"/2017-03-31/tags/arn:aws:lambda:us-east-1:000000000000:function:{function}", {"Tags": {"a": "b"}}),
        {"kind": "admin", "method": "GET", "path": "/spool/v1/dead-letters?limit=5", "headers": {}, "body": b""},
        {"kind": "admin", "method": "POST", "path": "/spool/v1/dead-letters/replay", "headers": {"Content-Type": "application/json"},
         "body": {"function": "fz-none", "reason": "RetriesExhausted", "limit": 1}},
        {"kind": "admin", "method": "POST", "path": "/spool/v1/dead-letters/purge", "headers": {"Content-Type": "application/json"},
         "body": {"function": "fz-none"}},
    ]
    if runtime_port:
        def runtime(method, path, body, **headers):
            return {"kind": "runtime", "method": method, "path": path, "headers": headers, "body": body, "port": runtime_port}
        result += [
            runtime("POST", "/2018-06-01/runtime/invocation/0000-not-a-request/response", {"ok": True}),
            runtime("POST", "/2018-06-01/runtime/invocation/0000-not-a-request/error", {"errorMessage": "m", "errorType": "T"},
                    **{"Lambda-Runtime-Function-Error-Type": "T"}),
            runtime("POST", "/2020-01-01/extension/register", {"events": ["INVOKE", "SHUTDOWN"]}, **{"Lambda-Extension-Name": "fz"}),
            runtime("GET", "/2020-01-01/extension/event/next", b"", **{"Lambda-Extension-Identifier": "nope"}),
            runtime("PUT", "/2020-08-15/logs", {"destination": {}}),
        ]
    return result
