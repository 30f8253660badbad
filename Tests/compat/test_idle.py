"""What idle event source mappings cost: nothing. A poller, dispatcher or long poll that waits is parked until a send,
a timer or a stop wakes it, so an idle server uses no CPU and does not grow. Read from /proc, with wide margins."""
import os
import time
import uuid

from conftest import make_client, served
from functions import create_python

NOOP = """
def handler(event, context):
    return {"batchItemFailures": []} if "Records" in event else event
"""

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def idle_mappings(endpoint: str, queues: int, streams: int) -> str:
    lam, sqs, kinesis = (make_client(endpoint, service) for service in ("lambda", "sqs", "kinesis"))
    function = create_python(lam, NOOP)
    for index in range(queues):
        url = sqs.create_queue(QueueName=f"idle-{index}-{uuid.uuid4().hex[:6]}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function, BatchSize=10)
    for index in range(streams):
        name = f"idle-{index}-{uuid.uuid4().hex[:6]}"
        kinesis.create_stream(StreamName=name, ShardCount=2)
        arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function, StartingPosition="LATEST")
    deadline = time.time() + 30
    while time.time() < deadline:
        states = {m["State"] for m in lam.list_event_source_mappings(FunctionName=function)["EventSourceMappings"]}
        if states == {"Enabled"}:
            return function
        time.sleep(0.2)
    raise AssertionError(f"mappings did not become Enabled: {states}")


def test_idle_mappings_use_no_cpu_and_do_not_grow(binary, tmp_path_factory):
    with served(binary, tmp_path_factory, "idle") as server:
        idle_mappings(server.endpoint, queues=20, streams=5)
        pid = server.proc.pid
        time.sleep(3)  # the pollers' first reads are done
        rss_before = rss_mb(pid)
        cpu_before = cpu_seconds(pid)
        time.sleep(10)
        cpu_used = cpu_seconds(pid) - cpu_before
        # Under 2 % of one core over 10 s (a busy loop of one poller used 120 %).
        assert cpu_used < 0.2, f"20 idle queue mappings and 5 idle stream mappings used {cpu_used:.2f} s of CPU in 10 s"
        time.sleep(50)
        grown = rss_mb(pid) - rss_before
        assert grown < 5, f"an idle server grew by {grown:.1f} MB in 60 s"


def test_memory_settles_after_mapped_and_synchronous_invocations(binary, tmp_path_factory):
    with served(binary, tmp_path_factory, "settle") as server:
        lam, sqs = make_client(server.endpoint, "lambda"), make_client(server.endpoint)
        function = create_python(lam, NOOP)
        url = sqs.create_queue(QueueName=f"settle-{uuid.uuid4().hex[:6]}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function, BatchSize=100, MaximumBatchingWindowInSeconds=1)
        for start in range(0, 10_000, 10):
            sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{start + i}"} for i in range(10)])
        for index in range(5_000):
            response = lam.invoke(FunctionName=function, Payload=b'{"n": %d}' % index)
            assert "FunctionError" not in response
        deadline = time.time() + 120
        while time.time() < deadline:
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            if attributes["ApproximateNumberOfMessages"] == "0" and attributes["ApproximateNumberOfMessagesNotVisible"] == "0":
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"the mapping did not drain the queue: {attributes}")
        time.sleep(5)
        settled = rss_mb(server.proc.pid)
        assert settled < 100, f"after 10,000 mapped and 5,000 synchronous invocations RSS is {settled:.0f} MB"
