"""`spool bench` runs every scenario and reports it. A short run: it asserts that the command works, never a speed."""
import json
import subprocess

import pytest

SCENARIOS = ["http-baseline", "async-ingest", "async-e2e", "sqs", "queue-mapping", "stream-mapping", "backlog", "process-executor", "idle"]


@pytest.fixture(scope="module")
def report(binary):
    result = subprocess.run(
        [str(binary), "bench", "--json", "--duration", "1", "--records", "2000", "--connections", "8", "--payload-bytes", "256",
         "--idle-seconds", "2"],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout)


def test_every_scenario_reports_rows_without_errors(report):
    assert [s["scenario"] for s in report["scenarios"]] == SCENARIOS
    assert report["machine"] and report["version"]
    for scenario in report["scenarios"]:
        assert scenario["rows"], scenario["scenario"]
        for row in scenario["rows"]:
            assert row["errors"] == 0, (scenario["scenario"], row)
            assert row["count"] > 0, (scenario["scenario"], row)
            assert row["seconds"] > 0, (scenario["scenario"], row)
            if row.get("server"):
                assert row["server"]["peakRSSMiB"] > 1 and row["server"]["durability"] in ("full", "normal")


def test_async_ingest_runs_both_durability_settings(report):
    ingest = next(s for s in report["scenarios"] if s["scenario"] == "async-ingest")
    assert {row["server"]["durability"] for row in ingest["rows"]} == {"full", "normal"}
    assert any("1 connection" in row["label"] for row in ingest["rows"])


def test_latency_and_drain_figures_are_present(report):
    by_name = {s["scenario"]: s for s in report["scenarios"]}
    e2e = by_name["async-e2e"]["rows"]
    assert all(row["latencyOf"] == "ingest-to-start" and row["latency"]["samples"] > 0 for row in e2e)
    # Every pre-filled message and record was drained, as the table says.
    assert [row["count"] for row in by_name["queue-mapping"]["rows"]] == [2000, 2000, 2000]
    stream = by_name["stream-mapping"]["rows"]
    assert stream[0]["count"] == 2000 and stream[1]["count"] == 2000 and "iterator age max ms" in stream[0]["extra"]
    backlog = by_name["backlog"]["rows"]
    assert [row["label"] for row in backlog] == ["200 waiting", "2000 waiting"]
    warm = [row for row in by_name["process-executor"]["rows"] if row["label"].endswith("warm")]
    # Python, the curl bootstrap and Node.js (the host's node).
    assert len(warm) == 3 and all("added p50 ms" in row["extra"] for row in warm)
    assert any(row["label"].startswith("nodejs") for row in warm)


def test_bad_options_are_refused(binary):
    result = subprocess.run([str(binary), "bench", "--scenario", "nope"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "nope" in result.stderr
    result = subprocess.run([str(binary), "bench", "--batch-size", "0"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "--batch-size" in result.stderr


def test_idle_reports_cpu_and_memory_growth(report):
    idle = next(s for s in report["scenarios"] if s["scenario"] == "idle")
    extra = idle["rows"][0]["extra"]
    # Idle mappings cost nothing; a generous bound, since this short run shares the machine with the suite.
    assert extra["CPU % of one core"] < 20, extra
    assert any(key.startswith("RSS growth MiB") for key in extra), extra
