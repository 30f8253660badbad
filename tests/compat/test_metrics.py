"""GET /metrics: Prometheus text format, open like /health, with counters that follow what the server did."""
import re
import urllib.request

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


def test_metrics_follow_queue_stream_and_async_work(binary, tmp_path_factory):
    with served(binary, tmp_path_factory, "metrics") as server:
        sqs, kinesis, lam = make_client(server.endpoint), make_client(server.endpoint, "kinesis"), make_client(server.endpoint, "lambda")
        url = sqs.create_queue(QueueName="counted")["QueueUrl"]
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": "m"} for n in range(7)])
        kinesis.create_stream(StreamName="counted", ShardCount=1)
        kinesis.put_records(StreamName="counted", Records=[{"Data": b"r", "PartitionKey": "p"}] * 3)
        name = create_python(lam, "def handler(event, context):\n    return event\n")
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
        values = scrape(server)
        assert values["spool_sqs_messages_sent_total"] == 7
        assert values["spool_stream_records_put_total"] == 3
        assert values["spool_async_events_received_total"] == 1
        assert values["spool_store_commits_total"] >= 4
        assert any(re.match(r'spool_store_commit_group_size_bucket\{le="', key) for key in values)


def test_metrics_stay_open_when_requests_must_be_signed(binary, tmp_path):
    process = SpoolProcess(binary, tmp_path / "data", extra_env={"SPOOL_AUTH_CREDENTIALS": "AKIAMETRICS:secret"})
    process.start()
    try:
        assert "spool_store_commits_total" in scrape(process)
    finally:
        process.stop()
