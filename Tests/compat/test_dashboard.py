"""The web dashboard at /ui in a real headless Chromium: every page against a server with data in it, the
mapping switch and the dead-letter replay buttons doing what they say, signing with credentials, screenshots."""
import json
import os
import time
import urllib.request
from pathlib import Path

import pytest

from browser import Browser
from asyncfixtures import wait_until
from conftest import SpoolProcess, make_client
from functions import create_python

HANDLER = """
def handler(event, context):
    print("handling", event)
    if isinstance(event, dict) and event.get("fail"):
        raise ValueError("asked to fail")
    return {"ok": True}
"""


def admin(server, path, method="GET"):
    request = urllib.request.Request(server.endpoint + path, method=method)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())



@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """SPOOL_SCREENSHOT_DIR keeps them (docs/images is where the operations guide's come from)."""
    return Path(os.environ.get("SPOOL_SCREENSHOT_DIR") or tmp_path_factory.mktemp("screenshots"))


@pytest.fixture(scope="module")
def browser():
    opened = Browser()
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def populated(binary, tmp_path_factory):
    """A server with a function, a queue and a stream mapped to it, invocations of every kind, and a dead letter."""
    process = SpoolProcess(binary, tmp_path_factory.mktemp("dashboard") / "data")
    process.start()
    lam, sqs, kinesis = make_client(process.endpoint, "lambda"), make_client(process.endpoint), make_client(process.endpoint, "kinesis")
    create_python(lam, HANDLER, name="orders")
    lam.put_function_event_invoke_config(FunctionName="orders", MaximumRetryAttempts=0)
    for n in range(3):
        lam.invoke(FunctionName="orders", Payload=json.dumps({"order": n}).encode())
    lam.invoke(FunctionName="orders", Payload=b'{"fail": true, "sync": 1}')
    lam.invoke(FunctionName="orders", InvocationType="Event", Payload=b'{"fail": true, "order": "bad-1"}')
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    queue_mapping = lam.create_event_source_mapping(FunctionName="orders", EventSourceArn="arn:aws:sqs:us-east-1:000000000000:jobs",
                                                    BatchSize=5)["UUID"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"job {n}"} for n in range(7)])
    sqs.create_queue(QueueName="parked")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="parked")["QueueUrl"], MessageBody="waiting")
    kinesis.create_stream(StreamName="clicks", ShardCount=2)
    kinesis.put_records(StreamName="clicks", Records=[{"Data": f"click {n}".encode(), "PartitionKey": f"k{n}"} for n in range(10)])
    stream_mapping = lam.create_event_source_mapping(FunctionName="orders", EventSourceArn="arn:aws:kinesis:us-east-1:000000000000:stream/clicks",
                                                     StartingPosition="TRIM_HORIZON", BatchSize=4)["UUID"]
    wait_until(lambda: admin(process, "/spool/v1/dead-letters?function=orders")["deadLetters"])
    wait_until(lambda: admin(process, "/spool/v1/queues/jobs")["depth"]["visible"] == 0 and
               admin(process, "/spool/v1/queues/jobs")["depth"]["inFlight"] == 0)
    wait_until(lambda: all(shard["recordsBehind"] == 0 for shard in admin(process, f"/spool/v1/mappings/{stream_mapping}")["shards"]) and
               admin(process, f"/spool/v1/mappings/{stream_mapping}")["shards"])
    yield {"server": process, "queue_mapping": queue_mapping, "stream_mapping": stream_mapping}
    process.stop()


def test_overview_shows_every_resource_and_the_charts(populated, browser, screenshots):
    server = populated["server"]
    browser.goto(server.endpoint + "/ui", "document.querySelector('#cards') && document.querySelector('#functions')")
    text = browser.text("#page")
    for expected in ("orders", "jobs", "parked", "clicks", "dead letters not replayed", "invocations, last hour"):
        assert expected in text, expected
    assert browser.evaluate("document.querySelectorAll('#chart-throughput rect').length") >= 1
    assert browser.evaluate("document.querySelectorAll('#chart-errors polyline').length") == 1
    assert browser.evaluate("document.querySelectorAll('#mappings tbody tr').length") == 2
    parked = browser.evaluate("[...document.querySelectorAll('#queues tbody tr')].find(r => r.innerText.includes('parked')).innerText")
    assert "\t1\t" in parked  # one visible message
    # No external assets: everything the page loaded came from Spool itself.
    sources = browser.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert all(source.startswith(server.endpoint) for source in sources), sources
    browser.screenshot(screenshots / "dashboard-overview.png")


def test_function_page_lists_invocations_and_shows_their_logs(populated, browser, screenshots):
    server = populated["server"]
    browser.goto(server.endpoint + "/ui#/functions/orders", "document.querySelector('#config') && document.querySelector('#invocations')")
    text = browser.text("#page")
    assert "python3.11" in text and "app.handler" in text
    origins = browser.evaluate("[...document.querySelectorAll('#invocations tbody tr')].map(r => r.children[2].innerText)")
    assert {"sync", "async", "sqs", "kinesis"} <= set(origins)
    assert "handling" in browser.text("#logs") and "REPORT RequestId" in browser.text("#logs")
    failed = browser.evaluate("[...document.querySelectorAll('#invocations tbody tr')].find(r => r.innerText.includes('\"sync\"') || r.children[4].innerText === 'error').dataset.request")
    browser.click(f"#invocations tr[data-request='{failed}']")
    browser.wait_for(f"document.querySelector('#logs').innerText.includes('{failed}')")
    assert "asked to fail" in browser.text("#logs")
    browser.screenshot(screenshots / "dashboard-function.png")


def test_function_page_draws_the_last_tuning(binary, browser, tmp_path_factory):
    """`spool tune`'s result on the function's page: one bar per memory size, the cost line, the pick marked."""
    import subprocess
    process = SpoolProcess(binary, tmp_path_factory.mktemp("tuned") / "data")
    process.start()
    try:
        lam = make_client(process.endpoint, "lambda")
        create_python(lam, HANDLER, name="tuned")
        browser.goto(process.endpoint + "/ui#/functions/tuned", "document.querySelector('#config')")
        assert browser.evaluate("document.querySelector('#tuning')") is None, "no chart before a tuning"
        subprocess.run([str(binary), "tune", "tuned", "--memory", "128,512,1024", "--invocations", "2", "--endpoint", process.endpoint],
                       check=True, capture_output=True, timeout=120)
        best = admin(process, "/spool/v1/functions/tuned/tune")["bestMemoryMB"]
        browser.goto(process.endpoint + "/ui#/functions", "document.querySelector('#functions')")
        browser.goto(process.endpoint + "/ui#/functions/tuned", "document.querySelector('#tuning-chart')")
        assert browser.evaluate("document.querySelectorAll('#tuning-chart rect').length") == 3
        assert browser.evaluate("document.querySelectorAll('#tuning-chart polyline').length") == 1
        assert f"Best for balanced: {best} MB" in browser.text("#tuning")
        assert f"{best} ★" in browser.evaluate("document.querySelector('#tuning-chart').textContent")
    finally:
        process.stop()


def test_queue_and_stream_pages_show_depth_and_progress(populated, browser, screenshots):
    server = populated["server"]
    browser.goto(server.endpoint + "/ui#/queues/parked", "document.querySelector('#attributes')")
    text = browser.text("#page")
    assert "Queue parked" in text and "VisibilityTimeout" in text
    assert browser.evaluate("document.querySelector('#cards .card .n').innerText") == "1"
    browser.goto(server.endpoint + "/ui#/streams/clicks", "document.querySelector('#shards')")
    text = browser.text("#page")
    assert "Stream clicks" in text and "shardId-000000000000" in text and "shardId-000000000001" in text
    assert browser.evaluate("document.querySelector('#cards .card:nth-child(2) .n').innerText") == "10"
    browser.screenshot(screenshots / "dashboard-stream.png")


def test_mapping_page_disables_and_enables_the_mapping(populated, browser, screenshots):
    server, uuid = populated["server"], populated["queue_mapping"]
    browser.goto(server.endpoint + f"/ui#/mappings/{uuid}", "document.querySelector('#state')")
    assert "Enabled" in browser.text("#state") and "recent batches" in browser.text("#config")
    browser.click("#disable")
    browser.wait_for("['Disabling', 'Disabled'].includes(document.querySelector('#state').innerText)")
    assert admin(server, f"/spool/v1/mappings/{uuid}")["mapping"]["enabled"] is False
    wait_until(lambda: admin(server, f"/spool/v1/mappings/{uuid}")["mapping"]["state"] == "Disabled")
    # A message sent now stays in the queue while the mapping is off.
    sqs = make_client(server.endpoint)
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="jobs")["QueueUrl"], MessageBody="held")
    time.sleep(1.5)
    assert admin(server, "/spool/v1/queues/jobs")["depth"]["visible"] == 1
    browser.goto(server.endpoint + f"/ui#/mappings/{uuid}", "document.querySelector('#enable') && !document.querySelector('#enable').disabled")
    browser.screenshot(screenshots / "dashboard-mapping.png")
    browser.click("#enable")
    browser.wait_for("['Enabling', 'Enabled'].includes(document.querySelector('#state').innerText)")
    wait_until(lambda: admin(server, "/spool/v1/queues/jobs")["depth"]["visible"] == 0)


def test_dead_letters_page_inspects_and_replays(populated, browser, screenshots):
    server = populated["server"]
    letters = admin(server, "/spool/v1/dead-letters?function=orders")["deadLetters"]
    assert len(letters) == 1 and letters[0].get("replayedAt") is None
    browser.goto(server.endpoint + "/ui#/dead-letters?function=orders", "document.querySelector('#dead-letters')")
    assert browser.evaluate("document.querySelectorAll('#dead-letters tbody tr').length") == 1
    browser.click("#dead-letters tbody tr td:nth-child(3)")
    browser.wait_for("document.querySelector('#detail-payload')")
    assert "bad-1" in browser.text("#detail-payload")
    assert "asked to fail" in browser.text("#detail-error")
    browser.screenshot(screenshots / "dashboard-dead-letters.png")
    browser.click("#dead-letters .pick")
    browser.click("#replay")
    browser.wait_for("document.querySelector('#notice').innerText.includes('Replayed 1 of 1')")
    replayed = admin(server, f"/spool/v1/dead-letters/{letters[0]['id']}")
    assert replayed.get("replayedAt") is not None
    # The replay ran the event again: it failed again (as it must) and came back as a new dead letter of the first.
    again = wait_until(lambda: [d for d in admin(server, "/spool/v1/dead-letters?function=orders")["deadLetters"] if d.get("replayOf") == letters[0]["id"]])
    assert again[0]["requestId"] == replayed["replayRequestId"]
    # Purge the new one through the page.
    new_id = again[0]["id"]
    browser.goto(server.endpoint + "/ui#/dead-letters?function=orders&notReplayed=true",
                 f"document.querySelectorAll('#dead-letters tbody tr').length == 1 && document.querySelector('#dead-letters tbody tr').dataset.id == '{new_id}'")
    browser.click("#dead-letters .pick")
    browser.click("#purge")
    browser.wait_for("document.querySelector('#notice').innerText.includes('Purged 1')")
    assert [d["id"] for d in admin(server, "/spool/v1/dead-letters?function=orders")["deadLetters"]] == [letters[0]["id"]]


def test_with_credentials_the_page_asks_for_them_and_signs_every_call(binary, tmp_path, browser):
    process = SpoolProcess(binary, tmp_path / "data", extra_env={"SPOOL_AUTH_CREDENTIALS": "AKIADASHBOARD:dash-secret"})
    process.start()
    try:
        signed = make_client(process.endpoint, "lambda")
        signed._request_signer._credentials.access_key = "AKIADASHBOARD"
        signed._request_signer._credentials.secret_key = "dash-secret"
        create_python(signed, HANDLER, name="guarded")
        sqs = make_client(process.endpoint)
        sqs._request_signer._credentials.access_key = "AKIADASHBOARD"
        sqs._request_signer._credentials.secret_key = "dash-secret"
        sqs.create_queue(QueueName="guarded-jobs")
        uuid = signed.create_event_source_mapping(FunctionName="guarded", EventSourceArn="arn:aws:sqs:us-east-1:000000000000:guarded-jobs")["UUID"]
        browser.evaluate("sessionStorage.clear()")
        browser.goto(process.endpoint + "/ui", "document.querySelector('#login')")
        browser.fill("#login-key", "AKIADASHBOARD")
        browser.fill("#login-secret", "wrong-secret")
        browser.click("#login button")
        browser.wait_for("document.querySelector('#login') && document.body.innerText.includes('signature')")
        browser.fill("#login-key", "AKIADASHBOARD")
        browser.fill("#login-secret", "dash-secret")
        browser.click("#login button")
        browser.wait_for("document.querySelector('#functions') && document.querySelector('#functions').innerText.includes('guarded')")
        assert "signed as AKIADASHBOARD" in browser.text("header")
        # An action, signed with a body hash of its (empty) body, through the page.
        browser.goto(process.endpoint + f"/ui#/mappings/{uuid}", "document.querySelector('#disable')")
        browser.click("#disable")
        browser.wait_for("['Disabling', 'Disabled'].includes(document.querySelector('#state').innerText)")
        assert signed.get_event_source_mapping(UUID=uuid)["State"] in ("Disabling", "Disabled")
        # Unsigned, the same API is refused.
        with pytest.raises(urllib.error.HTTPError) as refused:
            admin(process, "/spool/v1/status")
        assert refused.value.code == 403
    finally:
        browser.evaluate("sessionStorage.clear()")
        process.stop()


def test_nodes_page_shows_the_one_node_and_the_mappings_it_runs(populated, browser):
    server = populated["server"]
    browser.goto(server.endpoint + "/ui#/nodes", "document.querySelector('#nodes')")
    text = browser.text("#page")
    assert "SQLite, this node alone" in text and "live" in text and "(this node)" in text
    assert populated["queue_mapping"] in text and populated["stream_mapping"] in text
