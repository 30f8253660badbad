"""Event source mappings over queues through boto3 against a real server, feeding real awslambdaric functions:
the mapping API, batches and windows, partial batch failures with aws-lambda-powertools, poison messages through the
dead-letter queue and back, filters, maximum concurrency, FIFO order, and disable/update/delete."""
import json
import signal
import time
import uuid

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from asyncfixtures import queue_arn, function_arn, wait_until
from conftest import make_client, served
from functions import ROLE, create_python, package

# Appends one JSON line per batch to $BATCH_FILE: start and end times and the bodies; fails when a body asks it to.
RECORDING_HANDLER = """import json, os, time
def handler(event, context):
    started = time.time()
    if os.environ.get("SLEEP"):
        time.sleep(float(os.environ["SLEEP"]))
    bodies = [record["body"] for record in event["Records"]]
    with open(os.environ["BATCH_FILE"], "a") as batches:
        batches.write(json.dumps({"start": started, "end": time.time(), "bodies": bodies,
                                  "first": event["Records"][0]}) + "\\n")
    if any("poison" in body for body in bodies):
        raise ValueError("poison message")
    return {}
"""

# Partial batch failures the way users write them: aws-lambda-powertools' BatchProcessor.
POWERTOOLS_HANDLER = """import json, os
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

processor = BatchProcessor(event_type=EventType.SQS)

def record_handler(record):
    with open(os.environ["BATCH_FILE"], "a") as seen:
        seen.write(json.dumps({"bodies": [record.body]}) + "\\n")
    if record.body.startswith("bad"):
        raise ValueError("cannot process " + record.body)

def handler(event, context):
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
"""


@pytest.fixture()
def lam(server):
    return make_client(server.endpoint, "lambda")


@pytest.fixture()
def lam_unchecked(server):
    """A client that lets out-of-range values through, to see the server's own validation."""
    import boto3
    return boto3.client("lambda", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(parameter_validation=False, retries={"max_attempts": 1}))


def recording_function(lam, tmp_path, source=RECORDING_HANDLER, sleep=None, timeout=30) -> tuple[str, object]:
    """A function that records its batches. The lease Spool takes is the queue's visibility timeout only while that
    covers the function's timeout (else timeout + window + 30 s, as Lambda): retry tests use short timeouts."""
    batch_file = tmp_path / f"batches-{uuid.uuid4().hex[:8]}.jsonl"
    variables = {"BATCH_FILE": str(batch_file)}
    if sleep:
        variables["SLEEP"] = str(sleep)
    name = create_python(lam, source, Environment={"Variables": variables}, Timeout=timeout)
    return name, batch_file


def batches(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def bodies(path) -> list[str]:
    return [body for batch in batches(path) for body in batch["bodies"]]


def new_queue(sqs, fifo=False, **attributes) -> tuple[str, str]:
    name = f"esm-{uuid.uuid4().hex[:10]}" + (".fifo" if fifo else "")
    if fifo:
        attributes["FifoQueue"] = "true"
    url = sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attributes.items()})["QueueUrl"]
    return url, queue_arn(name)


def send(sqs, url, messages, group=None):
    for start in range(0, len(messages), 10):
        entries = []
        for index, body in enumerate(messages[start:start + 10]):
            entry = {"Id": str(index), "MessageBody": body}
            if group:
                entry.update(MessageGroupId=group, MessageDeduplicationId=uuid.uuid4().hex)
            entries.append(entry)
        assert not sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")


def depth(sqs, url) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def error_of(failure) -> tuple[str, int, str]:
    response = failure.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def test_the_mapping_api_speaks_lambdas_shapes_codes_and_states(lam, sqs, tmp_path):
    name, _ = recording_function(lam, tmp_path)
    _, arn = new_queue(sqs)
    created = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert created["State"] == "Creating" and created["StateTransitionReason"] == "USER_INITIATED"
    assert created["BatchSize"] == 10 and created["MaximumBatchingWindowInSeconds"] == 0 and created["FunctionResponseTypes"] == []
    assert created["FunctionArn"] == function_arn(name) and created["EventSourceArn"] == arn
    assert created["EventSourceMappingArn"].endswith(":event-source-mapping:" + created["UUID"]) and len(created["UUID"]) == 36
    assert "FilterCriteria" not in created and "ScalingConfig" not in created and "StartingPosition" not in created
    mapping_id = created["UUID"]
    assert wait_until(lambda: lam.get_event_source_mapping(UUID=mapping_id)["State"] == "Enabled", timeout=10)

    with pytest.raises(ClientError) as duplicate:
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)
    code, status, message = error_of(duplicate)
    assert (code, status) == ("ResourceConflictException", 409)
    assert message == (f'An event source mapping with SQS arn (" {arn} ") and function (" {name} ") already exists. '
                       f"Please update or delete the existing mapping with UUID {mapping_id}")

    updated = lam.update_event_source_mapping(UUID=mapping_id, BatchSize=100, MaximumBatchingWindowInSeconds=2,
                                              FunctionResponseTypes=["ReportBatchItemFailures"],
                                              FilterCriteria={"Filters": [{"Pattern": '{"body": {"kind": ["order"]}}'}]},
                                              ScalingConfig={"MaximumConcurrency": 3})
    assert updated["ResponseMetadata"]["HTTPStatusCode"] == 202 and updated["State"] == "Updating"
    assert updated["BatchSize"] == 100 and updated["ScalingConfig"] == {"MaximumConcurrency": 3}
    assert updated["FilterCriteria"] == {"Filters": [{"Pattern": '{"body": {"kind": ["order"]}}'}]}
    assert updated["LastModified"] >= created["LastModified"]
    assert wait_until(lambda: lam.get_event_source_mapping(UUID=mapping_id)["State"] == "Enabled", timeout=10)
    assert lam.update_event_source_mapping(UUID=mapping_id, Enabled=False)["State"] == "Disabling"
    assert wait_until(lambda: lam.get_event_source_mapping(UUID=mapping_id)["State"] == "Disabled", timeout=10)
    assert lam.update_event_source_mapping(UUID=mapping_id, Enabled=True)["State"] == "Enabling"
    assert wait_until(lambda: lam.get_event_source_mapping(UUID=mapping_id)["State"] == "Enabled", timeout=10)

    by_function = lam.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]
    assert [m["UUID"] for m in by_function] == [mapping_id]
    assert [m["UUID"] for m in lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]] == [mapping_id]

    deleted = lam.delete_event_source_mapping(UUID=mapping_id)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202 and deleted["State"] == "Deleting"

    def gone():
        try:
            lam.get_event_source_mapping(UUID=mapping_id)
            return False
        except ClientError as error:
            return error.response["Error"]["Code"] == "ResourceNotFoundException"
    assert wait_until(gone, timeout=10)
    with pytest.raises(ClientError) as missing:
        lam.delete_event_source_mapping(UUID=mapping_id)
    assert error_of(missing) == ("ResourceNotFoundException", 404, "The resource you requested does not exist.")


def test_list_pages_through_mappings(lam, sqs, tmp_path):
    name, _ = recording_function(lam, tmp_path)
    made = {lam.create_event_source_mapping(EventSourceArn=new_queue(sqs)[1], FunctionName=name, Enabled=False)["UUID"]
            for _ in range(5)}
    seen, marker = [], None
    while True:
        page = lam.list_event_source_mappings(FunctionName=name, MaxItems=2, **({"Marker": marker} if marker else {}))
        assert len(page["EventSourceMappings"]) <= 2
        seen += [m["UUID"] for m in page["EventSourceMappings"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert sorted(seen) == sorted(made)
    assert all(lam.get_event_source_mapping(UUID=u)["State"] == "Disabled" for u in made)


@pytest.mark.parametrize("arguments, expected", [
    ({"BatchSize": 11}, ("InvalidParameterValueException", 400,
                         "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10")),
    ({"BatchSize": 10001, "MaximumBatchingWindowInSeconds": 1}, ("ValidationException", 400, None)),
    ({"MaximumBatchingWindowInSeconds": 301}, ("ValidationException", 400, None)),
    ({"ScalingConfig": {"MaximumConcurrency": 1}}, ("ValidationException", 400, None)),
    ({"DestinationConfig": {"OnFailure": {"Destination": queue_arn("x")}}},
     ("InvalidParameterValueException", 400, "Unsupported DestinationConfig parameter for given event source mapping type.")),
    ({"StartingPosition": "LATEST"}, ("InvalidParameterValueException", 400, None)),
    ({"FilterCriteria": {"Filters": [{"Pattern": "not json"}]}}, ("InvalidParameterValueException", 400, "Invalid filter pattern definition.")),
    ({"FilterCriteria": {"Filters": [{"Pattern": '{"body": "bare value"}'}]}},
     ("InvalidParameterValueException", 400, "Invalid filter pattern definition.")),
    ({"FunctionResponseTypes": ["Everything"]}, ("ValidationException", 400, None)),
    ({"Tags": {"team": "a"}}, ("InvalidParameterValueException", 400, None)),
])
def test_invalid_settings_are_rejected_at_create(lam_unchecked, lam, sqs, tmp_path, arguments, expected):
    name, _ = recording_function(lam, tmp_path)
    _, arn = new_queue(sqs)
    with pytest.raises(ClientError) as failure:
        lam_unchecked.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, **arguments)
    code, status, message = error_of(failure)
    assert (code, status) == expected[:2]
    if expected[2]:
        assert message == expected[2]
    assert lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"] == []


def test_unknown_function_queue_and_fifo_batch_size_are_rejected(lam, sqs, tmp_path):
    name, _ = recording_function(lam, tmp_path)
    _, arn = new_queue(sqs)
    with pytest.raises(ClientError) as no_function:
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="does-not-exist")
    assert error_of(no_function) == ("InvalidParameterValueException", 400, "Function does not exist")
    with pytest.raises(ClientError) as no_queue:
        lam.create_event_source_mapping(EventSourceArn=queue_arn("no-such-queue"), FunctionName=name)
    assert error_of(no_queue)[2] == ("Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. "
                                     "SQS Error Message: The specified queue does not exist.")
    _, short_arn = new_queue(sqs, VisibilityTimeout=5)
    with pytest.raises(ClientError) as short:
        lam.create_event_source_mapping(EventSourceArn=short_arn, FunctionName=name)
    assert error_of(short) == ("InvalidParameterValueException", 400, "Queue visibility timeout: 5 seconds is less than Function timeout: 30 seconds")
    _, fifo_arn = new_queue(sqs, fifo=True)
    with pytest.raises(ClientError) as fifo:
        lam.create_event_source_mapping(EventSourceArn=fifo_arn, FunctionName=name, BatchSize=20, MaximumBatchingWindowInSeconds=1)
    assert error_of(fifo)[:2] == ("InvalidParameterValueException", 400)
    with pytest.raises(ClientError) as unknown:
        lam.get_event_source_mapping(UUID=str(uuid.uuid4()))
    assert error_of(unknown)[:2] == ("ResourceNotFoundException", 404)


def test_batches_respect_batch_size_and_the_batching_window(lam, sqs, tmp_path):
    name, batch_file = recording_function(lam, tmp_path)
    url, arn = new_queue(sqs)
    send(sqs, url, [f"m{i}" for i in range(120)])
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=50, MaximumBatchingWindowInSeconds=1)
    wait_until(lambda: len(bodies(batch_file)) >= 120, timeout=60)
    sizes = [len(batch["bodies"]) for batch in batches(batch_file)]
    assert sorted(bodies(batch_file)) == sorted(f"m{i}" for i in range(120))
    assert max(sizes) == 50 and sizes.count(50) >= 2, sizes
    wait_until(lambda: depth(sqs, url) == (0, 0), timeout=30)

    # A trickle of three messages waits for the window and goes as one batch.
    before = len(batches(batch_file))
    sent_at = time.time()
    send(sqs, url, ["w1", "w2", "w3"])
    wait_until(lambda: len(bodies(batch_file)) >= 123, timeout=30)
    late = batches(batch_file)[before:]
    assert [sorted(batch["bodies"]) for batch in late] == [["w1", "w2", "w3"]]
    assert late[0]["start"] - sent_at >= 0.9, "the batch waited for the window"


def test_the_event_is_the_aws_sqs_event(lam, sqs, tmp_path):
    name, batch_file = recording_function(lam, tmp_path)
    url, arn = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="hello", MessageAttributes={"Author": {"DataType": "String", "StringValue": "Grisham"}})
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)
    wait_until(lambda: bodies(batch_file), timeout=30)
    record = batches(batch_file)[0]["first"]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == arn and record["awsRegion"] == "us-east-1"
    assert record["body"] == "hello" and record["md5OfBody"] == "5d41402abc4b2a76b9719d911017c592"
    assert record["messageAttributes"] == {"Author": {"stringValue": "Grisham", "stringListValues": [], "binaryListValues": [],
                                                      "dataType": "String"}}
    assert record["md5OfMessageAttributes"]
    assert set(record["attributes"]) >= {"ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"}
    assert record["attributes"]["ApproximateReceiveCount"] == "1" and record["messageId"] and record["receiptHandle"]


def test_powertools_partial_batch_failures_delete_only_the_successes(lam, sqs, tmp_path):
    name, batch_file = recording_function(lam, tmp_path, source=POWERTOOLS_HANDLER, timeout=2)
    url, arn = new_queue(sqs, VisibilityTimeout=2)
    send(sqs, url, ["ok-1", "bad-1", "ok-2", "ok-3", "bad-2"])
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, FunctionResponseTypes=["ReportBatchItemFailures"])
    wait_until(lambda: len(bodies(batch_file)) >= 5, timeout=30)
    wait_until(lambda: depth(sqs, url) == (0, 2), timeout=10)
    # The two failures come back after the visibility timeout and are retried alone; the successes never again.
    wait_until(lambda: bodies(batch_file).count("bad-1") >= 2 and bodies(batch_file).count("bad-2") >= 2, timeout=30)
    assert all(bodies(batch_file).count(body) == 1 for body in ["ok-1", "ok-2", "ok-3"])


def test_poison_messages_reach_the_dead_letter_queue_and_move_back(lam, sqs, tmp_path):
    name, batch_file = recording_function(lam, tmp_path, timeout=1)
    dlq_url, dlq_arn = new_queue(sqs)
    url, arn = new_queue(sqs, VisibilityTimeout=1,
                         RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}))
    send(sqs, url, ["poison-1"])
    mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=1)
    wait_until(lambda: depth(sqs, dlq_url)[0] == 1, timeout=60)
    assert bodies(batch_file).count("poison-1") == 2, "tried maxReceiveCount times, then redriven"
    assert depth(sqs, url) == (0, 0)
    # Fix the function, then move the dead letter back to its source queue: it is processed.
    fixed = RECORDING_HANDLER.replace('raise ValueError("poison message")', "pass")
    lam.update_function_code(FunctionName=name, ZipFile=package({"app.py": fixed}))
    task = sqs.start_message_move_task(SourceArn=dlq_arn)
    assert task["TaskHandle"]
    wait_until(lambda: bodies(batch_file).count("poison-1") == 3, timeout=60)
    wait_until(lambda: depth(sqs, url) == (0, 0) and depth(sqs, dlq_url) == (0, 0), timeout=30)
    lam.delete_event_source_mapping(UUID=mapping["UUID"])


def test_filters_deliver_matches_and_delete_the_rest(lam, sqs, tmp_path):
    name, batch_file = recording_function(lam, tmp_path)
    url, arn = new_queue(sqs)
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, FilterCriteria={"Filters": [
        {"Pattern": json.dumps({"body": {"kind": ["order"], "total": [{"numeric": [">", 100]}]}})},
        {"Pattern": json.dumps({"body": [{"prefix": "URGENT"}]})},
    ]})
    messages = [json.dumps({"kind": "order", "total": 150}), json.dumps({"kind": "order", "total": 50}),
                json.dumps({"kind": "refund", "total": 500}), "URGENT call back", "routine note"]
    send(sqs, url, messages)
    wait_until(lambda: depth(sqs, url) == (0, 0), timeout=30)
    time.sleep(0.3)
    assert sorted(bodies(batch_file)) == sorted([messages[0], "URGENT call back"])


def test_maximum_concurrency_is_never_exceeded(lam, sqs, tmp_path):
    name, batch_file = recording_function(lam, tmp_path, sleep=0.4)
    url, arn = new_queue(sqs)
    send(sqs, url, [f"c{i}" for i in range(12)])
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=1, ScalingConfig={"MaximumConcurrency": 2})
    wait_until(lambda: len(bodies(batch_file)) >= 12, timeout=60)
    spans = [(batch["start"], batch["end"]) for batch in batches(batch_file)]
    peak = max(sum(1 for start, end in spans if start <= moment < end) for moment, _ in spans)
    assert peak == 2, f"at most two batches at once, and the limit is used: {peak}"


def test_fifo_groups_are_processed_in_order(lam, sqs, tmp_path):
    name, batch_file = recording_function(lam, tmp_path)
    url, arn = new_queue(sqs, fifo=True)
    for group in ["a", "b", "c"]:
        send(sqs, url, [f"{group}-{i}" for i in range(15)], group=group)
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=4)
    wait_until(lambda: len(bodies(batch_file)) >= 45, timeout=60)
    for group in ["a", "b", "c"]:
        assert [b for b in bodies(batch_file) if b.startswith(group + "-")] == [f"{group}-{i}" for i in range(15)]
    for batch in batches(batch_file):
        assert batch["first"]["attributes"]["MessageGroupId"] in {"a", "b", "c"} and batch["first"]["attributes"]["SequenceNumber"]


def test_disable_update_and_delete_take_effect_on_the_running_poller(lam, sqs, tmp_path):
    name, batch_file = recording_function(lam, tmp_path)
    url, arn = new_queue(sqs)
    mapping_id = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)["UUID"]
    send(sqs, url, ["first"])
    wait_until(lambda: bodies(batch_file) == ["first"], timeout=30)
    lam.update_event_source_mapping(UUID=mapping_id, Enabled=False)
    wait_until(lambda: lam.get_event_source_mapping(UUID=mapping_id)["State"] == "Disabled", timeout=10)
    send(sqs, url, [f"held{i}" for i in range(30)])
    time.sleep(1)
    assert bodies(batch_file) == ["first"] and depth(sqs, url) == (30, 0), "nothing delivered while disabled"
    lam.update_event_source_mapping(UUID=mapping_id, Enabled=True, BatchSize=3)
    wait_until(lambda: len(bodies(batch_file)) == 31, timeout=30)
    assert all(len(batch["bodies"]) <= 3 for batch in batches(batch_file))
    lam.delete_event_source_mapping(UUID=mapping_id)
    wait_until(lambda: not lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"], timeout=10)
    send(sqs, url, ["after delete"])
    time.sleep(1)
    assert depth(sqs, url) == (1, 0) and len(bodies(batch_file)) == 31


def test_a_sigkill_mid_batch_loses_nothing_and_mappings_resume_after_restart(binary, tmp_path_factory, tmp_path):
    with served(binary, tmp_path_factory, "spool-esm-crash") as process:
        lam, sqs = make_client(process.endpoint, "lambda"), make_client(process.endpoint)
        # Each batch takes a second, so the kill lands while messages are leased and the function is running.
        name, batch_file = recording_function(lam, tmp_path, sleep=1, timeout=2)
        url, arn = new_queue(sqs, VisibilityTimeout=2)
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=2)
        send(sqs, url, [f"k{i}" for i in range(8)])
        wait_until(lambda: depth(sqs, url)[1] > 0, timeout=30)
        process.stop(signal.SIGKILL)
        delivered_before = set(bodies(batch_file))
        process.start()
        lam, sqs = make_client(process.endpoint, "lambda"), make_client(process.endpoint)
        [mapping] = lam.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]
        assert mapping["State"] == "Enabled"
        # Leased messages come back when their lease ends; the restarted poller delivers every message.
        wait_until(lambda: set(bodies(batch_file)) == {f"k{i}" for i in range(8)}, timeout=60)
        wait_until(lambda: depth(sqs, url) == (0, 0), timeout=30)
        assert delivered_before <= set(bodies(batch_file))


def test_sigterm_lets_a_running_batch_finish_and_settle(binary, tmp_path_factory, tmp_path):
    with served(binary, tmp_path_factory, "spool-esm-term") as process:
        lam, sqs = make_client(process.endpoint, "lambda"), make_client(process.endpoint)
        name, batch_file = recording_function(lam, tmp_path, sleep=1, timeout=30)
        url, arn = new_queue(sqs, VisibilityTimeout=60)
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)
        send(sqs, url, ["graceful"])
        wait_until(lambda: depth(sqs, url) == (0, 1), timeout=30)
        assert process.stop() == 0
        assert bodies(batch_file) == ["graceful"], "the batch ran to its end before the server stopped"
        process.start()
        sqs = make_client(process.endpoint)
        assert depth(sqs, url) == (0, 0), "and it was deleted: nothing waits for a second delivery"
