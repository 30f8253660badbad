"""Stream event source mappings through boto3 against a real server, feeding real awslambdaric functions: the mapping
API for streams, LATEST and TRIM_HORIZON, per-key order under ParallelizationFactor, bisection isolating a poison
record, retry and age limits ending in the on-failure destination, partial batch failures resuming from the lowest
failed record, tumbling windows carrying state, LastProcessingResult, and a SIGKILL resuming from the checkpoint."""
import base64
import json
import signal
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from asyncfixtures import function_arn, queue_arn, wait_until
from conftest import make_client, served
from functions import create_python

# Appends one JSON line per batch: the records (key, sequence number, data) and the window members; fails when a
# record's data says "poison".
RECORDING_HANDLER = """import base64, json, os, time
def handler(event, context):
    if os.environ.get("SLEEP"):
        time.sleep(float(os.environ["SLEEP"]))
    records = [[r["kinesis"]["partitionKey"], r["kinesis"]["sequenceNumber"], base64.b64decode(r["kinesis"]["data"]).decode()]
               for r in event["Records"]]
    with open(os.environ["BATCH_FILE"], "a") as batches:
        batches.write(json.dumps({"start": time.time(), "records": records, "first": (event["Records"] or [None])[0],
                                  "window": {k: event.get(k) for k in ("window", "state", "shardId", "isFinalInvokeForWindow")}}) + "\\n")
    if os.environ.get("SLEEP_AFTER"):
        time.sleep(float(os.environ["SLEEP_AFTER"]))
    if any("poison" in data for _, _, data in records):
        raise ValueError("poison record")
    return {}
"""

# Reports the records whose data starts with "bad" as failed, the first time each is seen.
PARTIAL_HANDLER = """import base64, json, os
def handler(event, context):
    seen_path = os.environ["BATCH_FILE"] + ".seen"
    seen = set(open(seen_path).read().split()) if os.path.exists(seen_path) else set()
    failures, records = [], []
    for record in event["Records"]:
        data = base64.b64decode(record["kinesis"]["data"]).decode()
        records.append(["", record["kinesis"]["sequenceNumber"], data])
        if data.startswith("bad") and data not in seen:
            failures.append({"itemIdentifier": record["kinesis"]["sequenceNumber"]})
            seen.add(data)
    open(seen_path, "w").write(" ".join(seen))
    with open(os.environ["BATCH_FILE"], "a") as batches:
        batches.write(json.dumps({"records": records}) + "\\n")
    return {"batchItemFailures": failures}
"""

# Counts records per window in the state; writes the total when the window's final invocation comes.
WINDOW_HANDLER = """import json, os
def handler(event, context):
    state = event.get("state") or {}
    state["count"] = state.get("count", 0) + len(event["Records"])
    state["invocations"] = state.get("invocations", 0) + 1
    with open(os.environ["BATCH_FILE"], "a") as batches:
        batches.write(json.dumps({"records": [], "window": event["window"], "final": event["isFinalInvokeForWindow"],
                                  "early": event["isWindowTerminatedEarly"], "n": len(event["Records"]), "shardId": event["shardId"],
                                  "state": {k: v for k, v in state.items() if k != "pad"}}) + "\\n")
    if os.environ.get("BIG") and not event["isFinalInvokeForWindow"]:
        state["pad"] = "x" * 1100000
    return {"state": state}
"""


@pytest.fixture()
def lam(server):
    return make_client(server.endpoint, "lambda")


@pytest.fixture()
def kinesis(server):
    return make_client(server.endpoint, "kinesis")


def recording_function(lam, tmp_path, source=RECORDING_HANDLER, **variables) -> tuple[str, object]:
    batch_file = tmp_path / f"batches-{uuid.uuid4().hex[:8]}.jsonl"
    env = {"BATCH_FILE": str(batch_file), **{k: str(v) for k, v in variables.items()}}
    return create_python(lam, source, Environment={"Variables": env}, Timeout=30), batch_file


def batches(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def records(path) -> list[list]:
    return [record for batch in batches(path) for record in batch["records"]]


def data(path) -> list[str]:
    return [record[2] for record in records(path)]


def new_stream(kinesis, shards=1) -> tuple[str, str]:
    name = f"esm-{uuid.uuid4().hex[:10]}"
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    return name, f"arn:aws:kinesis:us-east-1:000000000000:stream/{name}"


def put(kinesis, stream, items, key=lambda i, d: "k"):
    """Puts data strings in order (one PutRecords call per 500) and returns their sequence numbers."""
    numbers = []
    for start in range(0, len(items), 500):
        chunk = items[start:start + 500]
        response = kinesis.put_records(StreamName=stream, Records=[
            {"Data": d.encode(), "PartitionKey": key(start + i, d)} for i, d in enumerate(chunk)])
        assert response["FailedRecordCount"] == 0
        numbers += [r["SequenceNumber"] for r in response["Records"]]
    return numbers


def enabled(lam, uuid_):
    wait_until(lambda: lam.get_event_source_mapping(UUID=uuid_)["State"] == "Enabled", timeout=10)


def error_of(failure):
    response = failure.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def failure_records(sqs, url, count, timeout=60) -> list[dict]:
    got = []

    def enough():
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            got.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(got) >= count
    wait_until(enough, timeout=timeout)
    return got


def test_the_mapping_api_for_streams(lam, kinesis, sqs, tmp_path):
    name, _ = recording_function(lam, tmp_path)
    stream, arn = new_stream(kinesis)
    with pytest.raises(ClientError) as failure:
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)
    assert error_of(failure)[:2] == ("InvalidParameterValueException", 400)
    created = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="LATEST")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert created["State"] == "Creating" and created["StateTransitionReason"] == "User action"
    assert created["BatchSize"] == 100 and created["MaximumBatchingWindowInSeconds"] == 0 and created["ParallelizationFactor"] == 1
    assert created["StartingPosition"] == "LATEST" and created["LastProcessingResult"] == "No records processed"
    assert created["MaximumRetryAttempts"] == -1 and created["MaximumRecordAgeInSeconds"] == -1
    assert created["BisectBatchOnFunctionError"] is False and created["TumblingWindowInSeconds"] == 0
    assert created["DestinationConfig"] == {"OnFailure": {}} and created["FunctionResponseTypes"] == []
    assert "ScalingConfig" not in created
    enabled(lam, created["UUID"])
    with pytest.raises(ClientError) as failure:
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="LATEST")
    assert error_of(failure) == ("ResourceConflictException", 409, (
        f'The event source arn (" {arn} ") and function (" {name} ") provided mapping already exists. '
        f"Please update or delete the existing mapping with UUID {created['UUID']}"))
    with pytest.raises(ClientError) as failure:
        lam.create_event_source_mapping(EventSourceArn=arn + "-missing", FunctionName=name, StartingPosition="LATEST")
    assert error_of(failure) == ("InvalidParameterValueException", 400, f"Stream not found: {arn}-missing")
    with pytest.raises(ClientError) as failure:
        lam.update_event_source_mapping(UUID=created["UUID"], ScalingConfig={"MaximumConcurrency": 5})
    assert error_of(failure)[2] == "Unsupported ScalingConfig parameter for given event source mapping type."
    with pytest.raises(ClientError) as failure:
        lam.update_event_source_mapping(UUID=created["UUID"], MaximumRecordAgeInSeconds=30)
    assert error_of(failure)[:2] == ("InvalidParameterValueException", 400)
    with pytest.raises(ClientError) as failure:
        lam.update_event_source_mapping(UUID=created["UUID"], DestinationConfig={"OnSuccess": {"Destination": queue_arn("q")}})
    assert error_of(failure)[:2] == ("InvalidParameterValueException", 400)
    dlq = f"dest-{uuid.uuid4().hex[:8]}"
    sqs.create_queue(QueueName=dlq)
    updated = lam.update_event_source_mapping(
        UUID=created["UUID"], BatchSize=500, ParallelizationFactor=3, BisectBatchOnFunctionError=True, MaximumRetryAttempts=2,
        MaximumRecordAgeInSeconds=3600, TumblingWindowInSeconds=60, FunctionResponseTypes=["ReportBatchItemFailures"],
        DestinationConfig={"OnFailure": {"Destination": queue_arn(dlq)}})
    assert updated["State"] == "Updating" and updated["BatchSize"] == 500 and updated["ParallelizationFactor"] == 3
    assert updated["DestinationConfig"] == {"OnFailure": {"Destination": queue_arn(dlq)}}
    got = lam.get_event_source_mapping(UUID=created["UUID"])
    assert (got["MaximumRetryAttempts"], got["MaximumRecordAgeInSeconds"], got["TumblingWindowInSeconds"]) == (2, 3600, 60)
    assert got["BisectBatchOnFunctionError"] is True and got["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # Stream members on a queue mapping are still refused.
    queue_url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    with pytest.raises(ClientError) as failure:
        lam.create_event_source_mapping(EventSourceArn=queue_arn(queue_url.rsplit("/", 1)[1]), FunctionName=name, StartingPosition="LATEST")
    assert error_of(failure)[2] == "Unsupported StartingPosition parameter for given event source mapping type."
    deleted = lam.delete_event_source_mapping(UUID=created["UUID"])
    assert deleted["State"] == "Deleting"


def test_latest_skips_what_was_there_and_trim_horizon_reads_it(lam, kinesis, tmp_path):
    stream, arn = new_stream(kinesis, shards=2)
    put(kinesis, stream, [f"old{i}" for i in range(5)], key=lambda i, d: d)
    latest, latest_file = recording_function(lam, tmp_path)
    horizon, horizon_file = recording_function(lam, tmp_path)
    enabled(lam, lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=latest, StartingPosition="LATEST")["UUID"])
    enabled(lam, lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=horizon, StartingPosition="TRIM_HORIZON")["UUID"])
    put(kinesis, stream, [f"new{i}" for i in range(5)], key=lambda i, d: d)
    wait_until(lambda: len(data(horizon_file)) == 10 and len(data(latest_file)) == 5, timeout=30)
    assert sorted(data(latest_file)) == [f"new{i}" for i in range(5)]
    assert sorted(data(horizon_file)) == sorted([f"old{i}" for i in range(5)] + [f"new{i}" for i in range(5)])
    first = batches(horizon_file)[0]["first"]
    assert first["eventSource"] == "aws:kinesis" and first["eventSourceARN"] == arn and first["eventName"] == "aws:kinesis:record"
    assert first["eventID"] == f"{first['eventID'].split(':')[0]}:{first['kinesis']['sequenceNumber']}"
    assert first["invokeIdentityArn"] == "arn:aws:iam::000000000000:role/spool-test" and first["awsRegion"] == "us-east-1"
    assert first["kinesis"]["kinesisSchemaVersion"] == "1.0" and isinstance(first["kinesis"]["approximateArrivalTimestamp"], float)
    time.sleep(0.5)
    assert len(data(latest_file)) == 5 and len(data(horizon_file)) == 10, "nothing is delivered twice"


def test_batches_hold_one_shard_in_order_and_respect_batch_size(lam, kinesis, tmp_path):
    stream, arn = new_stream(kinesis, shards=3)
    name, batch_file = recording_function(lam, tmp_path)
    numbers = put(kinesis, stream, [f"r{i}" for i in range(300)], key=lambda i, d: f"key{i % 11}")
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON", BatchSize=7)
    wait_until(lambda: len(records(batch_file)) >= 300, timeout=60)
    assert sorted(data(batch_file)) == sorted(f"r{i}" for i in range(300))
    for batch in batches(batch_file):
        assert 1 <= len(batch["records"]) <= 7
        shards = {batch["first"]["eventID"].split(":")[0]}
        assert len(shards) == 1
        sequence = [int(record[1]) for record in batch["records"]]
        assert sequence == sorted(sequence)
    assert len(set(numbers)) == 300


def test_parallelization_keeps_order_per_partition_key(lam, kinesis, tmp_path):
    stream, arn = new_stream(kinesis, shards=1)
    name, batch_file = recording_function(lam, tmp_path, SLEEP=0.2)
    keys = [f"key{i}" for i in range(12)]
    put(kinesis, stream, [f"{keys[i % 12]}:{i // 12}" for i in range(240)], key=lambda i, d: d.split(":")[0])
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON", BatchSize=10,
                                    ParallelizationFactor=4)
    wait_until(lambda: len(records(batch_file)) >= 240, timeout=90)
    per_key = {}
    for batch in sorted(batches(batch_file), key=lambda b: b["start"]):
        for key, _, value in batch["records"]:
            per_key.setdefault(key, []).append(int(value.split(":")[1]))
    assert per_key == {key: list(range(20)) for key in keys}, "each key's records arrive once, in order"
    # Several lanes of the one shard ran at the same time.
    starts = sorted(b["start"] for b in batches(batch_file))
    assert any(later - earlier < 0.1 for earlier, later in zip(starts, starts[1:]))


def test_bisection_isolates_one_poison_record(lam, kinesis, sqs, tmp_path):
    stream, arn = new_stream(kinesis)
    name, batch_file = recording_function(lam, tmp_path)
    destination = f"fail-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=destination)["QueueUrl"]
    items = [f"ok{i}" for i in range(16)]
    items[11] = "poison"
    numbers = put(kinesis, stream, items)
    mapping = lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON", BatchSize=16, BisectBatchOnFunctionError=True, MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": queue_arn(destination)}})
    [record] = failure_records(sqs, url, 1)
    info = record["KinesisBatchInfo"]
    assert info["batchSize"] == 1 and info["startSequenceNumber"] == numbers[11] == info["endSequenceNumber"]
    assert info["shardId"] == "shardId-000000000000" and info["streamArn"] == arn
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["functionArn"] == function_arn(name)
    assert record["responseContext"]["functionError"] == "Unhandled" and record["version"] == "1.0"
    wait_until(lambda: {d for d in data(batch_file) if d != "poison"} == set(items) - {"poison"}, timeout=30)
    sizes = [len(batch["records"]) for batch in batches(batch_file)]
    assert sizes[:4] == [16, 8, 8, 4], "the failing batch was split in halves"
    assert wait_until(lambda: lam.get_event_source_mapping(UUID=mapping["UUID"])["LastProcessingResult"] in ("OK", "PROBLEM: Function call failed"))


def test_retry_limit_gives_the_batch_to_the_on_failure_destination(lam, kinesis, sqs, tmp_path):
    stream, arn = new_stream(kinesis)
    name, batch_file = recording_function(lam, tmp_path)
    destination = f"fail-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=destination)["QueueUrl"]
    numbers = put(kinesis, stream, ["a", "poison", "c"])
    mapping = lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON", MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": queue_arn(destination)}})
    [record] = failure_records(sqs, url, 1)
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["KinesisBatchInfo"]["batchSize"] == 3
    assert (record["KinesisBatchInfo"]["startSequenceNumber"], record["KinesisBatchInfo"]["endSequenceNumber"]) == (numbers[0], numbers[2])
    assert len(batches(batch_file)) == 3, "the first attempt and two retries"
    assert lam.get_event_source_mapping(UUID=mapping["UUID"])["LastProcessingResult"] == "PROBLEM: Function call failed"
    # The shard moved on: a new record is processed and the result turns OK.
    put(kinesis, stream, ["after"])
    wait_until(lambda: "after" in data(batch_file), timeout=30)
    wait_until(lambda: lam.get_event_source_mapping(UUID=mapping["UUID"])["LastProcessingResult"] == "OK", timeout=10)
    assert data(batch_file).count("after") == 1


def test_an_on_failure_stream_receives_the_record(lam, kinesis, tmp_path):
    stream, arn = new_stream(kinesis)
    failures, failures_arn = new_stream(kinesis)
    name, _ = recording_function(lam, tmp_path)
    put(kinesis, stream, ["poison"])
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON", MaximumRetryAttempts=0,
                                    DestinationConfig={"OnFailure": {"Destination": failures_arn}})

    def failure():
        iterator = kinesis.get_shard_iterator(StreamName=failures, ShardId="shardId-000000000000",
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        return kinesis.get_records(ShardIterator=iterator)["Records"]
    [record] = wait_until(failure, timeout=30)
    assert json.loads(record["Data"])["KinesisBatchInfo"]["batchSize"] == 1


def test_the_age_limit_skips_records_a_failing_function_keeps_blocking(lam, kinesis, sqs, tmp_path):
    stream, arn = new_stream(kinesis)
    name, batch_file = recording_function(lam, tmp_path)
    destination = f"fail-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=destination)["QueueUrl"]
    put(kinesis, stream, ["poison", "blocked"])
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON",
                                    MaximumRecordAgeInSeconds=60, DestinationConfig={"OnFailure": {"Destination": queue_arn(destination)}})
    [record] = failure_records(sqs, url, 1, timeout=120)
    assert record["requestContext"]["condition"] == "RecordAgeExceeded" and "responseContext" not in record
    assert record["KinesisBatchInfo"]["batchSize"] == 2
    put(kinesis, stream, ["fresh"])
    wait_until(lambda: "fresh" in data(batch_file), timeout=30)


def test_partial_batch_failures_resume_from_the_lowest_failed_record(lam, kinesis, tmp_path):
    stream, arn = new_stream(kinesis)
    name, batch_file = recording_function(lam, tmp_path, source=PARTIAL_HANDLER)
    items = ["a", "b", "bad-c", "d", "bad-e", "f"]
    put(kinesis, stream, items)
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON",
                                    FunctionResponseTypes=["ReportBatchItemFailures"])
    wait_until(lambda: len(batches(batch_file)) >= 2, timeout=30)
    time.sleep(1.5)
    seen = [[record[2] for record in batch["records"]] for batch in batches(batch_file)]
    # bad-c and bad-e failed the first time: the checkpoint moved to just before the lowest of them, so a and b are
    # never handed over again, and the retry (which succeeds) starts at bad-c.
    assert seen == [items, ["bad-c", "d", "bad-e", "f"]]


def test_tumbling_windows_carry_state_to_a_final_invocation(lam, kinesis, tmp_path):
    stream, arn = new_stream(kinesis)
    name, batch_file = recording_function(lam, tmp_path, source=WINDOW_HANDLER)
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="LATEST", TumblingWindowInSeconds=2,
                                    BatchSize=3)
    time.sleep(0.5)
    for i in range(7):
        put(kinesis, stream, [f"w{i}"])
    wait_until(lambda: any(batch["final"] for batch in batches(batch_file)), timeout=30)
    time.sleep(2.5)
    windows = {}
    for batch in batches(batch_file):
        windows.setdefault(batch["window"]["start"], []).append(batch)
    total = 0
    for start, invocations in windows.items():
        finals = [b for b in invocations if b["final"]]
        assert len(finals) == 1 and finals[0] is invocations[-1], "one final invocation, the window's last"
        counts = [b["state"]["count"] for b in invocations]
        assert counts == sorted(counts), "state is carried from one invocation of the window to the next"
        assert [b["state"]["invocations"] for b in invocations] == list(range(1, len(invocations) + 1))
        assert all(b["n"] <= 3 for b in invocations) and invocations[0]["shardId"] == "shardId-000000000000"
        total += finals[0]["state"]["count"]
    assert total == 7


def test_a_sigkill_resumes_from_the_checkpoint_without_skipping_a_record(binary, tmp_path_factory, tmp_path):
    with served(binary, tmp_path_factory, "spool-stream-crash") as process:
        lam, kinesis = make_client(process.endpoint, "lambda"), make_client(process.endpoint, "kinesis")
        stream, arn = new_stream(kinesis, shards=2)
        name, batch_file = recording_function(lam, tmp_path, SLEEP_AFTER=0.3)
        items = [f"c{i}" for i in range(60)]
        put(kinesis, stream, items, key=lambda i, d: f"k{i % 5}")
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON", BatchSize=5)
        wait_until(lambda: len(batches(batch_file)) >= 3, timeout=30)
        process.stop(signal.SIGKILL)
        before = set(data(batch_file))
        assert before != set(items)
        process.start()
        wait_until(lambda: set(data(batch_file)) == set(items), timeout=60)
        # Resumed from the checkpoint: at most the batches in flight at the kill ran twice.
        assert len(data(batch_file)) - len(items) <= 2 * 5
        per_shard = {}
        for batch in batches(batch_file):
            per_shard.setdefault(batch["first"]["eventID"].split(":")[0], []).extend(int(r[1]) for r in batch["records"])
        for numbers in per_shard.values():
            assert sorted(set(numbers)) == sorted(set(numbers), key=int)


def test_disabling_keeps_the_position_and_enabling_resumes(lam, kinesis, tmp_path):
    stream, arn = new_stream(kinesis)
    name, batch_file = recording_function(lam, tmp_path)
    mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="LATEST")["UUID"]
    enabled(lam, mapping)
    put(kinesis, stream, ["one"])
    wait_until(lambda: data(batch_file) == ["one"], timeout=30)
    lam.update_event_source_mapping(UUID=mapping, Enabled=False)
    wait_until(lambda: lam.get_event_source_mapping(UUID=mapping)["State"] == "Disabled", timeout=10)
    put(kinesis, stream, ["two", "three"])
    time.sleep(0.5)
    assert data(batch_file) == ["one"]
    lam.update_event_source_mapping(UUID=mapping, Enabled=True)
    wait_until(lambda: data(batch_file) == ["one", "two", "three"], timeout=30)


def shard_progress(endpoint, mapping):
    import urllib.request
    with urllib.request.urlopen(f"{endpoint}/spool/v1/mappings/{mapping}/shards") as response:
        return json.loads(response.read())


def test_iterator_age_and_checkpoints_are_visible(server, lam, kinesis, tmp_path):
    stream, arn = new_stream(kinesis)
    name, batch_file = recording_function(lam, tmp_path)
    numbers = put(kinesis, stream, ["a", "b"])
    mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON")["UUID"]
    wait_until(lambda: data(batch_file) == ["a", "b"], timeout=30)
    wait_until(lambda: shard_progress(server.endpoint, mapping)["Shards"][0]["CheckpointSequenceNumber"] is not None, timeout=10)
    [shard] = shard_progress(server.endpoint, mapping)["Shards"]
    assert shard["ShardId"] == "shardId-000000000000" and shard["RecordsBehind"] == 0 and shard["IteratorAgeMilliseconds"] == 0
    assert shard["CheckpointSequenceNumber"] == numbers[1], "the checkpoint is the last record done"
    # A poison record with unlimited retries blocks the shard: the iterator age grows.
    put(kinesis, stream, ["poison", "c"])
    time.sleep(1.5)
    progress = shard_progress(server.endpoint, mapping)
    assert progress["LastProcessingResult"] == "PROBLEM: Function call failed"
    assert progress["Shards"][0]["RecordsBehind"] == 2 and progress["Shards"][0]["IteratorAgeMilliseconds"] >= 1000
    lam.update_event_source_mapping(UUID=mapping, Enabled=False)


def test_filters_hand_over_only_matching_records(lam, kinesis, tmp_path):
    stream, arn = new_stream(kinesis)
    name, batch_file = recording_function(lam, tmp_path)
    items = [json.dumps({"kind": "keep" if i % 3 == 0 else "drop", "i": i}) for i in range(12)] + ["not json"]
    put(kinesis, stream, items)
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON",
                                    FilterCriteria={"Filters": [{"Pattern": json.dumps({"data": {"kind": ["keep"]}})}]})
    wait_until(lambda: len(data(batch_file)) == 4, timeout=30)
    put(kinesis, stream, [json.dumps({"kind": "keep", "i": 99})])
    wait_until(lambda: len(data(batch_file)) == 5, timeout=30)
    assert [json.loads(d)["i"] for d in data(batch_file)] == [0, 3, 6, 9, 99], "only matches, each once, in order"


def test_at_timestamp_starts_at_the_first_record_after_the_time(lam, kinesis, tmp_path):
    stream, arn = new_stream(kinesis)
    put(kinesis, stream, ["before"])
    time.sleep(1.1)
    middle = time.time()
    time.sleep(1.0)
    put(kinesis, stream, ["after"])
    name, batch_file = recording_function(lam, tmp_path)
    created = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="AT_TIMESTAMP",
                                              StartingPositionTimestamp=middle)
    assert created["StartingPosition"] == "AT_TIMESTAMP" and abs(created["StartingPositionTimestamp"].timestamp() - int(middle)) < 1
    wait_until(lambda: data(batch_file) == ["after"], timeout=30)


def test_a_new_parallelization_factor_applies_to_the_running_mapping(lam, kinesis, tmp_path):
    stream, arn = new_stream(kinesis)
    name, batch_file = recording_function(lam, tmp_path, SLEEP=0.05)
    mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON", BatchSize=5)["UUID"]
    put(kinesis, stream, [f"k{i % 6}:{i // 6}" for i in range(60)], key=lambda i, d: d.split(":")[0])
    wait_until(lambda: len(data(batch_file)) >= 10, timeout=30)
    lam.update_event_source_mapping(UUID=mapping, ParallelizationFactor=3)
    put(kinesis, stream, [f"k{i % 6}:{10 + i // 6}" for i in range(60)], key=lambda i, d: d.split(":")[0])
    wait_until(lambda: {d for d in data(batch_file)} == {f"k{k}:{n}" for k in range(6) for n in range(20)}, timeout=60)
    per_key = {}
    for batch in sorted(batches(batch_file), key=lambda b: b["start"]):
        for key, _, value in batch["records"]:
            per_key.setdefault(key, []).append(int(value.split(":")[1]))
    for numbers in per_key.values():
        # Regrouping may hand a few records over again, never out of order after the first pass.
        first_seen = sorted(set(numbers), key=numbers.index)
        assert first_seen == list(range(20))


def test_a_state_over_one_megabyte_ends_the_window_early(lam, kinesis, tmp_path):
    stream, arn = new_stream(kinesis)
    name, batch_file = recording_function(lam, tmp_path, source=WINDOW_HANDLER, BIG=1)
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="LATEST", TumblingWindowInSeconds=300)
    time.sleep(0.5)
    put(kinesis, stream, ["one"])
    wait_until(lambda: len(batches(batch_file)) >= 2, timeout=30)
    first, second = batches(batch_file)[:2]
    assert (first["final"], first["early"], first["n"]) == (False, False, 1)
    assert (second["final"], second["early"], second["n"]) == (True, True, 0)
    assert second["state"]["count"] == 1 and second["window"] == first["window"], "the early end carries the window's state"


def test_reported_failures_count_as_retries_and_end_in_the_destination(lam, kinesis, sqs, tmp_path):
    always_fail = PARTIAL_HANDLER.replace('data not in seen', 'True')
    stream, arn = new_stream(kinesis)
    name, batch_file = recording_function(lam, tmp_path, source=always_fail)
    destination = f"fail-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=destination)["QueueUrl"]
    numbers = put(kinesis, stream, ["a", "bad-b", "c"])
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON", MaximumRetryAttempts=1,
                                    FunctionResponseTypes=["ReportBatchItemFailures"],
                                    DestinationConfig={"OnFailure": {"Destination": queue_arn(destination)}})
    [record] = failure_records(sqs, url, 1)
    info = record["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (numbers[1], numbers[2], 2)
    assert [[r[2] for r in batch["records"]] for batch in batches(batch_file)] == [["a", "bad-b", "c"], ["bad-b", "c"]]
    # The function answered each time (with batchItemFailures): not a function error, as AWS writes the record.
    assert record["responseContext"].get("functionError") is None
    # The records given up were in both invocations.
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"


def test_a_batching_window_gathers_records_put_one_by_one(lam, kinesis, tmp_path):
    stream, arn = new_stream(kinesis)
    name, batch_file = recording_function(lam, tmp_path)
    enabled(lam, lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="LATEST", BatchSize=100,
                                                 MaximumBatchingWindowInSeconds=2)["UUID"])
    for i in range(5):
        put(kinesis, stream, [f"w{i}"])
        time.sleep(0.1)
    wait_until(lambda: len(data(batch_file)) == 5, timeout=30)
    assert [len(batch["records"]) for batch in batches(batch_file)] == [5]


def test_sigterm_lets_a_running_stream_batch_finish_and_settle(binary, tmp_path_factory, tmp_path):
    with served(binary, tmp_path_factory, "spool-stream-term") as process:
        lam, kinesis = make_client(process.endpoint, "lambda"), make_client(process.endpoint, "kinesis")
        stream, arn = new_stream(kinesis)
        name, batch_file = recording_function(lam, tmp_path, SLEEP_AFTER=1)
        put(kinesis, stream, ["graceful"])
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON")
        wait_until(lambda: data(batch_file) == ["graceful"], timeout=30)
        assert process.stop() == 0
        process.start()
        put(make_client(process.endpoint, "kinesis"), stream, ["next"])
        wait_until(lambda: "next" in data(batch_file), timeout=30)
        assert data(batch_file) == ["graceful", "next"], "the batch settled before the server stopped: it is not handed over again"


def test_a_poison_batch_keeps_its_retry_count_across_a_restart(binary, tmp_path_factory, tmp_path):
    """The retries a failing batch used are stored with its checkpoint: after a restart it is not retried from zero."""
    with served(binary, tmp_path_factory, "spool-stream-retries") as process:
        lam, kinesis, sqs = (make_client(process.endpoint, "lambda"), make_client(process.endpoint, "kinesis"),
                             make_client(process.endpoint))
        stream, arn = new_stream(kinesis)
        name, batch_file = recording_function(lam, tmp_path)
        destination = f"fail-{uuid.uuid4().hex[:8]}"
        url = sqs.create_queue(QueueName=destination)["QueueUrl"]
        put(kinesis, stream, ["poison"])
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON", MaximumRetryAttempts=3,
                                        DestinationConfig={"OnFailure": {"Destination": queue_arn(destination)}})
        wait_until(lambda: len(batches(batch_file)) >= 2, timeout=30)  # the first attempt and a retry
        process.stop(signal.SIGKILL)
        before = len(batches(batch_file))
        assert before < 4
        process.start()
        sqs = make_client(process.endpoint)
        [record] = failure_records(sqs, url, 1)
        # Four attempts in all; the one the kill cut off, if it had not settled yet, runs again. From zero it would be
        # the `before` ones and four more.
        total = len(batches(batch_file))
        assert 4 <= total <= 5, f"{total} attempts, {before} before the restart"
        assert record["requestContext"]["approximateInvokeCount"] == 4


def test_one_stuck_shard_shows_in_the_iterator_age_while_the_others_are_idle(server, lam, kinesis, tmp_path):
    """The gauge is per shard (its oldest lane), and the mapping's is its oldest shard's: an idle shard reading nothing
    does not hide a stuck one."""
    import urllib.request
    stream, arn = new_stream(kinesis, shards=2)
    name, batch_file = recording_function(lam, tmp_path)
    mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON")["UUID"]
    shards = [s["ShardId"] for s in kinesis.list_shards(StreamName=stream)["Shards"]]
    # A poison record with unlimited retries on the first shard only (an explicit hash key picks the shard).
    kinesis.put_record(StreamName=stream, Data=b"poison", PartitionKey="p", ExplicitHashKey="0")

    def gauges():
        text = urllib.request.urlopen(server.endpoint + "/metrics", timeout=10).read().decode()
        found = {}
        for line in text.splitlines():
            if f'event_source_mapping="{mapping}"' not in line or line.startswith("#"):
                continue
            if line.startswith("spool_lambda_shard_iterator_age_seconds"):
                found[line.split('shard_id="')[1].split('"')[0]] = float(line.rsplit(" ", 1)[1])
            elif line.startswith("spool_lambda_iterator_age_seconds"):
                found["mapping"] = float(line.rsplit(" ", 1)[1])
        return found if len(found) == 3 and found[shards[0]] >= 2 else None

    found = wait_until(gauges, timeout=30, interval=0.2)
    assert found[shards[1]] == 0, "the idle shard is caught up"
    assert found["mapping"] == found[shards[0]], "the mapping shows its oldest shard"
    lam.update_event_source_mapping(UUID=mapping, Enabled=False)
