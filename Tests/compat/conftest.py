"""Starts a real `spool serve` on a free loopback port with a temporary data dir, as a user would."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]

# Functions run in a sandbox with a private /tmp: files a test shares with its functions (a recording file, a code
# folder) live under /var/tmp instead, where the functions see them as the test does.
if tempfile.gettempdir() == "/tmp" and os.path.isdir("/var/tmp"):
    _shared = Path("/var/tmp/spool-tests")
    _shared.mkdir(exist_ok=True)
    tempfile.tempdir = str(_shared)


def spool_binary() -> Path:
    explicit = os.environ.get("SPOOL_BIN")
    if explicit:
        return Path(explicit)
    bin_path = subprocess.run(
        ["swift", "build", "--show-bin-path"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    return Path(bin_path) / "spool"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SpoolProcess:
    """One running server; `restart()` stops it with SIGTERM and starts it again on the same data dir."""

    def __init__(self, binary: Path, data_dir: Path, extra_env=None, extra_args=None):
        self.binary = binary
        self.data_dir = data_dir
        self.port = free_port()
        self.extra_env = extra_env or {}
        self.extra_args = extra_args or []
        self.proc = None
        self.log_path = data_dir.parent / f"spool-{self.port}.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        env = dict(os.environ)
        env.update(self.extra_env)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(self.binary), "serve", "--port", str(self.port), "--data-dir", str(self.data_dir), *self.extra_args],
            stdout=self.log, stderr=subprocess.STDOUT, env=env,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"spool exited with {self.proc.returncode}: {self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(self.endpoint + "/health", timeout=1) as response:
                    if response.status == 200:
                        return json.loads(response.read())
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("spool did not become healthy")

    def stop(self, stop_signal=signal.SIGTERM) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(stop_signal)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.log.close()
        return code

    def restart(self):
        code = self.stop()
        self.start()
        return code


@contextmanager
def served(binary, tmp_path_factory, label, **env):
    """A server of its own on a fresh data dir, stopped when the test ends however it ends."""
    process = SpoolProcess(binary, tmp_path_factory.mktemp(label) / "data", extra_env=env)
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def binary() -> Path:
    return spool_binary()


@pytest.fixture(scope="session")
def server(binary, tmp_path_factory):
    process = SpoolProcess(binary, tmp_path_factory.mktemp("spool") / "data")
    process.start()
    yield process
    process.stop()


def make_client(endpoint: str, service: str = "sqs"):
    return boto3.client(
        service, endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, read_timeout=60),
    )


@pytest.fixture()
def sqs(server):
    return make_client(server.endpoint)


@pytest.fixture(params=["json", "query"])
def sqs_both_protocols(request, server):
    """An SQS client of each protocol in turn: the JSON protocol, and the query protocol (form-encoded, XML)."""
    from sqs_query import query_client
    return make_client(server.endpoint) if request.param == "json" else query_client(server.endpoint)


@pytest.fixture()
def queue_name():
    return f"q-{uuid.uuid4().hex[:12]}"
