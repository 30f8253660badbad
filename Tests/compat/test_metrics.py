"""GET /metrics: Prometheus text format, open like /health, with counters that follow what the server did."""
import re
import urllib.request

from asyncfixtures import wait_until
from conftest import SpoolProcess, make_client, served
from functions import create_python


def scrape(server) -> dict:
    with urllib.request.urlopen(server.endpoint + "/metrics", timeout=10) as answer:
        assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = answer.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def test_metrics_per_function_queue_stream_and_mapping(binary, tmp_path_factory):
    with served(binary, tmp_path_factory, "metrics") as server:
        sqs, kinesis, lam = make_client(server.endpoint), make_client(server.endpoint, "kinesis"), make_client(server.endpoint, "lambda")
        url = sqs.create_queue(QueueName="counted")["QueueUrl"]
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": "m", "DelaySeconds": 600 if n == 6 else 0} for n in range(7)])
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=300)["Messages"]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"])
        sqs.create_queue(QueueName="empty")
        sqs.receive_message(QueueUrl=sqs.get_queue_url(QueueName="empty")["QueueUrl"], WaitTimeSeconds=0)
        kinesis.create_stream(StreamName="counted", ShardCount=1)
        kinesis.put_records(StreamName="counted", Records=[{"Data": b"rr", "PartitionKey": "p"}] * 3)
        name = create_python(lam, "def handler(event, context):\n    if event.get('fail'): raise ValueError('no')\n    return event\n")
        lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"fail": true}')
        lam.invoke(FunctionName=name, Payload=b'{"fail": true}')
        mapping = lam.create_event_source_mapping(FunctionName=name, EventSourceArn="arn:aws:kinesis:us-east-1:000000000000:stream/counted",
                                                  StartingPosition="TRIM_HORIZON")["UUID"]
        f = f'function_name="{name}"'
        wait_until(lambda: scrape(server).get(f'spool_lambda_mapping_records_total{{{f},event_source_mapping="{mapping}",disposition="processed"}}') == 3)
        wait_until(lambda: scrape(server).get(f"spool_lambda_dead_letters{{{f}}}") == 1)
        values = scrape(server)
        q = 'queue_name="counted"'
        assert values[f"spool_sqs_number_of_messages_sent_total{{{q}}}"] == 7
        assert values[f"spool_sqs_number_of_messages_received_total{{{q}}}"] == 2
        assert values[f"spool_sqs_number_of_messages_deleted_total{{{q}}}"] == 1
        assert values['spool_sqs_number_of_empty_receives_total{queue_name="empty"}'] == 1
        assert values[f"spool_sqs_approximate_number_of_messages_visible{{{q}}}"] == 4
        assert values[f"spool_sqs_approximate_number_of_messages_not_visible{{{q}}}"] == 1
        assert values[f"spool_sqs_approximate_number_of_messages_delayed{{{q}}}"] == 1
        assert values[f"spool_sqs_approximate_age_of_oldest_message_seconds{{{q}}}"] >= 0
        assert values['spool_sqs_approximate_number_of_messages_visible{queue_name="empty"}'] == 0
        s = 'stream_name="counted"'
        assert values[f"spool_kinesis_incoming_records_total{{{s}}}"] == 3
        assert values[f"spool_kinesis_incoming_bytes_total{{{s}}}"] == 9
        assert values[f"spool_kinesis_stored_records{{{s}}}"] == 3
        assert values[f"spool_kinesis_oldest_record_age_seconds{{{s}}}"] >= 0
        assert values[f"spool_kinesis_open_shards{{{s}}}"] == 1
        assert values[f"spool_lambda_async_events_received_total{{{f}}}"] == 2
        assert values[f'spool_lambda_async_events_dropped_total{{{f},reason="RetriesExhausted"}}'] == 1
        assert values[f"spool_lambda_dead_letters_not_replayed{{{f}}}"] == 1
        assert values[f'spool_lambda_invocations_total{{{f},origin="async"}}'] == 2
        assert values[f'spool_lambda_invocations_total{{{f},origin="sync"}}'] == 1
        assert values[f'spool_lambda_invocations_total{{{f},origin="kinesis"}}'] == 1
        assert values[f"spool_lambda_errors_total{{{f}}}"] == 2
        assert values[f"spool_lambda_cold_starts_total{{{f}}}"] >= 1
        assert values[f"spool_lambda_duration_seconds_count{{{f}}}"] == 4
        assert values[f"spool_lambda_async_event_age_seconds_count{{{f}}}"] == 2
        assert values[f'spool_lambda_ingest_to_start_seconds_count{{{f},origin="async"}}'] == 2
        assert values[f'spool_lambda_ingest_to_start_seconds_count{{{f},origin="kinesis"}}'] == 1
        assert values[f'spool_lambda_mapping_batches_total{{{f},event_source_mapping="{mapping}",result="success"}}'] == 1
        assert values[f'spool_lambda_mapping_batch_size_sum{{{f},event_source_mapping="{mapping}"}}'] == 3
        assert f'spool_lambda_iterator_age_seconds{{{f},event_source_mapping="{mapping}"}}' in values
        assert values[f"spool_lambda_concurrent_executions{{{f}}}"] == 0
        assert values[f'spool_lambda_live_environments{{{f},state="idle"}}'] >= 1
        assert values[f"spool_lambda_async_events_queued{{{f}}}"] == 0
        assert values["spool_store_commits_total"] >= 4
        assert any(re.match(r'spool_store_commit_group_size_bucket\{le="', key) for key in values)
        # A deleted queue's gauges go with it.
        sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName="empty")["QueueUrl"])
        assert 'spool_sqs_approximate_number_of_messages_visible{queue_name="empty"}' not in scrape(server)


def test_metrics_stay_open_when_requests_must_be_signed(binary, tmp_path):
    process = SpoolProcess(binary, tmp_path / "data", extra_env={"SPOOL_AUTH_CREDENTIALS": "AKIAMETRICS:secret"})
    process.start()
    try:
        assert "spool_store_commits_total" in scrape(process)
    finally:
        process.stop()
