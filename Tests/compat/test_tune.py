"""`spool tune`, AWS Lambda Power Tuning's method (README of alexcasalboni/aws-lambda-power-tuning: for each memory
size, invoke N times after a warm-up, average the billed duration, cost it at Lambda's per-GB-second and per-request
prices, pick by strategy): the table and chart it prints, the size it picks, the function left as it was unless
--apply, the result on the admin API (the dashboard's chart), and its refusals."""
import json
import subprocess
import urllib.error
import urllib.request

import pytest

from conftest import make_client
from functions import create_python

# Lambda's prices for x86_64 (us-east-1): per GB-second and per request.
GB_SECOND = 0.0000166667
REQUEST = 0.0000002

SPIN = """import hashlib
def handler(event, context):
    data = b"spool"
    for _ in range(event.get("rounds", 2000)):
        data = hashlib.sha256(data).digest()
    return data.hex()
"""


def spool(binary, server, *arguments, check=True):
    result = subprocess.run([str(binary), *arguments, "--endpoint", server.endpoint], capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture()
def lam(server):
    return make_client(server.endpoint, "lambda")


def test_tune_prints_the_table_and_chart_and_leaves_the_function_as_it_was(binary, server, lam):
    name = create_python(lam, SPIN, MemorySize=256)
    out = spool(binary, server, "tune", name, "--payload", '{"rounds": 3000}', "--memory", "128,512,1769",
                "--invocations", "3", "--strategy", "cost").stdout
    assert f"Tuned {name} (x86_64, 3 invocations per size, strategy cost)" in out
    header = next(line for line in out.splitlines() if line.startswith("MEMORY MB"))
    assert header.split() == ["MEMORY", "MB", "AVG", "DURATION", "MS", "AVG", "BILLED", "MS", "AVG", "COST", "USD", "OK"]
    assert "duration # (longest" in out and " MB |#" in out and "|=" in out
    assert "Best for cost:" in out and "keeps its 256 MB" in out
    assert lam.get_function_configuration(FunctionName=name)["MemorySize"] == 256

    # The admin API keeps the result, as the dashboard shows it; every figure follows from the measured durations.
    with urllib.request.urlopen(f"{server.endpoint}/spool/v1/functions/{name}/tune") as response:
        result = json.loads(response.read())
    assert [p["memoryMB"] for p in result["points"]] == [128, 512, 1769]
    for point in result["points"]:
        assert point["invocations"] == 3 and point["errors"] == 0
        assert point["averageBilledDurationMs"] >= point["averageDurationMs"] > 0
        expected = point["averageBilledDurationMs"] / 1000 * point["memoryMB"] / 1024 * GB_SECOND + REQUEST
        assert point["averageCost"] == pytest.approx(expected, rel=1e-9)
    cheapest = min(result["points"], key=lambda p: (p["averageCost"], p["averageDurationMs"]))
    assert result["bestMemoryMB"] == cheapest["memoryMB"] and f"Best for cost: {cheapest['memoryMB']} MB" in out
    assert result["applied"] is False and result["originalMemoryMB"] == 256


def test_tune_with_apply_sets_the_best_size(binary, server, lam):
    name = create_python(lam, SPIN)
    out = spool(binary, server, "tune", name, "--memory", "256,1024", "--invocations", "2", "--strategy", "speed", "--apply", "--json").stdout
    result = json.loads(out)
    fastest = min(result["points"], key=lambda p: (p["averageDurationMs"], p["averageCost"]))
    assert result["bestMemoryMB"] == fastest["memoryMB"] and result["applied"] is True
    assert lam.get_function_configuration(FunctionName=name)["MemorySize"] == fastest["memoryMB"]


def test_balanced_weighs_normalized_cost_and_duration(binary, server, lam):
    name = create_python(lam, SPIN)
    result = json.loads(spool(binary, server, "tune", name, "--memory", "128,1024,3008", "--invocations", "2", "--json").stdout)
    assert result["strategy"] == "balanced"
    top_cost = max(p["averageCost"] for p in result["points"])
    top_duration = max(p["averageDurationMs"] for p in result["points"])
    score = {p["memoryMB"]: 0.5 * p["averageCost"] / top_cost + 0.5 * p["averageDurationMs"] / top_duration for p in result["points"]}
    assert result["bestMemoryMB"] == min(score, key=score.get)


def test_tune_refuses_bad_requests(binary, server, lam):
    name = create_python(lam, SPIN)
    for arguments, message in [
        (["--memory", "64"], "outside 128"),
        (["--invocations", "0"], "from 1 to 1000"),
        (["--payload", "{not json"], "not valid JSON"),
        (["--strategy", "cheapest"], "--strategy must be cost, speed or balanced"),
    ]:
        failed = spool(binary, server, "tune", name, *arguments, check=False)
        assert failed.returncode != 0 and message in failed.stderr, failed.stderr
    missing = spool(binary, server, "tune", "no-such-function", check=False)
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr
    with pytest.raises(urllib.error.HTTPError) as untuned:
        urllib.request.urlopen(f"{server.endpoint}/spool/v1/functions/{name}/tune")
    assert untuned.value.code == 404
