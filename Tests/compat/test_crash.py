"""Runs the crash harness (Tests/crash/crash_harness.py) with 20 SIGKILLs: nothing acknowledged may be lost."""
import json
import subprocess
import sys
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[2] / "Tests" / "crash" / "crash_harness.py"


def test_twenty_kills_lose_nothing(binary, tmp_path):
    run = subprocess.run([sys.executable, str(HARNESS), "--kills", "20", "--seed", "20261128", "--binary", str(binary), "--workdir", str(tmp_path)],
                         capture_output=True, text=True, timeout=900)
    print(run.stdout[-4000:], run.stderr[-4000:])
    check(run)


def check(run):
    """Twenty kills, every kind of request acknowledged, nothing lost, nothing deleted back, a clean stop."""
    report = json.loads(run.stdout[run.stdout.index("{"):run.stdout.rindex("}") + 1])
    assert report["kills"] == 20
    assert all(count > 0 for count in report["acknowledged"].values()), report["acknowledged"]
    assert report["acknowledged_deletes"] > 0
    assert report["lost"] == 0, report["lost_ids"]
    assert report["deleted_reappeared"] == 0, report["reappeared_ids"]
    assert report["integrity"] == "ok"
    assert report["stop_exit_code"] == 0
    assert run.returncode == 0


def test_twenty_kills_of_nodes_sharing_postgresql_lose_nothing(binary, tmp_path):
    """Three nodes on one PostgreSQL database, one killed at random each time under load."""
    import uuid
    from test_cluster import database_url, psql
    name = f"spool_crash_{uuid.uuid4().hex[:8]}"
    admin = database_url("postgres")
    psql(admin, f"CREATE DATABASE {name}")
    try:
        run = subprocess.run([sys.executable, str(HARNESS), "--kills", "20", "--seed", "20261207", "--nodes", "3",
                              "--database", database_url(name), "--binary", str(binary), "--workdir", str(tmp_path)],
                             capture_output=True, text=True, timeout=900)
    finally:
        psql(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print(run.stdout[-4000:], run.stderr[-4000:])
    check(run)
